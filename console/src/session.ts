// The signed-in session. The token lives in sessionStorage only: it is
// gone when the tab closes and is never written anywhere else.
import type { Me, Scope } from "./types";

const TOKEN_KEY = "hookrelay.token";
const ORG_KEY = "hookrelay.organization";

/** The session's state; read it anywhere, change it through the functions below. */
export const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  /** The organization a platform token acts in (sent as `Hookrelay-Organization`). */
  organization: sessionStorage.getItem(ORG_KEY),
  platform: false,
  me: null as Me | null,
  /** Why the session ended, shown on the sign-in page. */
  endedBecause: null as string | null,
};

type Listener = () => void;
const listeners = new Set<Listener>();

/** Calls `fn` whenever the session changes; returns the unsubscribe. */
export function onSession(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const changed = () => listeners.forEach((fn) => fn());

export function signIn(token: string, me: Me) {
  sessionStorage.setItem(TOKEN_KEY, token);
  session.token = token;
  session.me = me;
  session.platform = me.platform;
  session.endedBecause = null;
  if (me.platform && !session.organization) setOrganization(me.organization.id, false);
  changed();
}

/** Sets who we are after a reload (token still in sessionStorage). */
export function setMe(me: Me) {
  session.me = me;
  session.platform = me.platform;
  changed();
}

export function setOrganization(id: string, notify = true) {
  sessionStorage.setItem(ORG_KEY, id);
  session.organization = id;
  if (notify) changed();
}

export function signOut(reason: string | null = null) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ORG_KEY);
  session.token = null;
  session.organization = null;
  session.me = null;
  session.platform = false;
  session.endedBecause = reason;
  location.hash = "#/";
  changed();
}

/** Whether the token holds `scope`: `admin` holds all but `platform`, `platform` holds all. */
export function can(scope: Scope): boolean {
  const s = session.me?.token.scopes ?? [];
  return s.includes(scope) || s.includes("platform") || (s.includes("admin") && scope !== "platform");
}
