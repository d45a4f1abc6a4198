// Web hooks: the list (server-side search and sort), Add a web hook,
// edit, enable/disable and Delete from the row's actions.
import { useState } from "preact/hooks";
import { get, Page } from "../api";
import { go } from "../router";
import { can, portal } from "../session";
import { Webhook } from "../types";
import { Badge, Empty, ErrorNote, Loading, When } from "../ui/bits";
import { val } from "../ui/form";
import { useLoad } from "../ui/load";
import { Sort, Table } from "../ui/table";
import { DeleteWebhook, EnableWebhook, WebhookForm } from "./webhook-dialogs";

type Open = null | { kind: "add" } | { kind: "edit" | "delete" | "enable"; hook: Webhook };

export function Webhooks() {
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<Sort>({ key: "name", order: "asc" });
  const [limit, setLimit] = useState(50);
  const [open, setOpen] = useState<Open>(null);
  const list = useLoad(
    () => get<Page<Webhook>>("/v1/webhooks", { q: search, sort: sort.key, order: sort.order, limit }),
    [search, sort.key, sort.order, limit],
  );
  const write = can("webhooks:write");
  const close = (changed: boolean) => {
    setOpen(null);
    if (changed) list.reload();
  };
  return (
    <section>
      <div class="page-head">
        <h1>Web hooks</h1>
        {write && (
          <button type="button" class="primary" onClick={() => setOpen({ kind: "add" })}>
            Add a web hook
          </button>
        )}
      </div>
      <p class="lede">Each web hook receives the events it subscribes to, signed, at its URL.</p>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(q.trim());
        }}
      >
        <label for="wh-search" class="sr-only">
          Search web hooks
        </label>
        <input id="wh-search" type="search" placeholder="Search by name or URL" value={q} onInput={(e) => setQ(val(e))} />
        <button type="submit">Search</button>
        {search && (
          <button
            type="button"
            class="link"
            onClick={() => {
              setQ("");
              setSearch("");
            }}
          >
            Clear
          </button>
        )}
      </form>
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <Empty title={search ? `No web hook matches “${search}”.` : "No web hooks yet."}>
          {search
            ? "Try another search, or clear it."
            : write
              ? "Add a web hook with the name and the URL of the service that should receive events."
              : portal
                ? "This link shows web hooks but cannot add them."
                : "A token with the webhooks:write scope can add one."}
        </Empty>
      )}
      {list.data && list.data.data.length > 0 && (
        <>
          <Table<Webhook>
            caption="Web hooks"
            rows={list.data.data}
            rowKey={(h) => h.id}
            sort={sort}
            onSort={setSort}
            onRowClick={(h) => go(`/webhooks/${h.id}`)}
            columns={[
              { title: "Name", sort: "name", render: (h) => <a href={`#/webhooks/${h.id}`}>{h.name}</a> },
              { title: "URL", sort: "url", className: "url", render: (h) => <code>{h.url}</code> },
              { title: "Last triggered", sort: "last_triggered_at", render: (h) => <When at={h.last_triggered_at} /> },
              { title: "State", sort: "state", render: (h) => <Badge value={h.state} /> },
              ...(write ? [{
                title: "Actions",
                className: "actions",
                render: (h: Webhook) => (
                    <div class="row-actions">
                      <button type="button" onClick={() => setOpen({ kind: "edit", hook: h })} aria-label={`Edit ${h.name}`}>
                        Edit
                      </button>
                      <button type="button" onClick={() => setOpen({ kind: "enable", hook: h })} aria-label={`${h.active ? "Disable" : "Enable"} ${h.name}`}>
                        {h.active ? "Disable" : "Enable"}
                      </button>
                      <button type="button" class="danger-text" onClick={() => setOpen({ kind: "delete", hook: h })} aria-label={`Delete ${h.name}`}>
                        Delete
                      </button>
                    </div>
                ),
              }] : []),
            ]}
          />
          {list.data.next_cursor && (
            <button type="button" class="more" onClick={() => setLimit(limit + 50)}>
              Show more
            </button>
          )}
        </>
      )}
      {open?.kind === "add" && <WebhookForm onClose={close} onCreated={(h) => go(`/webhooks/${h.id}`)} />}
      {open?.kind === "edit" && <WebhookForm hook={open.hook} onClose={close} />}
      {open?.kind === "delete" && <DeleteWebhook hook={open.hook} onClose={close} />}
      {open?.kind === "enable" && <EnableWebhook hook={open.hook} onClose={close} />}
    </section>
  );
}
