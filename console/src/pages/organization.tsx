// The organization's profile: its name (a change publishes
// `organization.updated` to its web hooks).
import { useState } from "preact/hooks";
import { ApiError, get, put } from "../api";
import { can } from "../session";
import { Organization } from "../types";
import { ErrorNote, Loading, When } from "../ui/bits";
import { Field, fieldError, val } from "../ui/form";
import { asApiError, useLoad } from "../ui/load";

export function OrganizationPage() {
  const org = useLoad(() => get<Organization>("/v1/organization"), []);
  // What the user typed; `null` shows the stored name. Seeding the field
  // from the loaded data in an effect would overwrite what someone typed
  // between the first paint and the effect.
  const [name, setName] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  if (org.loading && !org.data) return <Loading />;
  const shown = name ?? org.data?.name ?? "";
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await put("/v1/organization", { name: shown });
      setSaved(true);
      org.reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <section>
      <h1>Organization</h1>
      <p class="lede">Saving publishes <code>organization.updated</code> to this organization's web hooks.</p>
      <ErrorNote error={org.error} />
      {org.data && (
        <form onSubmit={save} noValidate class="narrow">
          <Field label="Name" id="org-name" error={fieldError(error, "name")}>
            <input id="org-name" required value={shown} disabled={!can("integrations:write")} onInput={(e) => setName(val(e))} />
          </Field>
          <p class="muted">
            <code>{org.data.id}</code> · updated <When at={org.data.updated_at} />
          </p>
          {error && !fieldError(error, "name") && <ErrorNote error={error} />}
          {saved && <p class="notice" role="status">Saved.</p>}
          {can("integrations:write") && (
            <button type="submit" class="primary" disabled={!shown.trim() || shown === org.data.name}>
              Save
            </button>
          )}
        </form>
      )}
    </section>
  );
}
