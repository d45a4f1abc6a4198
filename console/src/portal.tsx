// The customer portal's own pieces (docs/console.md, "Portal mode"): the
// page an expired, revoked or unknown link opens, the branded top bar, the
// accent colour and the link's end. Its pages are the console's own,
// picked in routes.tsx (`portal: true`).
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import { portal, PortalEnd } from "./session";
import type { Me } from "./types";
import { When } from "./ui/bits";

const ENDED: Record<PortalEnd, string> = {
  expired: "This link has expired.",
  revoked: "This link has been revoked.",
  invalid: "This link is not valid.",
};

/** What an expired, revoked or unknown link shows instead of the portal (no sign-in form). */
export function PortalEnded({ why }: { why: PortalEnd }) {
  useEffect(() => {
    document.title = ENDED[why];
  }, [why]);
  return (
    <main class="portal-ended" id="main">
      <div class="card">
        <h1>{ENDED[why]}</h1>
        <p>To manage your web hooks, open the portal again from the product that showed it: it opens with a new link.</p>
      </div>
    </main>
  );
}

/** The portal could not ask who it is (the network, a 503): try again. */
export function PortalTrouble({ error, onRetry }: { error: string; onRetry: () => void }) {
  return (
    <main class="portal-ended" id="main">
      <div class="card">
        <h1>The portal could not load.</h1>
        <p class="error" role="alert">{error}</p>
        <button type="button" class="primary" onClick={onRetry}>
          Try again
        </button>
      </div>
    </main>
  );
}

/** The name the portal shows: the branding's display name, else the organization's. */
export const brandName = (me: Me) => me.organization.branding.display_name ?? me.organization.name;

/** The top of the portal: the organization's logo and name, and until when the link works. */
export function PortalTop({ me }: { me: Me }) {
  const logo = me.organization.branding.logo_url;
  const [broken, setBroken] = useState(false);
  return (
    <header class="top portal-top">
      {logo && !broken && <img class="portal-logo" src={logo} alt="" onError={() => setBroken(true)} />}
      <span class="org portal-name">{brandName(me)}</span>
      <span class="spacer" />
      {me.portal && (
        <span class="muted portal-until">
          Link valid until <When at={me.portal.expires_at} />
        </span>
      )}
    </header>
  );
}

/** In portal mode, applies the branding's accent colour (a CSS variable set
 * from script, which the CSP allows; no inline style) and notices when the
 * link ends while open. The console ignores both. */
export function usePortal(me: Me) {
  const accent = portal ? me.organization.branding.accent_color : null;
  useEffect(() => {
    const root = document.documentElement.style;
    if (!accent || !/^#[0-9a-f]{6}$/i.test(accent)) return;
    root.setProperty("--accent", accent);
    root.setProperty("--focus", accent);
    root.setProperty("--accent-text", textOn(accent));
    root.setProperty("--accent-soft", `color-mix(in srgb, ${accent} 14%, var(--panel))`);
    return () => ["--accent", "--focus", "--accent-text", "--accent-soft"].forEach((p) => root.removeProperty(p));
  }, [accent]);
  const until = portal ? me.portal?.expires_at : undefined;
  useEffect(() => {
    if (!until) return;
    // At its end, ask again: the API's 401 (portal_link_expired) shows the
    // expired page even if nothing is clicked.
    const t = setTimeout(() => api("GET", "/v1/me").catch(() => {}), Math.max(0, Date.parse(until) - Date.now()) + 1000);
    return () => clearTimeout(t);
  }, [until]);
}

/** White or near-black text, whichever contrasts more with `#rrggbb` (WCAG luminance). */
function textOn(hex: string): string {
  const lin = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(1) + 0.7152 * lin(3) + 0.0722 * lin(5);
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
}
