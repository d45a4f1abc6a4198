// End-to-end test of the customer portal (issue 27; docs/console.md,
// "Portal mode") in headless Chromium with third-party cookies blocked:
// a host page on another site (http://localhost:<port>, not 127.0.0.1)
// embeds a freshly minted portal link in an iframe, against the real
// hookrelay binary and a receiver that verifies signatures.
// Screenshots: target/console-screenshots/portal-*.png.
//
//   node tests/console/portal.mjs [path/to/hookrelay]
import { createServer } from "node:http";
import { join } from "node:path";
import { freePort, startGateway, TOKEN } from "./gateway.mjs";
import { bin, expect, faults, launch, shots, stepper, until } from "./harness.mjs";
import { startReceiver } from "./receiver.mjs";

const hostPort = await freePort();
// An origin that HOOKRELAY_PORTAL_FRAME_ANCESTORS does not list.
const strangerPort = await freePort();
const gw = await startGateway(bin, join(shots, "portal-hookrelay.log"), (base) => ({
  HOOKRELAY_PUBLIC_URL: base,
  HOOKRELAY_PORTAL_FRAME_ANCESTORS: `http://localhost:${hostPort}`,
}));
const receiver = await startReceiver();

/** The platform's product: a page that embeds `?src=` in an iframe. */
function startHost(port) {
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  const server = createServer((req, res) => {
    const src = new URL(req.url, "http://localhost").searchParams.get("src") ?? "about:blank";
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(
      `<!doctype html><meta charset="utf-8"><title>Acme's product</title>` +
        `<h1>Your web hooks</h1><iframe id="portal" title="Web hooks" src="${esc(src)}" width="1220" height="780"></iframe>`,
    );
  });
  return new Promise((resolve) => server.listen(port, "localhost", () => resolve({ server, base: `http://localhost:${port}` })));
}
const host = await startHost(hostPort);
const stranger = await startHost(strangerPort);

const browser = await launch(["--test-third-party-cookie-phaseout"]);
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(10000);
// Third-party cookies blocked through DevTools too, whatever the flag does in this build.
await (await context.newCDPSession(page))
  .send("Network.setCookieControls", { enableThirdPartyCookieRestriction: true, disableThirdPartyCookieMetadata: false, disableThirdPartyCookieHeuristics: false })
  .catch(() => {});
// Chromium's words when it refuses a frame: what steps 6 and 9 look for.
const refusedFrames = [];
const pageErrors = faults(page, (text) => /frame-ancestors/.test(text) && refusedFrames.push(text) > 0);
const apiRequests = [];
page.on("request", (r) => r.url().startsWith(`${gw.base}/v1/`) && apiRequests.push(r));
const shot = (name) => page.screenshot({ path: join(shots, `portal-${name}.png`) });
const { step, run } = stepper("portal-", shot);

const frame = () => page.frameLocator("#portal");
const portalFrame = () => page.frames().find((f) => f.url().startsWith(`${gw.base}/portal`));
const dialog = () => frame().locator("dialog[open]");
const rows = (caption) => frame().locator(`table:has(caption:text-is("${caption}")) tbody tr`);
const nav = (name) => frame().getByRole("navigation").getByRole("link", { name, exact: true });
const inOrg = (id) => ({ "Hookrelay-Organization": id });

/** Mints a link for `org` with the platform token. */
async function mint(org, body = {}) {
  const r = await gw.api("POST", "/v1/portal/sessions", body, TOKEN, inOrg(org));
  expect(r.status === 201, `minted: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
/** Opens `url` in the host page's iframe (`via`: the host, or the stranger). */
const embed = (url, via = host) => page.goto(`${via.base}/?src=${encodeURIComponent(url)}`);

let org;
let link;
let hookId;
await run("console (customer portal)", async () => {
  await step("setup: a second organization; a link minted for it is absolute and carries its secret in the fragment", async () => {
    org = (await gw.api("POST", "/v1/organizations", { name: "Acme" })).body;
    expect(org?.id?.startsWith("org_"), `organization created: ${JSON.stringify(org)}`);
    link = await mint(org.id, { expires_in: 900 });
    expect(link.url.startsWith(`${gw.base}/portal/#session=hrp_`), `url ${link.url}`);
    expect(link.id.startsWith("ps_"), `id ${link.id}`);
  });

  await step("the host page embeds the portal: the organization's name on top, its web hooks", async () => {
    await embed(link.url);
    await frame().getByRole("heading", { name: "Web hooks" }).waitFor();
    await frame().locator(".portal-top", { hasText: "Acme" }).waitFor();
    await frame().getByText("No web hooks yet.").waitFor();
    await shot("01-embedded");
  });

  await step("5. the frame's address no longer holds the secret; API calls carry it as a bearer, no cookie", async () => {
    const url = portalFrame().url();
    expect(!url.includes("hrp_") && !url.includes("session="), `frame URL ${url}`);
    expect(url === `${gw.base}/portal/#/webhooks`, `frame URL ${url}`);
    expect(!(await portalFrame().evaluate(() => history.state && JSON.stringify(history.state).includes("hrp_"))), "no secret in history.state");
    expect(apiRequests.length > 0, "the portal called the API");
    for (const r of apiRequests) {
      const h = await r.allHeaders();
      expect((h.authorization ?? "").startsWith("Bearer hrp_"), `Authorization of ${r.url()}`);
      expect(!h.cookie, `no Cookie on ${r.url()}`);
      expect(!r.url().includes("hrp_"), `no secret in ${r.url()}`);
    }
  });

  await step("the frame is third-party and gets no cookies: the portal works without them", async () => {
    // A cookie the gateway's own site holds (first party, SameSite=None) ...
    const top = await context.newPage();
    await top.goto(`${gw.base}/console/`);
    await top.evaluate(() => (document.cookie = "probe=1; SameSite=None; Secure; Path=/"));
    expect((await top.evaluate(() => document.cookie)).includes("probe=1"), "the first-party probe cookie is set");
    await top.close();
    // ... is not visible inside the frame on the host's site.
    expect(!(await portalFrame().evaluate(() => document.cookie)).includes("probe"), "the frame sees no third-party cookie");
  });

  await step("4. no admin navigation: only Web hooks, Event catalogue and History", async () => {
    const links = (await frame().getByRole("navigation").getByRole("link").allTextContents()).map((t) => t.trim());
    expect(JSON.stringify(links) === JSON.stringify(["Web hooks", "Event catalogue", "History"]), `links ${JSON.stringify(links)}`);
    for (const name of ["Overview", "Access tokens", "Tokens", "Organizations", "Organization", "Integrations", "People", "Events"]) {
      expect((await frame().getByRole("link", { name, exact: true }).count()) === 0, `no ${name} link`);
    }
    expect((await frame().getByRole("button", { name: "Sign out" }).count()) === 0, "no Sign out");
    expect((await frame().getByLabel("Organization").count()) === 0, "no organization picker");
    // An admin page's address is not found in the portal.
    await portalFrame().evaluate(() => (location.hash = "#/tokens"));
    await frame().getByRole("heading", { name: "Not found" }).waitFor();
    await nav("Web hooks").click();
    await frame().getByRole("heading", { name: "Web hooks" }).waitFor();
  });

  await step("1. Add a web hook inside the frame: it lands in that organization only", async () => {
    await frame().getByRole("button", { name: "Add a web hook" }).click();
    const d = dialog();
    await d.getByLabel("Name", { exact: true }).fill("Acme ATS");
    await d.getByLabel("URL", { exact: true }).fill(receiver.url);
    await d.locator("#group-profile").check();
    await shot("02-add-web-hook");
    await d.getByRole("button", { name: "Save" }).click();
    await frame().getByRole("heading", { name: /Acme ATS/ }).waitFor();
    hookId = portalFrame().url().split("#/webhooks/")[1];
    const mine = (await gw.api("GET", "/v1/webhooks", null, TOKEN, inOrg(org.id))).body.data;
    expect(mine.length === 1 && mine[0].id === hookId && mine[0].name === "Acme ATS", `Acme's web hooks: ${JSON.stringify(mine)}`);
    expect(JSON.stringify(mine[0].event_types) === JSON.stringify(["profile.*"]), `event types ${JSON.stringify(mine[0].event_types)}`);
    const other = (await gw.api("GET", "/v1/webhooks", null, TOKEN, inOrg("org_1"))).body.data;
    expect(!other.some((h) => h.id === hookId || h.name === "Acme ATS"), "not in the default organization");
    receiver.secret = (await gw.api("GET", `/v1/webhooks/${hookId}/secret`, null, TOKEN, inOrg(org.id))).body.secret;
    await shot("03-web-hook");
  });

  await step("the secret is revealed, and Check gets the receiver's verified answer, inside the frame", async () => {
    await frame().getByRole("button", { name: "Reveal" }).click();
    await frame().getByText(receiver.secret).waitFor();
    await frame().getByRole("button", { name: "Check", exact: true }).click();
    await dialog().getByLabel("Event type").selectOption("profile.parsing.success");
    await dialog().getByRole("button", { name: "Check", exact: true }).click();
    await dialog().getByText('"verified": true').waitFor();
    await shot("04-check");
    await dialog().getByRole("button", { name: "Close", exact: true }).first().click();
    expect(receiver.received.at(-1).verified, "the receiver verified the signature");
  });

  await step("2. the event catalogue lists every type with its description, example payload and JSON Schema", async () => {
    await nav("Event catalogue").click();
    await frame().getByRole("heading", { name: "Event catalogue" }).waitFor();
    const all = (await gw.api("GET", "/v1/event-types", null, TOKEN, inOrg(org.id))).body.data;
    const entries = frame().locator(".catalogue-type");
    await until(async () => (await entries.count()) === all.length, async () => `${all.length} types, shown ${await entries.count()}`);
    const name = "profile.parsing.success";
    const type = (await gw.api("GET", `/v1/event-types/${name}`, null, TOKEN, inOrg(org.id))).body;
    expect(type.schema && typeof type.schema === "object", `a built-in type has a schema: ${JSON.stringify(type.schema)}`);
    const entry = entries.filter({ has: frame().locator("code", { hasText: name }) });
    await entry.getByText(type.description).waitFor();
    await entry.getByRole("button").first().click();
    await entry.getByRole("heading", { name: "Example payload" }).waitFor();
    await entry.getByText(`"type": "${name}"`).first().waitFor();
    await entry.getByRole("heading", { name: "JSON Schema" }).waitFor();
    const pres = entry.locator("pre.code");
    await until(async () => (await pres.count()) === 2, "example and schema shown");
    expect((await pres.nth(0).textContent()) === JSON.stringify(type.example, null, 2), "the example as the API has it");
    expect((await pres.nth(1).textContent()) === JSON.stringify(type.schema, null, 2), "the schema as the API has it");
    await frame().getByLabel("Search event types").fill("user.upd");
    await until(async () => (await entries.count()) === 1, "the search keeps user.updated");
    await shot("05-catalogue");
    await frame().getByLabel("Search event types").fill("");
  });

  let attempts;
  await step("3. an event published for the organization shows in History; Re-send adds an attempt", async () => {
    const example = (await gw.api("GET", "/v1/event-types/profile.parsing.success", null, TOKEN, inOrg(org.id))).body.example;
    const published = await gw.api("POST", "/v1/events", example, TOKEN, inOrg(org.id));
    expect(published.status === 202, `published: ${published.status}`);
    await until(() => Promise.resolve(receiver.received.some((r) => r.verified && r.headers["webhook-id"] === published.body.id)), "the receiver got the event, verified");
    await nav("History").click();
    await frame().getByRole("heading", { name: "History" }).waitFor();
    // The Check and the delivery.
    await until(async () => (await rows("History").count()) === 2, async () => `two rows, got ${await rows("History").count()}`);
    await frame().getByLabel("Search").fill(published.body.id);
    await frame().getByRole("button", { name: "Search" }).click();
    await until(async () => (await rows("History").count()) === 1, "one row for the event");
    await shot("06-history");
    await rows("History").first().locator("td").nth(1).click();
    await dialog().getByRole("heading", { name: "Request" }).waitFor();
    const before = receiver.received.length;
    await dialog().getByRole("button", { name: "Re-send" }).click();
    await dialog().getByText("resend, attempt 1").waitFor();
    await shot("07-resent");
    await dialog().getByRole("button", { name: "Close", exact: true }).first().click();
    await until(async () => (await rows("History").count()) === 2, "the re-sent attempt is listed");
    await rows("History").filter({ hasText: "(resend)" }).waitFor();
    expect(receiver.received.length === before + 1 && receiver.received.at(-1).verified, "the receiver got the re-send, verified");
    attempts = (await gw.api("GET", "/v1/history", null, TOKEN, inOrg(org.id))).body.data;
    expect(attempts.some((a) => a.trigger === "resend"), "the API lists the re-send");
  });

  await step("opened in a tab (first party), the portal survives a reload; the secret is still gone", async () => {
    const tab = await context.newPage();
    const second = await mint(org.id, { expires_in: 900 });
    await tab.goto(second.url);
    await tab.getByRole("heading", { name: "Web hooks" }).waitFor();
    await tab.reload();
    await tab.getByRole("heading", { name: "Web hooks" }).waitFor();
    expect(!tab.url().includes("hrp_"), `tab URL ${tab.url()}`);
    await tab.close();
  });

  await step("7a. a link revoked while open: the next call shows that it was revoked", async () => {
    const r = await gw.api("DELETE", `/v1/portal/sessions/${link.id}`, null, TOKEN, inOrg(org.id));
    expect(r.status === 204, `revoked: ${r.status}`);
    await nav("Web hooks").click();
    await frame().getByRole("heading", { name: "This link has been revoked." }).waitFor();
    await frame().getByText("open the portal again from the product that showed it").waitFor();
    expect((await frame().getByLabel("Access token").count()) === 0, "no sign-in form");
    await shot("08-revoked");
    // Opened again, it says the same.
    await embed(link.url);
    await frame().getByRole("heading", { name: "This link has been revoked." }).waitFor();
  });

  await step("7b. an expired link says that it expired; an unknown one that it is not valid", async () => {
    const short = await mint(org.id, { expires_in: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    await embed(short.url);
    await frame().getByRole("heading", { name: "This link has expired." }).waitFor();
    await frame().getByText("open the portal again from the product that showed it").waitFor();
    expect(!portalFrame().url().includes("hrp_"), "the secret is gone from the address");
    await shot("09-expired");
    await embed(`${gw.base}/portal/#session=hrp_${"A".repeat(43)}`);
    await frame().getByRole("heading", { name: "This link is not valid." }).waitFor();
    await embed(`${gw.base}/portal/`);
    await frame().getByRole("heading", { name: "This link is not valid." }).waitFor();
    expect((await frame().getByLabel("Access token").count()) === 0, "no sign-in form");
  });

  await step("6. a page on an origin not listed cannot frame the portal", async () => {
    const fresh = await mint(org.id);
    await embed(fresh.url, stranger);
    await until(() => Promise.resolve(refusedFrames.some((t) => new RegExp(`"frame-ancestors [^"]*http://localhost:${hostPort}[^"]*"`).test(t))), () => `Chromium refuses the frame: ${refusedFrames.join("; ")}`);
    expect(!portalFrame(), `no frame shows the portal: ${page.frames().map((f) => f.url()).join(", ")}`);
    expect((await frame().getByRole("heading", { name: "Web hooks" }).count()) === 0, "the portal is not rendered");
    await shot("10-refused-stranger");
  });

  await step("9. the admin console refuses to be framed, even by the listed host", async () => {
    await embed(`${gw.base}/console/`);
    await until(() => Promise.resolve(refusedFrames.some((t) => t.includes(`"frame-ancestors 'none'"`))), () => `Chromium refuses the frame: ${refusedFrames.join("; ")}`);
    expect(!page.frames().some((f) => f.url().startsWith(`${gw.base}/console`)), `frames: ${page.frames().map((f) => f.url()).join(", ")}`);
    expect((await frame().getByLabel("Access token").count()) === 0, "the sign-in form is not rendered");
    const res = await fetch(`${gw.base}/console/`);
    expect(/frame-ancestors 'none'/.test(res.headers.get("content-security-policy") ?? ""), "the console keeps frame-ancestors 'none'");
    await shot("11-refused-console");
  });

  await step("8. an organization token without admin gets 403 minting; with admin, 201", async () => {
    const writer = await gw.api("POST", "/v1/tokens", { name: "Writer", scopes: ["webhooks:read", "webhooks:write", "history:read", "history:resend"] }, TOKEN, inOrg(org.id));
    expect(writer.status === 201, `token created: ${writer.status}`);
    const refused = await gw.api("POST", "/v1/portal/sessions", {}, writer.body.token);
    expect(refused.status === 403, `403 without admin, got ${refused.status} ${JSON.stringify(refused.body)}`);
    const admin = await gw.api("POST", "/v1/tokens", { name: "Acme admin", scopes: ["admin"] }, TOKEN, inOrg(org.id));
    const ok = await gw.api("POST", "/v1/portal/sessions", { scopes: ["webhooks:read", "history:read"] }, admin.body.token);
    expect(ok.status === 201, `201 with admin, got ${ok.status} ${JSON.stringify(ok.body)}`);
    // Read-only scopes: the portal shows no writes.
    await embed(ok.body.url);
    await frame().getByRole("link", { name: "Acme ATS" }).waitFor();
    expect((await frame().getByRole("button", { name: "Add a web hook" }).count()) === 0, "no Add a web hook");
    expect((await frame().getByRole("button", { name: /^Edit/ }).count()) === 0, "no Edit");
    await nav("History").click();
    await rows("History").first().waitFor();
    expect((await frame().getByRole("button", { name: /^Re-send/ }).count()) === 0, "no Re-send");
    await shot("12-read-only");
  });

  await step("10. branding: the display name, the logo (at most 40 px high) and the accent colour", async () => {
    // The logo is on https (the portal's CSP allows https: images); the test answers it.
    const logo = "https://acme.example/logo.svg";
    await context.route(logo, (route) =>
      route.fulfill({
        status: 200,
        contentType: "image/svg+xml",
        body: '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120"><rect width="240" height="120" fill="#0b7285"/></svg>',
      }),
    );
    const put = await gw.api("PUT", `/v1/organizations/${org.id}/branding`, { display_name: "Acme Recruiting", logo_url: logo, accent_color: "#0b7285" });
    expect(put.status === 200, `branding set: ${put.status} ${JSON.stringify(put.body)}`);
    await embed((await mint(org.id)).url);
    await frame().locator(".portal-top", { hasText: "Acme Recruiting" }).waitFor();
    const img = frame().locator(".portal-top img");
    await img.waitFor();
    await until(() => img.evaluate((i) => i.complete && i.naturalWidth > 0), "the logo loads");
    const box = await img.boundingBox();
    expect(box && box.height <= 40 && box.height > 0, `logo height ${box?.height}`);
    const accent = await portalFrame().evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--accent").trim());
    expect(accent === "#0b7285", `--accent ${accent}`);
    const bg = await frame().getByRole("button", { name: "Add a web hook" }).evaluate((b) => getComputedStyle(b).backgroundColor);
    expect(bg === "rgb(11, 114, 133)", `the primary button in the accent colour, got ${bg}`);
    expect((await portalFrame().title()).endsWith("· Acme Recruiting"), `title ${await portalFrame().title()}`);
    await shot("13-branded");
  });
}, pageErrors, async () => {
  await browser.close();
  gw.stop();
  receiver.server.close();
  host.server.close();
  stranger.server.close();
});
