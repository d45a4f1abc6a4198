// One integration: its state, Connect (OAuth), the configuration form
// (write-only values), Run for… a person, and its runs.
import { useState } from "preact/hooks";
import { del, get, post, seg } from "../api";
import { go } from "../router";
import { can } from "../session";
import { Integration } from "../types";
import { Badge, ErrorNote, Loading, When } from "../ui/bits";
import { Confirm } from "../ui/dialog";
import { asApiError, useLoad } from "../ui/load";
import { Runs } from "../ui/runs";
import { ConfigPanel } from "./integration-config";
import { RunFor } from "./integration-run";
import { EditManifest } from "./integration-manifest";
import { stateOf } from "./integrations";

export function IntegrationDetail({ params }: { params: Record<string, string> }) {
  const it = useLoad(() => get<Integration>(`/v1/integrations/${seg(params.id)}`), [params.id]);
  const [runs, setRuns] = useState(0);
  const [open, setOpen] = useState<null | "manifest" | "delete">(null);
  const [error, setError] = useState<string | null>(null);
  if (it.loading && !it.data) return <Loading />;
  if (it.error || !it.data)
    return (
      <section>
        <h1>Integration</h1>
        <ErrorNote error={it.error} />
        <a href="#/integrations">Back to integrations</a>
      </section>
    );
  const i = it.data;
  const connect = async () => {
    setError(null);
    try {
      const { authorize_url } = await post<{ authorize_url: string }>(`/v1/integrations/${seg(i.id)}/oauth/start`);
      location.assign(authorize_url);
    } catch (e) {
      setError(asApiError(e).shown);
    }
  };
  return (
    <section>
      <p class="crumbs">
        <a href="#/integrations">Integrations</a> ›
      </p>
      <div class="page-head">
        <h1>{i.name}</h1>
        <div class="row-actions">
          {i.kind === "sync_users" && (
            <a class="button" href={`#/integrations/${i.id}/import`}>
              Import people
            </a>
          )}
          {can("integrations:write") && i.oauth.configured && (
            <button type="button" class={i.oauth.connected ? "" : "primary"} onClick={connect}>
              {i.oauth.connected ? "Reconnect" : "Connect"}
            </button>
          )}
          {can("integrations:write") && (
            <>
              <button type="button" onClick={() => setOpen("manifest")}>Edit manifest</button>
              <button type="button" class="danger-text" onClick={() => setOpen("delete")}>Delete</button>
            </>
          )}
        </div>
      </div>
      <p class="lede">
        <code>{i.id}</code> · {i.kind} · <Badge value={stateOf(i)} />
        {i.oauth.configured && <> · OAuth {i.oauth.connected ? <strong>Connected</strong> : "not connected"}</>}
        {i.next_sync_at && <> · next sync <When at={i.next_sync_at} /></>}
      </p>
      <ErrorNote error={error} />
      <div class="panels">
        <ConfigPanel integration={i} onSaved={it.reload} />
        {i.kind === "webhook" ? (
          <RunFor integration={i} onRan={() => setRuns((n) => n + 1)} />
        ) : (
          <div class="panel">
            <h2>Sync</h2>
            <p>
              This integration imports people. <a href={`#/integrations/${i.id}/import`}>Preview and import</a>.
            </p>
          </div>
        )}
      </div>
      <h2>Runs</h2>
      <Runs filter={{ integration_id: i.id }} reloadKey={runs} />
      {open === "manifest" && (
        <EditManifest
          integration={i}
          onClose={(changed) => {
            setOpen(null);
            if (changed) it.reload();
          }}
        />
      )}
      {open === "delete" && (
        <Confirm
          title={`Delete ${i.name}?`}
          action="Delete"
          error={error}
          onClose={() => setOpen(null)}
          onConfirm={async () => {
            try {
              await del(`/v1/integrations/${seg(i.id)}`);
              go("/integrations");
            } catch (e) {
              setError(asApiError(e).shown);
            }
          }}
        >
          <p>Its configuration, OAuth connection and runs are deleted with it.</p>
        </Confirm>
      )}
    </section>
  );
}
