// The event catalogue: every event type the organization can subscribe
// to, grouped by entity, each with its description, example payload and
// JSON Schema (`GET /v1/event-types/{name}`, fetched when a type is opened).
import { useState } from "preact/hooks";
import { get, Page, seg } from "../api";
import { EventType } from "../types";
import { Copy, Empty, ErrorNote, Loading } from "../ui/bits";
import { val } from "../ui/form";
import { useLoad } from "../ui/load";
import { groups } from "./event-types";

export function Catalogue() {
  const list = useLoad(() => get<Page<EventType>>("/v1/event-types"), []);
  const [q, setQ] = useState("");
  const needle = q.trim().toLowerCase();
  const shown = (list.data?.data ?? []).filter(
    (t) => !needle || t.name.toLowerCase().includes(needle) || t.description.toLowerCase().includes(needle),
  );
  return (
    <section>
      <div class="page-head">
        <h1>Event catalogue</h1>
      </div>
      <p class="lede">
        Every event type a web hook can subscribe to: what it means, an example of what your endpoint receives, and
        its JSON Schema.
      </p>
      <div class="toolbar" role="search">
        <label for="cat-search" class="sr-only">
          Search event types
        </label>
        <input id="cat-search" type="search" placeholder="Search by name or description" value={q} onInput={(e) => setQ(val(e))} />
      </div>
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && shown.length === 0 && <Empty title={needle ? `No event type matches “${q.trim()}”.` : "No event types."} />}
      {groups(shown).map(([entity, types]) => (
        <section class="catalogue-group" aria-labelledby={`cat-${entity}`}>
          <h2 id={`cat-${entity}`}>{entity.charAt(0).toUpperCase() + entity.slice(1)}</h2>
          <ul class="catalogue">
            {types.map((t) => (
              <TypeEntry type={t} />
            ))}
          </ul>
        </section>
      ))}
    </section>
  );
}

function TypeEntry({ type: t }: { type: EventType }) {
  const [open, setOpen] = useState(false);
  const id = `cat-type-${t.name.replace(/\W/g, "-")}`;
  return (
    <li class="card catalogue-type">
      <button type="button" class="catalogue-head" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
        <code class="catalogue-name">{t.name}</code>
        <span class="desc">{t.description || <span class="muted">No description.</span>}</span>
        <span class="muted" aria-hidden="true">{open ? "▴" : "▾"}</span>
      </button>
      {open && (
        <div id={id} class="catalogue-body">
          <Details type={t} />
        </div>
      )}
    </li>
  );
}

/** The example and the schema; the schema as `GET /v1/event-types/{name}` has it. */
function Details({ type: t }: { type: EventType }) {
  const one = useLoad(() => get<EventType>(`/v1/event-types/${seg(t.name)}`), [t.name]);
  const example = t.example ? JSON.stringify(t.example, null, 2) : null;
  const schema = one.data?.schema ? JSON.stringify(one.data.schema, null, 2) : null;
  return (
    <div class="exchange">
      <section class="half">
        <div class="panel-head">
          <h3>Example payload</h3>
          {example && <Copy text={example} />}
        </div>
        {example ? <pre class="code" data-copy={example}>{example}</pre> : <p class="muted">No example for this type.</p>}
      </section>
      <section class="half">
        <div class="panel-head">
          <h3>JSON Schema</h3>
          {schema && <Copy text={schema} />}
        </div>
        <ErrorNote error={one.error} />
        {one.loading && !one.data && <Loading />}
        {one.data && (schema ? <pre class="code" data-copy={schema}>{schema}</pre> : <p class="muted">No schema for this type.</p>)}
      </section>
    </div>
  );
}
