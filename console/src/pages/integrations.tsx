// Integrations: the list (name, kind, state, last run, next sync) and Add
// an integration from a pasted or uploaded manifest.
import { useState } from "preact/hooks";
import { get, Page } from "../api";
import { go } from "../router";
import { can } from "../session";
import { Integration, Run } from "../types";
import { Badge, Empty, ErrorNote, Loading, When } from "../ui/bits";
import { useLoad } from "../ui/load";
import { Table } from "../ui/table";
import { AddIntegration } from "./integration-manifest";

/** connected / needs config / needs OAuth. */
export function stateOf(i: Integration): string {
  if (i.config.missing.length > 0) return "needs config";
  if (i.oauth.configured && !i.oauth.connected) return "needs OAuth";
  return "connected";
}

export function Integrations() {
  const list = useLoad(async () => {
    const [ints, runs] = await Promise.all([
      get<Page<Integration>>("/v1/integrations", { limit: 200 }),
      get<Page<Run>>("/v1/runs", { limit: 200 }),
    ]);
    // The newest run of each integration (runs come newest first).
    const last: Record<string, Run> = {};
    for (const r of runs.data) if (!last[r.integration_id]) last[r.integration_id] = r;
    return { ints: ints.data, last };
  }, []);
  const [adding, setAdding] = useState(false);
  const rows = list.data?.ints ?? [];
  return (
    <section>
      <div class="page-head">
        <h1>Integrations</h1>
        {can("integrations:write") && (
          <button type="button" class="primary" onClick={() => setAdding(true)}>
            Add an integration
          </button>
        )}
      </div>
      <p class="lede">Third-party APIs that hookrelay calls for people: accounts to create, access to check and revoke, people to import.</p>
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && rows.length === 0 && (
        <Empty title="No integrations yet.">
          {can("integrations:write") ? "Add one from its manifest (JSON)." : "Ask an admin to add one."}
        </Empty>
      )}
      {rows.length > 0 && (
        <Table<Integration>
          caption="Integrations"
          rows={rows}
          rowKey={(i) => i.id}
          onRowClick={(i) => go(`/integrations/${i.id}`)}
          columns={[
            { title: "Name", render: (i) => <a href={`#/integrations/${i.id}`}>{i.name}</a> },
            { title: "Kind", render: (i) => i.kind },
            { title: "State", render: (i) => <Badge value={stateOf(i)} /> },
            {
              title: "Last run",
              render: (i) => {
                const r = list.data!.last[i.id];
                return r ? (
                  <>
                    <When at={r.created_at} /> <Badge value={r.status} />
                  </>
                ) : (
                  <span class="muted">never</span>
                );
              },
            },
            { title: "Next sync", render: (i) => <When at={i.next_sync_at} empty="—" /> },
          ]}
        />
      )}
      {adding && <AddIntegration onClose={(id) => (id ? go(`/integrations/${id}`) : setAdding(false))} />}
    </section>
  );
}
