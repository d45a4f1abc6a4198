// The shell: sign-in gate, side bar, top bar (organization, token, Sign
// out) and the page the hash names. In portal mode (served at /portal/):
// the link's page when it no longer works, the organization's branded top
// bar and the portal's pages only.
import { useEffect, useState } from "preact/hooks";
import { api, get, Page } from "./api";
import { match, useLocation } from "./router";
import { routes } from "./routes";
import { can, endPortal, onSession, portal, session, setMe, setOrganization, signOut } from "./session";
import { SignIn } from "./pages/signin";
import { brandName, PortalEnded, PortalTop, PortalTrouble, usePortal } from "./portal";
import { Me, OrganizationEntry } from "./types";
import { ErrorNote, Loading } from "./ui/bits";
import { asApiError } from "./ui/load";

export function App() {
  const [, setVersion] = useState(0);
  useEffect(() => onSession(() => setVersion((v) => v + 1)), []);
  // The token whose `GET /v1/me` failed without a 401 (network, 503), and why.
  const [failed, setFailed] = useState<{ token: string; error: string } | null>(null);
  const restoring = !!session.token && !session.me && failed?.token !== session.token;
  useEffect(() => {
    if (!restoring) return;
    const token = session.token!;
    api<Me>("GET", "/v1/me").then(
      (me) => {
        if (session.token !== token) return;
        // The portal opens portal links only, never an API token.
        if (portal && !me.portal) endPortal("invalid");
        else setMe(me);
      },
      (e) => session.token === token && setFailed({ token, error: asApiError(e).shown }),
    );
  }, [restoring, session.token]);
  if (portal && (session.ended || !session.token)) return <PortalEnded why={session.ended ?? "invalid"} />;
  if (restoring) return <Loading />;
  if (portal && !session.me) return <PortalTrouble error={failed?.error ?? ""} onRetry={() => setFailed(null)} />;
  if (!session.token || !session.me) return <SignIn />;
  return <Shell key={`${session.organization ?? ""}`} />;
}

function Shell() {
  const loc = useLocation();
  const me = session.me!;
  usePortal(me);
  // The portal shows its own pages only: others are not found there.
  const pages = portal ? routes.filter((r) => r.portal) : routes;
  const navs = pages.filter((r) => r.nav && (!r.scope || can(r.scope)));
  // The portal has no overview: its root opens its first page.
  const home = portal && loc.path === "/" ? navs[0]?.path : undefined;
  useEffect(() => {
    if (home) location.replace(`#${home}`);
  }, [home]);
  let found = null as null | { route: (typeof routes)[number]; params: Record<string, string> };
  for (const route of pages) {
    const params = match(route.path, loc.path);
    if (params) {
      found = { route, params };
      break;
    }
  }
  useEffect(() => {
    document.title = `${found?.route.title ?? "Not found"} · ${portal ? brandName(me) : "hookrelay"}`;
  });
  if (home) return null;
  const Page = found?.route.component;
  const allowed = !found?.route.scope || can(found.route.scope);
  const links = (
    <ul>
      {navs.map((r) => {
        const active = r.path === "/" ? loc.path === "/" : loc.path.startsWith(r.path);
        return (
          <li>
            <a href={`#${r.path}`} aria-current={active ? "page" : undefined}>
              {r.nav}
            </a>
          </li>
        );
      })}
    </ul>
  );
  const content = (
    <main id="main" tabIndex={-1}>
      {!Page && <NotFound home={portal ? navs[0] : routes[0]} />}
      {Page && !allowed && (
        <section>
          <h1>{found!.route.title}</h1>
          <p class="error" role="alert">
            {portal ? (
              "This link does not allow this page."
            ) : (
              <>
                Your token does not allow this: it needs the <code>{found!.route.scope}</code> scope.
              </>
            )}
          </p>
        </section>
      )}
      {Page && allowed && <Page params={found!.params} query={loc.query} />}
    </main>
  );
  if (portal)
    return (
      <div class="shell portal">
        <a class="skip" href="#main">
          Skip to content
        </a>
        <PortalTop me={me} />
        <nav class="portal-nav" aria-label="Portal">
          {links}
        </nav>
        {content}
      </div>
    );
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="side" aria-label="Console">
        <div class="brand">
          <span class="logo" aria-hidden="true">⇢</span> hookrelay
        </div>
        {links}
      </nav>
      <div class="main-col">
        <header class="top">
          {me.platform ? <OrgPicker /> : <span class="org">{me.organization.name}</span>}
          <span class="spacer" />
          <span class="who" title={me.token.scopes.join(", ")}>
            Signed in as <strong>{me.token.name}</strong>
          </span>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </header>
        {content}
      </div>
    </div>
  );
}

/** A platform token picks the organization every call acts in. */
function OrgPicker() {
  const [orgs, setOrgs] = useState<OrganizationEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<Page<OrganizationEntry>>("/v1/organizations", { limit: 500 }).then(
      (p) => setOrgs(p.data),
      (e) => setError(asApiError(e).shown),
    );
  }, []);
  if (error) return <ErrorNote error={error} />;
  return (
    <div class="org-picker">
      <label for="org">Organization</label>
      <select
        id="org"
        value={session.organization ?? ""}
        onChange={async (e) => {
          setOrganization((e.target as HTMLSelectElement).value, false);
          // Who we are in the new organization (its name), then redraw.
          setMe(await api<Me>("GET", "/v1/me"));
        }}
      >
        {(orgs ?? []).map((o) => (
          <option value={o.id}>
            {o.name} ({o.id})
          </option>
        ))}
      </select>
    </div>
  );
}

function NotFound({ home }: { home?: (typeof routes)[number] }) {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        This page does not exist.{" "}
        {home && (
          <>
            <a href={`#${home.path}`}>Go to the {home.nav!.toLowerCase()}</a>.
          </>
        )}
      </p>
    </section>
  );
}
