// The console's pages: one entry each. To add a page, write it under
// pages/ and add it here; `nav` puts it in the side bar, `scope` hides it
// from tokens that cannot read what it shows, `portal` keeps it in the
// customer portal (which has no other page).
import type { FunctionComponent } from "preact";
import { Overview } from "./pages/overview";
import { Webhooks } from "./pages/webhooks";
import { WebhookDetail } from "./pages/webhook";
import { History } from "./pages/history";
import { Catalogue } from "./pages/catalogue";
import { Events } from "./pages/events";
import { Tokens } from "./pages/tokens";
import { Integrations } from "./pages/integrations";
import { IntegrationDetail } from "./pages/integration";
import { Import } from "./pages/import";
import { People } from "./pages/people";
import { Person } from "./pages/person";
import { OrganizationPage } from "./pages/organization";
import type { Scope } from "./types";

export interface Route {
  /** Hash path pattern, `:name` for a parameter. */
  path: string;
  /** The page's `<h1>` and the document title. */
  title: string;
  /** Label in the side bar (absent: not in it). */
  nav?: string;
  /** The scope needed to see the page at all. */
  scope?: Scope;
  /** Also in the customer portal (portal mode shows these pages only). */
  portal?: boolean;
  component: FunctionComponent<{ params: Record<string, string>; query: URLSearchParams }>;
}

export const routes: Route[] = [
  { path: "/", title: "Overview", nav: "Overview", component: Overview },
  { path: "/webhooks", title: "Web hooks", nav: "Web hooks", scope: "webhooks:read", portal: true, component: Webhooks },
  { path: "/webhooks/:id", title: "Web hook", scope: "webhooks:read", portal: true, component: WebhookDetail },
  { path: "/event-types", title: "Event catalogue", nav: "Event catalogue", scope: "webhooks:read", portal: true, component: Catalogue },
  { path: "/history", title: "History", nav: "History", scope: "history:read", portal: true, component: History },
  { path: "/events", title: "Events", nav: "Events", scope: "history:read", component: Events },
  { path: "/integrations", title: "Integrations", nav: "Integrations", scope: "integrations:run", component: Integrations },
  { path: "/integrations/:id", title: "Integration", scope: "integrations:run", component: IntegrationDetail },
  { path: "/integrations/:id/import", title: "Import people", scope: "integrations:run", component: Import },
  { path: "/people", title: "People", nav: "People", scope: "integrations:run", component: People },
  { path: "/people/:id", title: "Person", scope: "integrations:run", component: Person },
  { path: "/organization", title: "Organization", nav: "Organization", scope: "integrations:run", component: OrganizationPage },
  { path: "/tokens", title: "Access tokens", nav: "Access tokens", scope: "admin", component: Tokens },
];
