// A table with sortable column headers (buttons inside `<th>`, with
// `aria-sort`), used by every list page.
import type { ComponentChildren } from "preact";

export interface Column<T> {
  /** Header text. */
  title: string;
  /** Sort key; absent for a column that does not sort. */
  sort?: string;
  render: (row: T) => ComponentChildren;
  className?: string;
}

export interface Sort {
  key: string;
  order: "asc" | "desc";
}

interface Props<T> {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  sort?: Sort;
  onSort?: (s: Sort) => void;
  onRowClick?: (row: T) => void;
  /** A leading column of checkboxes. */
  selected?: Set<string>;
  onSelect?: (next: Set<string>) => void;
}

export function Table<T>(p: Props<T>) {
  const all = p.rows.length > 0 && p.rows.every((r) => p.selected?.has(p.rowKey(r)));
  const toggle = (key: string) => {
    const next = new Set(p.selected);
    next.has(key) ? next.delete(key) : next.add(key);
    p.onSelect?.(next);
  };
  return (
    <table class="table">
      <caption class="sr-only">{p.caption}</caption>
      <thead>
        <tr>
          {p.selected && (
            <th class="check">
              <input
                type="checkbox"
                aria-label="Select all rows"
                checked={all}
                onChange={() => p.onSelect?.(all ? new Set() : new Set(p.rows.map(p.rowKey)))}
              />
            </th>
          )}
          {p.columns.map((c) => {
            const active = p.sort && c.sort && p.sort.key === c.sort;
            const aria = active ? (p.sort!.order === "asc" ? "ascending" : "descending") : undefined;
            return (
              <th scope="col" class={c.className} aria-sort={aria}>
                {c.sort && p.onSort ? (
                  <button
                    type="button"
                    class="sort"
                    onClick={() =>
                      p.onSort!({ key: c.sort!, order: active && p.sort!.order === "asc" ? "desc" : "asc" })
                    }
                  >
                    {c.title}
                    <span aria-hidden="true" class="arrow">
                      {active ? (p.sort!.order === "asc" ? "▲" : "▼") : "↕"}
                    </span>
                  </button>
                ) : (
                  c.title
                )}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => {
          const key = p.rowKey(r);
          return (
            <tr
              key={key}
              class={p.onRowClick ? "clickable" : undefined}
              onClick={(e) => {
                // Buttons, links and checkboxes inside a row act on their own.
                if ((e.target as HTMLElement).closest("button,a,input,label")) return;
                p.onRowClick?.(r);
              }}
            >
              {p.selected && (
                <td class="check">
                  <input
                    type="checkbox"
                    aria-label={`Select ${key}`}
                    checked={p.selected.has(key)}
                    onChange={() => toggle(key)}
                  />
                </td>
              )}
              {p.columns.map((c) => (
                <td class={c.className}>{c.render(r)}</td>
              ))}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Sorts loaded rows in the browser, for lists the API does not sort. */
export function sortRows<T>(rows: T[], sort: Sort, value: (row: T, key: string) => string | number | null) {
  const dir = sort.order === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = value(a, sort.key);
    const y = value(b, sort.key);
    if (x === y) return 0;
    if (x === null) return -dir;
    if (y === null) return dir;
    return x < y ? -dir : dir;
  });
}
