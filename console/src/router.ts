// Hash routing (`#/webhooks/wh_…`): the server only serves files, and a
// page is bookmarkable. Pages are registered in routes.tsx.
import { useEffect, useState } from "preact/hooks";

/** The current hash path, e.g. `/webhooks/wh_1`, with its query. */
export interface Location {
  path: string;
  query: URLSearchParams;
}

export function current(): Location {
  const h = location.hash.replace(/^#/, "") || "/";
  const [path, q] = h.split("?", 2);
  return { path: path || "/", query: new URLSearchParams(q ?? "") };
}

/** Re-renders on every hash change. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const on = () => setLoc(current());
    addEventListener("hashchange", on);
    // A change between the first render and this effect fired no event we
    // heard (e.g. a link followed right after signing in): catch up.
    on();
    return () => removeEventListener("hashchange", on);
  }, []);
  return loc;
}

/** Goes to `path` (a hash path such as `/history?webhook_id=wh_1`). */
export function go(path: string) {
  location.hash = `#${path}`;
}

/** Matches `/webhooks/:id` against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const a = path.split("/");
  if (p.length !== a.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) params[p[i].slice(1)] = decodeURIComponent(a[i]);
    else if (p[i] !== a[i]) return null;
  }
  return params;
}
