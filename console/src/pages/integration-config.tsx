// The configuration form generated from `initial_data_form`: values are
// write-only, so the form shows which are set and never a value.
import { useState } from "preact/hooks";
import { ApiError, get, put, seg } from "../api";
import { can } from "../session";
import { ConfigItem, Integration } from "../types";
import { ErrorNote, Loading } from "../ui/bits";
import { Field, fieldError, val } from "../ui/form";
import { asApiError, useLoad } from "../ui/load";

export function ConfigPanel({ integration, onSaved }: { integration: Integration; onSaved: () => void }) {
  const cfg = useLoad(() => get<{ items: ConfigItem[] }>(`/v1/integrations/${seg(integration.id)}/config`), [integration.id, integration.updated_at]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const items = cfg.data?.items ?? [];
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const body: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if (v !== "") body[k] = v;
    try {
      await put(`/v1/integrations/${seg(integration.id)}/config`, { values: body });
      // Forget what was typed: the page never holds a value longer than needed.
      setValues({});
      setSaved(true);
      cfg.reload();
      onSaved();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <div class="panel">
      <h2>Configuration</h2>
      {cfg.loading && !cfg.data && <Loading />}
      <ErrorNote error={cfg.error} />
      {cfg.data && items.length === 0 && <p class="muted">This manifest asks for no configuration.</p>}
      {items.length > 0 && (
        <form onSubmit={save} noValidate>
          {items.map((it) => (
            <Field
              label={String(it.name || it.id)}
              id={`cfg-${it.id}`}
              error={fieldError(error, `values.${it.id}`) ?? fieldError(error, it.id)}
              hint={
                <>
                  {it.description && <>{it.description} · </>}
                  {it.generated ? "generated for each run" : it.set ? <strong class="set">set</strong> : <strong class="unset">not set</strong>}
                </>
              }
            >
              <input
                id={`cfg-${it.id}`}
                type="password"
                autoComplete="new-password"
                disabled={it.generated || !can("integrations:write")}
                placeholder={it.set ? "•••••• (set; type to replace)" : ""}
                value={values[it.id] ?? ""}
                onInput={(e) => setValues({ ...values, [it.id]: val(e) })}
              />
            </Field>
          ))}
          {error && !items.some((it) => fieldError(error, `values.${it.id}`) || fieldError(error, it.id)) && <ErrorNote error={error} />}
          {saved && <p class="notice" role="status">Saved. The values are stored sealed and are not shown again.</p>}
          {can("integrations:write") && (
            <button type="submit" class="primary" disabled={!Object.values(values).some((v) => v !== "")}>
              Save configuration
            </button>
          )}
        </form>
      )}
    </div>
  );
}
