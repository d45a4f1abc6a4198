// Events: recent events with their deliveries' states (searched and sorted
// in the browser: the API filters by type and time only), and publishing
// a test event of any type from its example payload.
import { useState } from "preact/hooks";
import { ApiError, get, Page, post, seg } from "../api";
import { can } from "../session";
import { Delivery, Event, EventType } from "../types";
import { Badge, Empty, ErrorNote, Loading, When } from "../ui/bits";
import { Dialog } from "../ui/dialog";
import { Field, fieldError, formError, val } from "../ui/form";
import { asApiError, useLoad } from "../ui/load";
import { Sort, sortRows, Table } from "../ui/table";

interface Row extends Event {
  /** Its deliveries among the latest 500; null when it is older than those. */
  deliveries: Delivery[] | null;
}

export function Events() {
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<Sort>({ key: "created_at", order: "desc" });
  const [publishing, setPublishing] = useState(false);
  const [open, setOpen] = useState<Row | null>(null);
  const list = useLoad(async () => {
    // The latest events and the latest deliveries, joined here.
    const [ev, dl] = await Promise.all([
      get<Page<Event>>("/v1/events", { limit: 100 }),
      get<Page<Delivery>>("/v1/deliveries", { limit: 500 }),
    ]);
    // Deliveries are created with their event: an event older than the
    // oldest delivery loaded may have more that this page did not fetch.
    const oldest = dl.data[dl.data.length - 1]?.created_at ?? "";
    const complete = (e: Event) => !dl.next_cursor || e.created_at >= oldest;
    return ev.data.map((e) => ({ ...e, deliveries: complete(e) ? dl.data.filter((d) => d.event_id === e.id) : null }));
  }, []);
  const term = q.trim().toLowerCase();
  const rows = sortRows(
    (list.data ?? []).filter((r) => !term || r.type.toLowerCase().includes(term) || r.id.toLowerCase().includes(term)),
    sort,
    (r, k) => (k === "type" ? r.type : k === "deliveries" ? (r.deliveries?.length ?? -1) : r.created_at),
  );
  return (
    <section>
      <div class="page-head">
        <h1>Events</h1>
        {can("events:write") && can("webhooks:read") && (
          <button type="button" class="primary" onClick={() => setPublishing(true)}>
            Publish a test event
          </button>
        )}
      </div>
      <p class="lede">The latest 100 events and what became of their deliveries. Search and sort apply to these.</p>
      <div class="toolbar">
        <label for="ev-search" class="sr-only">Search events</label>
        <input id="ev-search" type="search" placeholder="Search by type or id" value={q} onInput={(e) => setQ(val(e))} />
        <button type="button" onClick={list.reload}>Refresh</button>
      </div>
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && rows.length === 0 && (
        <Empty title={term ? "No event matches." : "No events yet."}>
          {term ? "Try another search." : "Publishers send events with POST /v1/events; publish a test event to see one here."}
        </Empty>
      )}
      {rows.length > 0 && (
        <Table<Row>
          caption="Events"
          rows={rows}
          rowKey={(r) => r.id}
          sort={sort}
          onSort={setSort}
          onRowClick={setOpen}
          columns={[
            { title: "Published at", sort: "created_at", render: (r) => <When at={r.created_at} /> },
            { title: "Type", sort: "type", render: (r) => <code>{r.type}</code> },
            { title: "Id", className: "mono", render: (r) => r.id },
            { title: "Deliveries", sort: "deliveries", render: (r) => (r.deliveries ? <States list={r.deliveries} /> : <span class="muted">open to see</span>) },
          ]}
        />
      )}
      {open && <EventDetail event={open} onClose={() => setOpen(null)} />}
      {publishing && <Publish onClose={(sent) => { setPublishing(false); if (sent) list.reload(); }} />}
    </section>
  );
}

/** One event: `GET /v1/events/{id}`, with every delivery and the payload. */
function EventDetail({ event, onClose }: { event: Event; onClose: () => void }) {
  const detail = useLoad(() => get<Event & { deliveries: Delivery[] }>(`/v1/events/${seg(event.id)}`), [event.id]);
  const d = detail.data;
  return (
    <Dialog title={`${event.type} (${event.id})`} onClose={onClose} wide>
      <h3>Deliveries</h3>
      <ErrorNote error={detail.error} />
      {!d ? (
        <Loading />
      ) : d.deliveries.length === 0 ? (
        <p class="muted">No web hook subscribed to this event.</p>
      ) : (
        <ul class="plain">
          {d.deliveries.map((d) => (
            <li>
              <Badge value={d.status} /> <a href={`#/webhooks/${d.webhook_id}`}>{d.webhook_id}</a>, {d.attempts} attempt(s)
              {d.last_error && <span class="muted"> — {d.last_error}</span>}{" "}
              <a href={`#/history?webhook_id=${encodeURIComponent(d.webhook_id)}`}>history</a>
            </li>
          ))}
        </ul>
      )}
      <h3>Payload</h3>
      <pre class="code">{JSON.stringify(event.payload, null, 2)}</pre>
    </Dialog>
  );
}

function States({ list }: { list: Delivery[] }) {
  if (list.length === 0) return <span class="muted">none</span>;
  const counts = new Map<string, number>();
  list.forEach((d) => counts.set(d.status, (counts.get(d.status) ?? 0) + 1));
  return (
    <span class="states">
      {[...counts.entries()].map(([s, n]) => (
        <Badge value={n > 1 ? `${s} ×${n}` : s} />
      ))}
    </span>
  );
}

function Publish({ onClose }: { onClose: (sent: boolean) => void }) {
  const types = useLoad(() => get<Page<EventType>>("/v1/event-types"), []);
  const usable = (types.data?.data ?? []).filter((t) => t.example && t.name !== "webhook.disabled");
  const [type, setType] = useState("");
  const [body, setBody] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const pick = (name: string) => {
    setType(name);
    const t = usable.find((x) => x.name === name);
    setBody(t?.example ? JSON.stringify(t.example, null, 2) : "");
  };
  if (!type && usable.length) pick(usable[0].name);
  const send = async () => {
    setError(null);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (e) {
      setError(new ApiError(0, "client", `Not valid JSON: ${String(e)}`, "body"));
      return;
    }
    try {
      const r = await post<{ id: string; deliveries: number }>("/v1/events", json);
      setDone(`Published ${r.id}: ${r.deliveries} ${r.deliveries === 1 ? "web hook" : "web hooks"} will receive it.`);
    } catch (e) {
      setError(asApiError(e));
    }
  };
  if (done)
    return (
      <Dialog title="Event published" onClose={() => onClose(true)} actions={<button type="button" class="primary" onClick={() => onClose(true)}>Done</button>}>
        <p role="status">{done}</p>
      </Dialog>
    );
  return (
    <Dialog
      title="Publish a test event"
      wide
      onClose={() => onClose(false)}
      actions={
        <>
          <button type="button" onClick={() => onClose(false)}>Cancel</button>
          <button type="button" class="primary" onClick={send}>Publish</button>
        </>
      }
    >
      {types.loading && <Loading />}
      <Field label="Event type" id="pub-type">
        <select id="pub-type" value={type} onChange={(e) => pick(val(e))}>
          {usable.map((t) => <option value={t.name}>{t.name}</option>)}
        </select>
      </Field>
      <Field label="Event (JSON)" id="pub-body" error={fieldError(error, "body") ?? fieldError(error, "type") ?? fieldError(error, type.split(".")[0])} hint="Its example payload; edit it as you like. It is delivered like any event.">
        <textarea id="pub-body" rows={14} spellcheck={false} value={body} onInput={(e) => setBody(val(e))} />
      </Field>
      {formError(error, ["body", "type", type.split(".")[0]]) && <p class="error" role="alert">{formError(error, ["body", "type", type.split(".")[0]])}</p>}
    </Dialog>
  );
}
