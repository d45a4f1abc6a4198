// One person: their fields, Edit, the access panel (each integration's
// `exists` answer, Revoke where the manifest has revoke items) and runs.
import { useState } from "preact/hooks";
import { del, get, Page, post, seg } from "../api";
import { go } from "../router";
import { can } from "../session";
import { Access, Integration, User } from "../types";
import { Badge, Empty, ErrorNote, Loading } from "../ui/bits";
import { Confirm } from "../ui/dialog";
import { asApiError, useLoad } from "../ui/load";
import { Runs } from "../ui/runs";
import { fullName } from "./integration-run";
import { PersonDialog } from "./person-dialog";

export function Person({ params }: { params: Record<string, string> }) {
  const u = useLoad(() => get<User>(`/v1/users/${seg(params.id)}`), [params.id]);
  const names = useLoad(async () => {
    const p = await get<Page<Integration>>("/v1/integrations", { limit: 500 });
    return Object.fromEntries(p.data.map((i) => [i.id, i.name]));
  }, []);
  const [open, setOpen] = useState<null | "edit" | "delete">(null);
  const [runs, setRuns] = useState(0);
  const [error, setError] = useState<string | null>(null);
  if (u.loading && !u.data) return <Loading />;
  if (!u.data)
    return (
      <section>
        <h1>Person</h1>
        <ErrorNote error={u.error} />
        <a href="#/people">Back to people</a>
      </section>
    );
  const p = u.data;
  const extra = Object.entries(p.extra_fields ?? {});
  return (
    <section>
      <p class="crumbs">
        <a href="#/people">People</a> ›
      </p>
      <div class="page-head">
        <h1>{fullName(p)}</h1>
        {can("integrations:write") && (
          <div class="row-actions">
            <button type="button" onClick={() => setOpen("edit")}>Edit</button>
            <button type="button" class="danger-text" onClick={() => setOpen("delete")}>Delete</button>
          </div>
        )}
      </div>
      <div class="panels">
        <div class="panel">
          <h2>Details</h2>
          <table class="kv">
            <caption class="sr-only">Details</caption>
            <tbody>
              <tr><th scope="row">Email</th><td>{p.email}</td></tr>
              <tr><th scope="row">Phone</th><td>{p.phone}</td></tr>
              <tr><th scope="row">Position</th><td>{p.position}</td></tr>
              <tr><th scope="row">Department</th><td>{p.department}</td></tr>
              <tr><th scope="row">Start date</th><td>{p.start_date ?? "—"}</td></tr>
              <tr><th scope="row">Manager</th><td>{p.manager_id ? <a href={`#/people/${p.manager_id}`}>{p.manager_id}</a> : "—"}</td></tr>
              <tr><th scope="row">Buddy</th><td>{p.buddy_id ? <a href={`#/people/${p.buddy_id}`}>{p.buddy_id}</a> : "—"}</td></tr>
              {extra.map(([k, v]) => (
                <tr><th scope="row">{k}</th><td><code>{JSON.stringify(v)}</code></td></tr>
              ))}
            </tbody>
          </table>
        </div>
        {can("integrations:run") && <AccessPanel user={p} onRevoked={() => setRuns((n) => n + 1)} />}
      </div>
      <h2>Runs</h2>
      <Runs filter={{ user_id: p.id }} reloadKey={runs} names={names.data ?? {}} />
      {open === "edit" && (
        <PersonDialog
          user={p}
          onClose={(id) => {
            setOpen(null);
            if (id) u.reload();
          }}
        />
      )}
      {open === "delete" && (
        <Confirm
          title={`Delete ${fullName(p)}?`}
          action="Delete"
          error={error}
          onClose={() => setOpen(null)}
          onConfirm={async () => {
            try {
              await del(`/v1/users/${seg(p.id)}`);
              go("/people");
            } catch (e) {
              setError(asApiError(e).shown);
            }
          }}
        >
          <p>Their runs are kept; integrations are not told.</p>
        </Confirm>
      )}
    </section>
  );
}

/** Access: asks every integration's `exists` (each a recorded run) on demand. */
function AccessPanel({ user, onRevoked }: { user: User; onRevoked: () => void }) {
  const [tick, setTick] = useState(0);
  const access = useLoad(() => get<{ data: Access[] }>(`/v1/users/${seg(user.id)}/access`), [user.id, tick]);
  const [revoking, setRevoking] = useState<Access | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const rows = access.data?.data ?? [];
  return (
    <div class="panel">
      <div class="panel-head">
        <h2>Access</h2>
        <button type="button" onClick={() => setTick((t) => t + 1)}>Check again</button>
      </div>
      {access.loading && <Loading />}
      <ErrorNote error={access.error} />
      {access.data && rows.length === 0 && <Empty title="No integration checks access.">An integration's manifest needs an exists item.</Empty>}
      {rows.length > 0 && !access.loading && (
        <table class="table">
          <caption class="sr-only">Access</caption>
          <thead>
            <tr>
              <th scope="col">Integration</th>
              <th scope="col">Access</th>
              <th scope="col" class="actions">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr>
                <td><a href={`#/integrations/${a.integration_id}`}>{a.name}</a></td>
                <td><Badge value={String(a.access).replace("_", " ")} /></td>
                <td class="actions">
                  {a.can_revoke && a.access === "has_access" && can("integrations:run") && (
                    <button type="button" class="danger-text" aria-label={`Revoke ${a.name}`} onClick={() => setRevoking(a)}>Revoke</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <Confirm
          title={`Revoke ${fullName(user)}'s access to ${revoking.name}?`}
          action="Revoke"
          busy={busy}
          error={error}
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            setBusy(true);
            setError(null);
            try {
              await post(`/v1/users/${seg(user.id)}/access/${seg(revoking.integration_id)}/revoke?wait=true`);
              setRevoking(null);
              setTick((t) => t + 1);
              onRevoked();
            } catch (e) {
              setError(asApiError(e).shown);
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>hookrelay runs the integration's revoke requests for this person now.</p>
        </Confirm>
      )}
    </div>
  );
}
