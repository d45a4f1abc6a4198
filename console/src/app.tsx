// The shell: sign-in gate, side bar, top bar (organization, token, Sign
// out) and the page the hash names.
import { useEffect, useState } from "preact/hooks";
import { api, get, Page } from "./api";
import { match, useLocation } from "./router";
import { routes } from "./routes";
import { can, onSession, session, setMe, setOrganization, signOut } from "./session";
import { SignIn } from "./pages/signin";
import { Me, OrganizationEntry } from "./types";
import { ErrorNote, Loading } from "./ui/bits";
import { asApiError } from "./ui/load";

export function App() {
  const [, setVersion] = useState(0);
  useEffect(() => onSession(() => setVersion((v) => v + 1)), []);
  const [restoring, setRestoring] = useState(!!session.token && !session.me);
  useEffect(() => {
    if (!restoring) return;
    api<Me>("GET", "/v1/me").then(
      (me) => {
        setMe(me);
        setRestoring(false);
      },
      () => setRestoring(false),
    );
  }, [restoring]);
  if (restoring) return <Loading />;
  if (!session.token || !session.me) return <SignIn />;
  return <Shell key={`${session.organization ?? ""}`} />;
}

function Shell() {
  const loc = useLocation();
  const me = session.me!;
  let found = null as null | { route: (typeof routes)[number]; params: Record<string, string> };
  for (const route of routes) {
    const params = match(route.path, loc.path);
    if (params) {
      found = { route, params };
      break;
    }
  }
  useEffect(() => {
    document.title = `${found?.route.title ?? "Not found"} · hookrelay`;
  });
  const Page = found?.route.component;
  const allowed = !found?.route.scope || can(found.route.scope);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="side" aria-label="Console">
        <div class="brand">
          <span class="logo" aria-hidden="true">⇢</span> hookrelay
        </div>
        <ul>
          {routes
            .filter((r) => r.nav && (!r.scope || can(r.scope)))
            .map((r) => {
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
        <main id="main" tabIndex={-1}>
          {!Page && <NotFound />}
          {Page && !allowed && (
            <section>
              <h1>{found!.route.title}</h1>
              <p class="error" role="alert">
                Your token does not allow this: it needs the <code>{found!.route.scope}</code> scope.
              </p>
            </section>
          )}
          {Page && allowed && <Page params={found!.params} query={loc.query} />}
        </main>
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

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        This page does not exist. <a href="#/">Go to the overview</a>.
      </p>
    </section>
  );
}
