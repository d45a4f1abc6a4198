// History: every attempt, sortable and searchable on the server, filtered
// by web hook, result class and time; a row opens the request and the
// response; Re-send one row or a selection; Recover failed since….
import { useState } from "preact/hooks";
import { get, Page, post, seg } from "../api";
import { go } from "../router";
import { can } from "../session";
import { HistoryEntry, Webhook } from "../types";
import { Empty, ErrorNote, Loading, Result, When } from "../ui/bits";
import { Dialog } from "../ui/dialog";
import { Field, fieldError, formError, val } from "../ui/form";
import { asApiError, useLoad } from "../ui/load";
import { Sort, Table } from "../ui/table";
import { HistoryDetail } from "./history-detail";
import { ApiError } from "../api";

/** `datetime-local` value → RFC 3339 (the browser's zone). */
const iso = (local: string) => (local ? new Date(local).toISOString() : "");

export function History({ query }: { query: URLSearchParams }) {
  const webhookId = query.get("webhook_id") ?? "";
  const [status, setStatus] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<Sort>({ key: "sent_at", order: "desc" });
  const [limit, setLimit] = useState(50);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<HistoryEntry | null>(null);
  const [recovering, setRecovering] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hooks = useLoad(() => (can("webhooks:read") ? get<Page<Webhook>>("/v1/webhooks", { limit: 500, sort: "name" }) : Promise.resolve(null)), []);
  const list = useLoad(
    () =>
      get<Page<HistoryEntry>>("/v1/history", {
        webhook_id: webhookId,
        status,
        since: iso(since),
        until: iso(until),
        q: search,
        sort: sort.key,
        order: sort.order,
        limit,
      }),
    [webhookId, status, since, until, search, sort.key, sort.order, limit],
  );
  const resend = can("history:resend");
  const resendSelected = async () => {
    setBusy(true);
    let ok = 0;
    const failures: string[] = [];
    for (const id of selected) {
      try {
        const r = await post<HistoryEntry>(`/v1/history/${seg(id)}/resend`);
        if (r.response.status !== null && r.response.status < 300) ok++;
        else failures.push(id);
      } catch (e) {
        failures.push(`${id}: ${asApiError(e).shown}`);
      }
    }
    setBusy(false);
    setSelected(new Set());
    setNote(`Re-sent ${selected.size}: ${ok} succeeded${failures.length ? `, ${failures.length} failed` : ""}.`);
    list.reload();
  };
  const hookName = (id: string) => hooks.data?.data.find((h) => h.id === id)?.name ?? id;
  return (
    <section>
      <div class="page-head">
        <h1>History</h1>
        <div class="head-actions">
          {resend && selected.size > 0 && (
            <button type="button" class="primary" disabled={busy} onClick={resendSelected}>
              Re-send {selected.size} selected
            </button>
          )}
          {webhookId && can("webhooks:write") && (
            <button type="button" onClick={() => setRecovering(true)}>
              Recover failed since…
            </button>
          )}
        </div>
      </div>
      <p class="lede">Every request sent to a web hook: automatic, re-sent, or a Check.</p>
      <form
        class="toolbar filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(q.trim());
        }}
      >
        <div class="filter">
          <label for="h-webhook">Web hook</label>
          <select id="h-webhook" value={webhookId} onChange={(e) => go(val(e) ? `/history?webhook_id=${encodeURIComponent(val(e))}` : "/history")}>
            <option value="">All web hooks</option>
            {hooks.data?.data.map((h) => <option value={h.id}>{h.name}</option>)}
            {webhookId && !hooks.data?.data.some((h) => h.id === webhookId) && <option value={webhookId}>{webhookId}</option>}
          </select>
        </div>
        <div class="filter">
          <label for="h-status">Result</label>
          <select id="h-status" value={status} onChange={(e) => setStatus(val(e))}>
            <option value="">Any result</option>
            <option value="2xx">2xx success</option>
            <option value="3xx">3xx redirect</option>
            <option value="4xx">4xx client error</option>
            <option value="5xx">5xx server error</option>
            <option value="error">No response</option>
          </select>
        </div>
        <div class="filter">
          <label for="h-since">From</label>
          <input id="h-since" type="datetime-local" value={since} onInput={(e) => setSince(val(e))} />
        </div>
        <div class="filter">
          <label for="h-until">To</label>
          <input id="h-until" type="datetime-local" value={until} onInput={(e) => setUntil(val(e))} />
        </div>
        <div class="filter grow">
          <label for="h-search">Search</label>
          <div class="inline">
            <input id="h-search" type="search" placeholder="URL, event type, error or event id" value={q} onInput={(e) => setQ(val(e))} />
            <button type="submit">Search</button>
          </div>
        </div>
      </form>
      {note && <p class="notice" role="status">{note}</p>}
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <Empty title="No requests match.">
          {search || status || since || until || webhookId
            ? "Change or clear the filters."
            : "Requests appear here once an event is published to a subscribed web hook, or after a Check."}
        </Empty>
      )}
      {list.data && list.data.data.length > 0 && (
        <>
          <Table<HistoryEntry>
            caption="History"
            rows={list.data.data}
            rowKey={(r) => r.id}
            sort={sort}
            onSort={setSort}
            onRowClick={setOpen}
            selected={resend ? selected : undefined}
            onSelect={setSelected}
            columns={[
              { title: "Sent at", sort: "sent_at", render: (r) => <When at={r.sent_at} /> },
              { title: "URL", sort: "url", className: "url", render: (r) => <code>{r.url}</code> },
              { title: "Result", sort: "status", render: (r) => <Result status={r.response.status} error={r.error} /> },
              { title: "Duration", sort: "duration", className: "num", render: (r) => `${r.duration_ms} ms` },
              { title: "Event type", render: (r) => <span title={hookName(r.webhook_id)}>{r.event_type}{r.trigger !== "auto" && <span class="muted"> ({r.trigger})</span>}</span> },
              {
                title: "Actions",
                className: "actions",
                render: (r) => (
                  <div class="row-actions">
                    <button type="button" onClick={() => setOpen(r)} aria-label={`Open ${r.id}`}>
                      Open
                    </button>
                    {resend && <ResendButton entry={r} onDone={(n) => { setNote(n); list.reload(); }} />}
                  </div>
                ),
              },
            ]}
          />
          {list.data.next_cursor && (
            <button type="button" class="more" onClick={() => setLimit(Math.min(500, limit + 50))}>
              Show more
            </button>
          )}
        </>
      )}
      {open && (
        <HistoryDetail
          entry={open}
          onClose={() => setOpen(null)}
          onResent={(e) => {
            setOpen(e);
            list.reload();
          }}
        />
      )}
      {recovering && <Recover webhookId={webhookId} name={hookName(webhookId)} onClose={() => setRecovering(false)} onDone={(n) => { setNote(n); list.reload(); }} />}
    </section>
  );
}

function ResendButton({ entry, onDone }: { entry: HistoryEntry; onDone: (note: string) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      disabled={busy}
      aria-label={`Re-send ${entry.id}`}
      onClick={async () => {
        setBusy(true);
        try {
          const r = await post<HistoryEntry>(`/v1/history/${seg(entry.id)}/resend`);
          onDone(`Re-sent: ${r.response.status ?? r.error}.`);
        } catch (e) {
          onDone(`Could not re-send: ${asApiError(e).shown}`);
        } finally {
          setBusy(false);
        }
      }}
    >
      Re-send
    </button>
  );
}

function Recover({ webhookId, name, onClose, onDone }: { webhookId: string; name: string; onClose: () => void; onDone: (n: string) => void }) {
  const dayAgo = new Date(Date.now() - 86400000);
  const local = new Date(dayAgo.getTime() - dayAgo.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const [since, setSince] = useState(local);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async () => {
    try {
      const r = await post<{ requeued: number }>(`/v1/webhooks/${seg(webhookId)}/recover`, { since: iso(since) });
      onDone(`${r.requeued} failed ${r.requeued === 1 ? "delivery" : "deliveries"} of ${name} queued again.`);
      onClose();
    } catch (e) {
      setError(asApiError(e));
    }
  };
  return (
    <Dialog
      title={`Recover failed deliveries of ${name}`}
      onClose={onClose}
      actions={
        <>
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="button" class="primary" onClick={run}>Recover</button>
        </>
      }
    >
      <p>Every failed or dead delivery of events published since this time is queued again and sent in the background.</p>
      <Field label="Failed since" id="recover-since" error={fieldError(error, "since")}>
        <input id="recover-since" type="datetime-local" value={since} onInput={(e) => setSince(val(e))} />
      </Field>
      {formError(error, ["since"]) && <p class="error" role="alert">{formError(error, ["since"])}</p>}
    </Dialog>
  );
}
