// Import people from a sync_users integration: Preview (a dry run that
// writes nothing) lists the candidates; pick rows and Import selected
// (`only`), or Import all. A scheduled sync shows its next run and last result.
import { useState } from "preact/hooks";
import { get, Page, post, seg } from "../api";
import { can } from "../session";
import { Candidate, Integration, Run, SyncResult } from "../types";
import { Badge, Empty, ErrorNote, Loading, When } from "../ui/bits";
import { asApiError, useLoad } from "../ui/load";
import { Table } from "../ui/table";

/** A sync run's result (see SyncResult). */
const synced = (r: Run | null) => r?.result as SyncResult | null | undefined;

const show = (v: unknown) => (v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));

export function Import({ params }: { params: Record<string, string> }) {
  const it = useLoad(() => get<Integration>(`/v1/integrations/${seg(params.id)}`), [params.id]);
  const [tick, setTick] = useState(0);
  const last = useLoad(
    () => get<Page<Run>>("/v1/runs", { integration_id: params.id, kind: "sync", limit: 20 }).then((p) => p.data.find((r) => !r.dry_run) ?? null),
    [params.id, tick],
  );
  const [preview, setPreview] = useState<Run | null>(null);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<Run | null>(null);
  if (it.loading && !it.data) return <Loading />;
  if (!it.data) return <ErrorNote error={it.error} />;
  const i = it.data;
  const call = async (what: string, body: unknown) => {
    setBusy(what);
    setError(null);
    try {
      return await post<Run>(`/v1/integrations/${seg(i.id)}/runs?wait=true`, body);
    } catch (e) {
      setError(asApiError(e).shown);
      return null;
    } finally {
      setBusy(null);
    }
  };
  const runPreview = async () => {
    setDone(null);
    const r = await call("preview", { dry_run: true });
    if (r) {
      setPreview(r);
      setPicked(new Set());
    }
  };
  const runImport = async (only: string[] | null) => {
    const r = await call("import", only ? { only } : {});
    if (r) {
      setDone(r);
      setPreview(null);
      setTick((t) => t + 1);
    }
  };
  const candidates: Candidate[] = synced(preview)?.candidates ?? [];
  const counts = synced(preview)?.counts;
  const writable = can("integrations:run");
  return (
    <section>
      <p class="crumbs">
        <a href="#/integrations">Integrations</a> › <a href={`#/integrations/${i.id}`}>{i.name}</a> ›
      </p>
      <div class="page-head">
        <h1>Import people from {i.name}</h1>
        {writable && i.kind === "sync_users" && (
          <div class="row-actions">
            <button type="button" onClick={runPreview} disabled={!!busy}>
              {busy === "preview" ? "Fetching…" : "Preview"}
            </button>
            <button type="button" onClick={() => runImport(null)} disabled={!!busy}>
              Import all
            </button>
          </div>
        )}
      </div>
      {i.kind !== "sync_users" ? (
        <p class="notice warn">This integration is not a sync_users integration: it imports nobody.</p>
      ) : (
        <p class="lede">
          Preview fetches every page as an import would and writes nothing. Pick the people to import (skipped rows cannot be picked), or import all.
        </p>
      )}
      <div class="notice">
        {i.next_sync_at ? (
          <>
            Scheduled: next sync <When at={i.next_sync_at} />.{" "}
          </>
        ) : (
          <>Not scheduled (no schedule trigger). </>
        )}
        {last.data ? (
          <>
            Last sync <When at={last.data.created_at} />: <Badge value={last.data.status} />{" "}
            {syncText(synced(last.data))}
            {last.data.error && <span class="muted"> {last.data.error}</span>}
          </>
        ) : (
          "No sync has run yet."
        )}
      </div>
      <ErrorNote error={error} />
      {done && (
        <p class="notice" role="status">
          Import <Badge value={done.status} /> {countsText(synced(done)?.counts)}
          {done.only && <> — only {done.only.length} picked</>}. See <a href="#/people">People</a>.
        </p>
      )}
      {busy === "preview" && <Loading />}
      {preview && (
        <>
          <h2>Candidates</h2>
          {counts && <p>{countsText(counts)}</p>}
          {candidates.length === 0 ? (
            <Empty title="The HR system answered no records." />
          ) : (
            <Table<Candidate>
              caption="Candidates"
              rows={candidates}
              rowKey={(c) => c.email}
              selected={picked}
              onSelect={(s) => setPicked(new Set([...s].filter((e) => candidates.some((c) => c.email === e && c.mark !== "skipped"))))}
              columns={[
                { title: "Email", render: (c) => c.email },
                { title: "Name", render: (c) => `${show(c.record.first_name ?? "")} ${show(c.record.last_name ?? "")}`.trim() },
                { title: "Mark", render: (c) => <Badge value={c.mark} /> },
                {
                  title: "Changes or reason",
                  render: (c) =>
                    c.mark === "skipped" ? (
                      <span class="muted">{c.reason}</span>
                    ) : c.changes ? (
                      <ul class="changes">
                        {Object.entries(c.changes).map(([k, v]) => (
                          <li>
                            <code>{k}</code>: {show(v.old)} → {show(v.new)}
                          </li>
                        ))}
                      </ul>
                    ) : (
                      ""
                    ),
                },
              ]}
            />
          )}
          {writable && (
            <div class="toolbar">
              <button type="button" class="primary" disabled={picked.size === 0 || !!busy} onClick={() => runImport([...picked])}>
                Import selected ({picked.size})
              </button>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function countsText(c: SyncResult["counts"]) {
  return c ? `${c.new} new, ${c.update} to update, ${c.skipped} skipped` : "";
}

/** A finished sync: its counts, or how many records it fetched. */
function syncText(r: SyncResult | null | undefined) {
  const records = r?.stored?.records;
  return r?.counts ? countsText(r.counts) : records !== undefined ? `${records} records` : "";
}
