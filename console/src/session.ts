// The signed-in session. In the console the token lives in sessionStorage
// only: it is gone when the tab closes and is never written anywhere else.
// In portal mode (the app served at /portal/, docs/console.md "Portal
// mode") the token is the portal link's secret, read from the address's
// fragment, kept in memory (and in sessionStorage when the frame may use
// it) and removed from the address at once.
import type { Me, Scope } from "./types";

/** Whether this is the customer portal: the same app, served at `/portal/`. */
export const portal = location.pathname.startsWith("/portal");

/** Why a portal link no longer works, from the API's 401 code. */
export type PortalEnd = "expired" | "revoked" | "invalid";

// The portal keeps its link apart from a console token of the same tab.
const TOKEN_KEY = portal ? "hookrelay.portal" : "hookrelay.token";
const ORG_KEY = "hookrelay.organization";

/** sessionStorage, best effort: a third-party frame may be refused storage
 * (reading `sessionStorage` then throws), and the session still works in memory. */
const store = {
  get(key: string): string | null {
    try {
      return sessionStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key: string, value: string) {
    try {
      sessionStorage.setItem(key, value);
    } catch {
      /* in memory only */
    }
  },
  remove(key: string) {
    try {
      sessionStorage.removeItem(key);
    } catch {
      /* nothing stored */
    }
  },
};

/** The session's state; read it anywhere, change it through the functions below. */
export const session = {
  token: store.get(TOKEN_KEY),
  /** The organization a platform token acts in (sent as `Hookrelay-Organization`); never in the portal. */
  organization: portal ? null : store.get(ORG_KEY),
  platform: false,
  me: null as Me | null,
  /** Why the session ended, shown on the sign-in page. */
  endedBecause: null as string | null,
  /** Portal mode: why the link stopped working (its page says so). */
  ended: null as PortalEnd | null,
};

type Listener = () => void;
const listeners = new Set<Listener>();

/** Calls `fn` whenever the session changes; returns the unsubscribe. */
export function onSession(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const changed = () => listeners.forEach((fn) => fn());

/** Portal mode: takes the link's secret from `#session=hrp_…` and removes it
 * from the address (replaceState: no history entry, no hashchange). Returns
 * whether the fragment held one. */
function adoptFragment(): boolean {
  const h = location.hash.replace(/^#/, "");
  if (!/(^|&)session=/.test(h)) return false;
  const secret = new URLSearchParams(h).get("session") ?? "";
  history.replaceState(history.state, "", `${location.pathname}${location.search}#/`);
  session.token = secret || null;
  session.me = null;
  session.ended = secret ? null : "invalid";
  if (secret) store.set(TOKEN_KEY, secret);
  else store.remove(TOKEN_KEY);
  return true;
}

if (portal) {
  adoptFragment();
  // A host page that points the frame at a new link changes only the
  // fragment (no reload): take it too. Registered before the router's
  // listener, so the router never sees the secret.
  addEventListener("hashchange", () => adoptFragment() && changed());
}

export function signIn(token: string, me: Me) {
  store.set(TOKEN_KEY, token);
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
  store.set(ORG_KEY, id);
  session.organization = id;
  if (notify) changed();
}

export function signOut(reason: string | null = null) {
  store.remove(TOKEN_KEY);
  store.remove(ORG_KEY);
  session.token = null;
  session.organization = null;
  session.me = null;
  session.platform = false;
  session.endedBecause = reason;
  location.hash = "#/";
  changed();
}

/** Portal mode: the link stopped working; its page replaces the portal. */
export function endPortal(why: PortalEnd) {
  store.remove(TOKEN_KEY);
  session.token = null;
  session.me = null;
  session.ended = why;
  changed();
}

/** The API refused the session's token (401): the console signs out, the
 * portal says whether its link expired, was revoked or is unknown. */
export function refused(code: string, message: string) {
  if (!portal) return signOut(message);
  endPortal(code === "portal_link_expired" ? "expired" : code === "portal_link_revoked" ? "revoked" : "invalid");
}

/** What a 403 says: who holds the session is a token in the console, a link in the portal. */
export const notAllowed = portal ? "This link does not allow this." : "Your token does not allow this.";

/** Whether the token holds `scope`: `admin` holds all but `platform`, `platform` holds all. */
export function can(scope: Scope): boolean {
  const s = session.me?.token.scopes ?? [];
  return s.includes(scope) || s.includes("platform") || (s.includes("admin") && scope !== "platform");
}
