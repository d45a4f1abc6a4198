// Run for… a person: pick them, fill the manifest's `form` (choice options
// fetched live for that person), run and see the result.
import { useState } from "preact/hooks";
import { ApiError, get, Page, post, seg } from "../api";
import { can } from "../session";
import { FormItem, Integration, Run, User } from "../types";
import { Badge, ErrorNote, Loading } from "../ui/bits";
import { Field, fieldError, val } from "../ui/form";
import { asApiError, useLoad } from "../ui/load";

export const fullName = (u: User) => `${u.first_name} ${u.last_name}`.trim();

export function RunFor({ integration, onRan }: { integration: Integration; onRan: () => void }) {
  const people = useLoad(() => get<Page<User>>("/v1/users", { limit: 500, sort: "last_name" }), []);
  const [user, setUser] = useState("");
  const form = useLoad(
    () =>
      user
        ? get<{ items: FormItem[] }>(`/v1/integrations/${seg(integration.id)}/form`, { user_id: user })
        : Promise.resolve({ items: [] as FormItem[] }),
    [integration.id, user],
  );
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [last, setLast] = useState<Run | null>(null);
  const [busy, setBusy] = useState(false);
  if (!can("integrations:run")) return null;
  const items = (form.data?.items ?? []).filter((f) => f.type !== "generate");
  const run = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      setLast(await post<Run>(`/v1/integrations/${seg(integration.id)}/runs?wait=true`, { user_id: user, form: values }));
      onRan();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const list = people.data?.data ?? [];
  return (
    <div class="panel">
      <h2>Run for…</h2>
      <ErrorNote error={people.error} />
      {people.data && list.length === 0 && (
        <p class="muted">
          No people yet. <a href="#/people">Add a person</a> first.
        </p>
      )}
      {list.length > 0 && (
        <form onSubmit={run} noValidate>
          <Field label="Person" id="run-user" error={fieldError(error, "user_id")}>
            <select
              id="run-user"
              value={user}
              onChange={(e) => {
                setUser(val(e));
                setValues({});
              }}
            >
              <option value="">Choose a person…</option>
              {list.map((u) => (
                <option value={u.id}>
                  {fullName(u)} ({u.email})
                </option>
              ))}
            </select>
          </Field>
          {user && form.loading && <Loading />}
          <ErrorNote error={form.error} />
          {user &&
            items.map((f) => {
              const id = String(f.id);
              return (
                <Field label={text(f.name ?? f.id)} id={`form-${id}`} error={f.error ?? fieldError(error, `form.${id}`)}>
                  {f.type === "choice" ? (
                    <select id={`form-${id}`} value={String(values[id] ?? "")} onChange={(e) => setValues({ ...values, [id]: optionValue(f, val(e)) })}>
                      <option value="">Choose…</option>
                      {(f.options ?? []).map((o) => (
                        <option value={String(o.value)}>{text(o.name)}</option>
                      ))}
                    </select>
                  ) : f.type === "multiple_choice" ? (
                    <select
                      id={`form-${id}`}
                      multiple
                      onChange={(e) =>
                        setValues({ ...values, [id]: [...(e.target as HTMLSelectElement).selectedOptions].map((o) => optionValue(f, o.value)) })
                      }
                    >
                      {(f.options ?? []).map((o) => (
                        <option value={String(o.value)}>{text(o.name)}</option>
                      ))}
                    </select>
                  ) : (
                    <input id={`form-${id}`} value={String(values[id] ?? "")} onInput={(e) => setValues({ ...values, [id]: val(e) })} />
                  )}
                </Field>
              );
            })}
          {error && !error.field?.startsWith("form.") && error.field !== "user_id" && <ErrorNote error={error} />}
          <button type="submit" class="primary" disabled={!user || busy}>
            {busy ? "Running…" : "Run"}
          </button>
          {last && (
            <p class="notice" role="status">
              Run <code>{last.id}</code>: <Badge value={last.status} /> {last.error}
            </p>
          )}
        </form>
      )}
    </div>
  );
}

/** A manifest's id or name as text: the API passes them on as the manifest has them (null when missing). */
const text = (v: unknown) => (v === null || v === undefined ? "" : String(v));

/** The option's value as the API gave it (a number stays a number). */
function optionValue(f: FormItem, s: string): unknown {
  const o = (f.options ?? []).find((x) => String(x.value) === s);
  return o ? o.value : s;
}
