// People: the list (searched and sorted on the server), Add a person, and
// a row opens the person.
import { useState } from "preact/hooks";
import { get, Page } from "../api";
import { go } from "../router";
import { can } from "../session";
import { User } from "../types";
import { Empty, ErrorNote, Loading, When } from "../ui/bits";
import { val } from "../ui/form";
import { useLoad } from "../ui/load";
import { Sort, Table } from "../ui/table";
import { PersonDialog } from "./person-dialog";

export function People() {
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<Sort>({ key: "last_name", order: "asc" });
  const list = useLoad(() => get<Page<User>>("/v1/users", { q: q.trim(), sort: sort.key, order: sort.order, limit: 500 }), [q, sort.key, sort.order]);
  const [adding, setAdding] = useState(false);
  const rows = list.data?.data ?? [];
  return (
    <section>
      <div class="page-head">
        <h1>People</h1>
        {can("integrations:write") && (
          <button type="button" class="primary" onClick={() => setAdding(true)}>
            Add a person
          </button>
        )}
      </div>
      <p class="lede">The people integrations run for. Changes publish <code>user.updated</code>.</p>
      <div class="toolbar">
        <label for="people-search" class="sr-only">Search people</label>
        <input id="people-search" type="search" placeholder="Search by name or email" value={q} onInput={(e) => setQ(val(e))} />
      </div>
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && rows.length === 0 && (
        <Empty title={q.trim() ? "No one matches." : "No people yet."}>
          {q.trim() ? "Try another search." : "Add a person, or import people from an HR system on an integration's Import page."}
        </Empty>
      )}
      {rows.length > 0 && (
        <Table<User>
          caption="People"
          rows={rows}
          rowKey={(u) => u.id}
          sort={sort}
          onSort={setSort}
          onRowClick={(u) => go(`/people/${u.id}`)}
          columns={[
            { title: "Last name", sort: "last_name", render: (u) => <a href={`#/people/${u.id}`}>{u.last_name}</a> },
            { title: "First name", sort: "first_name", render: (u) => u.first_name },
            { title: "Email", sort: "email", render: (u) => u.email },
            { title: "Position", render: (u) => u.position },
            { title: "Department", render: (u) => u.department },
            { title: "Start date", sort: "start_date", render: (u) => u.start_date ?? <span class="muted">—</span> },
            { title: "Added", sort: "created_at", render: (u) => <When at={u.created_at} /> },
          ]}
        />
      )}
      {adding && <PersonDialog onClose={(id) => (id ? go(`/people/${id}`) : setAdding(false))} />}
    </section>
  );
}
