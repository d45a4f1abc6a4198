// The API client: every call goes through `api()`, which adds the bearer
// token and, for a platform token, the organization it acts in.
import { notAllowed, refused, session } from "./session";

/** An error answer of the API: `{"error": {"code", "message", "field"}}`. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public field?: string,
    /** For an invalid manifest: every problem with its JSON path. */
    public problems: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
  /** What to show: a 403 says the token (the portal's link) does not allow it. */
  get shown(): string {
    if (this.status === 403) return notAllowed;
    return this.message;
  }
}

/** A page of a list: `{"data": [...], "next_cursor"}`. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

type Query = Record<string, string | number | undefined | null>;

/** `path` with the query's non-empty values. */
export function withQuery(path: string, q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

/** Calls the API; resolves with the JSON answer (null for 204). */
export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = session.token,
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  // Only a platform token picks an organization (session.ts stores one for it alone).
  if (session.organization) headers["Hookrelay-Organization"] = session.organization;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", `hookrelay is not reachable (${String(e)})`);
  }
  if (res.status === 204) return null as T;
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: reported below */
  }
  if (!res.ok) {
    const e = json?.error;
    const err = new ApiError(res.status, e?.code ?? "http", e?.message ?? `HTTP ${res.status}`, e?.field, e?.problems ?? []);
    // A revoked or unknown token ends the session (the sign-in page says
    // why); in the portal, an expired or revoked link says so.
    if (res.status === 401 && token === session.token && session.token) refused(err.code, err.message);
    throw err;
  }
  return json as T;
}

export const get = <T>(path: string, q?: Query) => api<T>("GET", withQuery(path, q));
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body);
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, body);
export const del = (path: string) => api<null>("DELETE", path);
export const put = <T>(path: string, body: unknown) => api<T>("PUT", path, body);

/** `id` safe in a path segment. */
export const seg = (id: string) => encodeURIComponent(id);
