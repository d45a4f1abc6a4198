// The Event Types panel: types grouped by entity (profile, job,
// organization, user, …, custom), each with its description and a ?
// that shows its example payload. Selecting a whole group subscribes to
// its pattern (`profile.*`), so types added later are included.
import { useState } from "preact/hooks";
import { EventType } from "../types";
import { Dialog } from "../ui/dialog";

const ORDER = ["profile", "job", "organization", "user"];

/** The catalogue grouped: the known entities first, custom types last. */
export function groups(types: EventType[]): [string, EventType[]][] {
  const m = new Map<string, EventType[]>();
  for (const t of types) {
    const g = t.builtin ? t.entity : "custom";
    m.set(g, [...(m.get(g) ?? []), t]);
  }
  const rank = (g: string) => (g === "custom" ? 99 : ORDER.indexOf(g) < 0 ? 50 : ORDER.indexOf(g));
  return [...m.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

/** Whether `name` is covered by the subscription list (exact, `*` or a prefix pattern). */
export function covered(selected: string[], name: string): boolean {
  return selected.some((s) => s === name || s === "*" || (s.endsWith(".*") && name.startsWith(s.slice(0, -1))));
}

export function EventTypePicker(p: {
  types: EventType[];
  selected: string[];
  onChange: (next: string[]) => void;
  disabled?: boolean;
  compact?: boolean;
}) {
  const [example, setExample] = useState<EventType | null>(null);
  const sel = p.selected;
  // Groups start folded, except those with types picked one by one.
  const [open, setOpen] = useState<Set<string>>(
    () => new Set(groups(p.types).filter(([, list]) => list.some((t) => sel.includes(t.name))).map(([g]) => g)),
  );
  const fold = (g: string) => {
    const next = new Set(open);
    next.has(g) ? next.delete(g) : next.add(g);
    setOpen(next);
  };
  const all = sel.includes("*");
  const set = (next: string[]) => p.onChange([...new Set(next)]);
  const toggleType = (name: string, on: boolean) =>
    set(on ? [...sel, name] : sel.filter((s) => s !== name));
  const toggleGroup = (entity: string, names: string[], on: boolean) => {
    const pattern = `${entity}.*`;
    set(on ? [...sel.filter((s) => !names.includes(s)), pattern] : sel.filter((s) => s !== pattern && !names.includes(s)));
  };
  return (
    <div class={p.compact ? "picker compact" : "picker"}>
      <div class="check-field">
        <input type="checkbox" id="type-all" checked={all} disabled={p.disabled} onChange={(e) => set((e.target as HTMLInputElement).checked ? ["*"] : [])} />
        <label for="type-all">
          Every event type <code>*</code>
        </label>
      </div>
      {groups(p.types).map(([entity, list]) => {
        const pattern = `${entity}.*`;
        const isGroup = entity !== "custom";
        const groupOn = all || sel.includes(pattern);
        return (
          <fieldset class="type-group">
            <legend>
              {isGroup ? (
                <span class="check-field">
                  <input
                    type="checkbox"
                    id={`group-${entity}`}
                    checked={groupOn}
                    disabled={p.disabled || all}
                    onChange={(e) => toggleGroup(entity, list.map((t) => t.name), (e.target as HTMLInputElement).checked)}
                  />
                  <label for={`group-${entity}`}>
                    {cap(entity)} <span class="muted">({list.length}, all: <code>{pattern}</code>)</span>
                  </label>
                </span>
              ) : (
                <span>Custom</span>
              )}
            </legend>
            <button
              type="button"
              class="link fold"
              aria-expanded={open.has(entity)}
              aria-controls={`types-${entity}`}
              aria-label={`${open.has(entity) ? "Hide" : "Show"} ${cap(entity)} types`}
              onClick={() => fold(entity)}
            >
              {open.has(entity) ? "Hide types ▴" : `Show ${list.length} ${list.length === 1 ? "type" : "types"} ▾`}
            </button>
            <ul id={`types-${entity}`} hidden={!open.has(entity)}>
              {list.map((t) => {
                const id = `type-${t.name}`;
                return (
                  <li>
                    <input
                      type="checkbox"
                      id={id}
                      checked={covered(sel, t.name)}
                      disabled={p.disabled || all || (isGroup && groupOn)}
                      onChange={(e) => toggleType(t.name, (e.target as HTMLInputElement).checked)}
                    />
                    <label for={id}>
                      <code>{t.name}</code>
                      {t.description && <span class="desc">{t.description}</span>}
                    </label>
                    <button type="button" class="help" aria-label={`Example payload of ${t.name}`} title="Example payload" onClick={() => setExample(t)}>
                      ?
                    </button>
                  </li>
                );
              })}
            </ul>
          </fieldset>
        );
      })}
      {example && (
        <Dialog title={`Example payload: ${example.name}`} onClose={() => setExample(null)} wide>
          {example.description && <p>{example.description}</p>}
          <pre class="code">{example.example ? JSON.stringify(example.example, null, 2) : "(no example)"}</pre>
        </Dialog>
      )}
    </div>
  );
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
