// The manifest editor: paste or upload JSON; the API's validation problems
// are listed next to the editor at their path (`execute[1].polling.interval`),
// and the editor's line for that path is named, and a click selects it.
import { useState } from "preact/hooks";
import { ApiError, patch, post, seg } from "../api";
import { Integration } from "../types";
import { Dialog } from "../ui/dialog";
import { Field, fieldError, val } from "../ui/form";
import { asApiError } from "../ui/load";
import { lineOf, lineRange } from "../ui/json-lines";

type Problem = { path: string; message: string };

/** The text's problems: a JSON syntax error, or what the API answered. */
function problemsOf(err: ApiError | null, syntax: string | null): Problem[] {
  if (syntax) return [{ path: "(JSON)", message: syntax }];
  if (!err) return [];
  if (err.problems.length) return err.problems;
  return [];
}

export function ManifestEditor(p: { text: string; onText: (t: string) => void; problems: Problem[] }) {
  // Selects the line in the editor and scrolls it into view.
  const showLine = (line: number) => {
    const ta = document.getElementById("manifest") as HTMLTextAreaElement;
    const [a, b] = lineRange(p.text, line);
    ta.focus();
    ta.setSelectionRange(a, b);
    const h = parseFloat(getComputedStyle(ta).lineHeight) || 18;
    ta.scrollTop = Math.max(0, (line - 4) * h);
  };
  return (
    <div class="manifest-edit">
      <div class="field">
        <label for="manifest">Manifest (JSON)</label>
        <textarea
          id="manifest"
          rows={18}
          spellcheck={false}
          aria-invalid={p.problems.length > 0}
          aria-describedby={p.problems.length ? "manifest-problems" : undefined}
          value={p.text}
          onInput={(e) => p.onText(val(e))}
        />
        <label for="manifest-file" class="file-label">
          Or upload a file
        </label>
        <input
          id="manifest-file"
          type="file"
          accept=".json,application/json"
          onChange={async (e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) p.onText(await f.text());
          }}
        />
      </div>
      <div class="problems" id="manifest-problems" aria-live="polite">
        {p.problems.length > 0 && (
          <>
            <h3>Problems</h3>
            <ul>
              {p.problems.map((x) => {
                const line = lineOf(p.text, x.path);
                return (
                  <li class="problem" role="alert">
                    <code class="problem-path">{x.path}</code>
                    {line && (
                      <>
                        {" "}
                        <button type="button" class="link" onClick={() => showLine(line)}>
                          line {line}
                        </button>
                      </>
                    )}
                    : {x.message}
                  </li>
                );
              })}
            </ul>
          </>
        )}
      </div>
    </div>
  );
}

/** Parses the editor's text; the syntax error's message otherwise. */
function parse(text: string): [unknown, string | null] {
  try {
    return [JSON.parse(text), null];
  } catch (e) {
    return [null, `not valid JSON: ${(e as Error).message}`];
  }
}

export function AddIntegration({ onClose }: { onClose: (id: string | null) => void }) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState("webhook");
  const [text, setText] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [syntax, setSyntax] = useState<string | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const [manifest, bad] = parse(text);
    setSyntax(bad);
    if (bad) return;
    try {
      const i = await post<Integration>("/v1/integrations", { name, kind, manifest });
      onClose(i.id);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const problems = problemsOf(error, syntax);
  const other = error && !error.problems.length && !fieldError(error, "name") && !fieldError(error, "kind") ? error.shown : null;
  return (
    <Dialog title="Add an integration" onClose={() => onClose(null)} wide>
      <form onSubmit={save} noValidate>
        <div class="grid2">
          <Field label="Name" id="int-name" error={fieldError(error, "name")}>
            <input id="int-name" required autoFocus value={name} onInput={(e) => setName(val(e))} />
          </Field>
          <Field label="Kind" id="int-kind" error={fieldError(error, "kind")} hint="sync_users imports people; webhook acts for a person.">
            <select id="int-kind" value={kind} onChange={(e) => setKind(val(e))}>
              <option value="webhook">webhook</option>
              <option value="sync_users">sync_users</option>
            </select>
          </Field>
        </div>
        <ManifestEditor text={text} onText={setText} problems={problems} />
        {other && <p class="error" role="alert">{other}</p>}
        <div class="dialog-actions inline">
          <button type="button" onClick={() => onClose(null)}>Cancel</button>
          <button type="submit" class="primary" disabled={!name.trim() || !text.trim()}>Save</button>
        </div>
      </form>
    </Dialog>
  );
}

/** Changing an integration's manifest. */
export function EditManifest({ integration, onClose }: { integration: Integration; onClose: (changed: boolean) => void }) {
  const [text, setText] = useState(JSON.stringify(integration.manifest, null, 2));
  const [error, setError] = useState<ApiError | null>(null);
  const [syntax, setSyntax] = useState<string | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const [manifest, bad] = parse(text);
    setSyntax(bad);
    if (bad) return;
    try {
      await patch(`/v1/integrations/${seg(integration.id)}`, { manifest });
      onClose(true);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const problems = problemsOf(error, syntax);
  return (
    <Dialog title={`Manifest of ${integration.name}`} onClose={() => onClose(false)} wide>
      <form onSubmit={save} noValidate>
        <ManifestEditor text={text} onText={setText} problems={problems} />
        {error && !error.problems.length && <p class="error" role="alert">{error.shown}</p>}
        <div class="dialog-actions inline">
          <button type="button" onClick={() => onClose(false)}>Cancel</button>
          <button type="submit" class="primary">Save</button>
        </div>
      </form>
    </Dialog>
  );
}
