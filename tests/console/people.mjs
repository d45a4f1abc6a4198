// End-to-end test of the console's integrations, people, import and
// organization pages (issue 17) in headless Chromium, against the real
// hookrelay binary, a fake third-party API on loopback (fake-api.mjs) and
// a receiver that verifies signatures. Screenshots: target/console-screenshots/p-*.png.
//
//   node tests/console/people.mjs [path/to/hookrelay]
import { join } from "node:path";
import { startFakeApi, OAUTH_TOKEN } from "./fake-api.mjs";
import { startGateway, TOKEN } from "./gateway.mjs";
import { bin, expect, faults, launch, shots, stepper, until as poll } from "./harness.mjs";
import { startReceiver } from "./receiver.mjs";

const API_KEY = "sk-live-very-secret-4b1d2e";
const until = (check, what) => poll(check, what, 15000);

const gw = await startGateway(bin, join(shots, "p-hookrelay.log"));
const receiver = await startReceiver();
const fake = await startFakeApi();
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const pageErrors = faults(page);
const shot = (name) => page.screenshot({ path: join(shots, `p-${name}.png`), fullPage: true });
const nav = (name) => page.getByRole("navigation").getByRole("link", { name, exact: true });
const dialog = () => page.locator("dialog[open]");
const rows = (caption) => page.locator(`table:has(caption:text-is("${caption}")) tbody tr`);
const fakeUrl = (path) => `${fake.base}${path}`;

const { step, run } = stepper("p-", shot);

async function signIn(token) {
  await page.goto(`${gw.base}/console/`);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** The accounts manifest; `interval` 0 is invalid (0 < interval ≤ 3600). */
const accountsManifest = (interval) => ({
  initial_data_form: [{ id: "API_KEY", name: "API key", description: "Settings → API" }],
  form: [{ id: "TEAM", name: "Team", type: "choice", url: fakeUrl("/teams"), method: "GET", data_from: "teams" }],
  execute: [
    { url: fakeUrl("/teams"), method: "GET", headers: { Authorization: "Bearer {{ API_KEY }}" } },
    {
      url: fakeUrl("/accounts"),
      method: "POST",
      headers: { Authorization: "Bearer {{ API_KEY }}" },
      data: { email: "{{ email }}", team: "{{ TEAM }}" },
      continue_if: { response_notation: "created", value: "{{ email }}" },
      polling: { interval, amount: 2 },
    },
  ],
  exists: { url: fakeUrl("/exists"), method: "GET", headers: { Authorization: "Bearer {{ API_KEY }}" }, expected: "{{ email }}" },
  revoke: [{ url: fakeUrl("/accounts/{{ email }}"), method: "DELETE", headers: { Authorization: "Bearer {{ API_KEY }}" }, status_code: ["204"] }],
});

let accountsId;
let personId;
await run("console (integrations and people)", async () => {
  await step("sign in; Integrations is empty and says what to do", async () => {
    await signIn(TOKEN);
    await nav("Integrations").click();
    await page.getByText("No integrations yet.").waitFor();
    await shot("01-integrations-empty");
  });

  await step("a broken manifest shows its problem at its path; fixed, it saves", async () => {
    await page.getByRole("button", { name: "Add an integration" }).click();
    const d = dialog();
    await d.getByLabel("Name", { exact: true }).fill("Accounts");
    await d.getByLabel("Manifest (JSON)").fill(JSON.stringify(accountsManifest(0), null, 2));
    await d.getByRole("button", { name: "Save" }).click();
    const problem = d.locator(".problem", { has: page.locator(".problem-path", { hasText: "execute[1].polling.interval" }) });
    await problem.waitFor();
    const text = JSON.stringify(accountsManifest(0), null, 2);
    const line = text.split("\n").findIndex((l) => l.includes('"interval"')) + 1;
    expect((await problem.textContent()).includes(`line ${line}`), `the problem names line ${line} of the editor`);
    await problem.getByRole("button", { name: `line ${line}` }).click();
    const selected = await d.getByLabel("Manifest (JSON)").evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd));
    expect(selected.includes('"interval": 0'), `the line is selected in the editor, got ${selected}`);
    await shot("02-manifest-problem");
    await d.getByLabel("Manifest (JSON)").fill(JSON.stringify(accountsManifest(0.2), null, 2));
    await d.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: "Accounts", level: 1 }).waitFor();
    accountsId = page.url().split("/integrations/")[1];
    await page.locator(".badge", { hasText: "needs config" }).first().waitFor();
  });

  await step("the configuration is saved and its value never shown back", async () => {
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Save configuration" }).click();
    await page.getByText("Saved. The values are stored sealed").waitFor();
    await page.locator("strong.set").waitFor();
    expect(!(await page.content()).includes(API_KEY), "the secret is not in the page");
    await page.reload();
    await page.locator("strong.set").waitFor();
    expect((await page.getByLabel("API key").inputValue()) === "", "the field is empty after a reload");
    expect(!(await page.content()).includes(API_KEY), "the secret is not in the page after a reload");
    await page.locator(".badge", { hasText: "connected" }).first().waitFor();
    await shot("03-integration-configured");
  });

  await step("People: add a person, edit them", async () => {
    await nav("People").click();
    await page.getByText("No people yet.").waitFor();
    await page.getByRole("button", { name: "Add a person" }).click();
    const d = dialog();
    await d.getByLabel("First name").fill("Grace");
    await d.getByLabel("Last name").fill("Hopper");
    await d.getByLabel("Email").fill("not-an-email");
    await d.getByRole("button", { name: "Save" }).click();
    await d.locator(".field-error", { hasText: "not an email" }).waitFor();
    await d.getByLabel("Email").fill("grace@example.com");
    await d.getByLabel("Position").fill("Engineer");
    await d.getByLabel("Start date").fill("2026-12-01");
    await shot("04-person-add");
    await d.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: "Grace Hopper" }).waitFor();
    personId = page.url().split("/people/")[1];
    await page.getByRole("button", { name: "Edit" }).click();
    await dialog().getByLabel("Department").fill("Compilers");
    await dialog().getByRole("button", { name: "Save" }).click();
    await page.getByRole("cell", { name: "Compilers" }).waitFor();
    await nav("People").click();
    await rows("People").first().waitFor();
    await page.getByLabel("Search people").fill("zzz");
    await page.getByText("No one matches.").waitFor();
    await page.getByLabel("Search people").fill("hopper");
    await until(async () => (await rows("People").count()) === 1, "one match");
    await shot("05-people");
  });

  await step("Run for… a person with a form option fetched live; the step log is masked", async () => {
    await page.goto(`${gw.base}/console/#/integrations/${accountsId}`);
    await page.getByLabel("Person").selectOption({ label: "Grace Hopper (grace@example.com)" });
    await page.getByLabel("Team").selectOption({ label: "Red team" });
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.locator(".notice .badge", { hasText: "succeeded" }).waitFor();
    const sent = fake.requests.find((r) => r.path === "/accounts" && r.method === "POST");
    expect(sent?.headers.authorization === `Bearer ${API_KEY}`, "the fake got the configured key");
    expect(JSON.parse(sent.body).team === "t-red", `the chosen team was sent: ${sent?.body}`);
    const execRow = page.locator("table:has(caption:text-is('Runs')) tbody tr", { hasText: "execute" }).first();
    await execRow.getByRole("button", { name: "Steps" }).click();
    await page.locator(".step-log summary").first().click();
    await page.locator(".step-log").getByText("Bearer ***API_KEY***").first().waitFor();
    expect(!(await page.content()).includes(API_KEY), "no secret in the page's HTML");
    await shot("06-run-step-log");
    await execRow.getByRole("button", { name: "Re-run" }).click();
    await until(async () => (await page.locator("table:has(caption:text-is('Runs')) tbody tr", { hasText: "rerun" }).count()) === 1, "a re-run listed");
  });

  await step("access: has access, Revoke, then no access", async () => {
    await page.goto(`${gw.base}/console/#/people/${personId}`);
    const row = page.locator("table:has(caption:text-is('Access')) tbody tr", { hasText: "Accounts" });
    await row.locator(".badge", { hasText: "has access" }).waitFor();
    await shot("07-person-access");
    await row.getByRole("button", { name: "Revoke Accounts" }).click();
    await dialog().getByRole("button", { name: "Revoke" }).click();
    await row.locator(".badge", { hasText: "no access" }).waitFor();
    expect(!fake.accounts.has("grace@example.com"), "the fake's account was deleted");
    expect(fake.requests.some((r) => r.method === "DELETE" && r.path === "/accounts/grace@example.com"), "a DELETE reached the fake");
  });

  await step("Connect an OAuth manifest through the provider; Connected", async () => {
    const created = await gw.api("POST", "/v1/integrations", {
      name: "Calendar",
      kind: "webhook",
      manifest: {
        oauth: {
          authenticate_url: fakeUrl("/authorize?client_id={{ CLIENT_ID }}&redirect_uri={{ redirect_url|urlencode }}"),
          access_token: { url: fakeUrl("/token"), method: "POST", data: { client_secret: "{{ CLIENT_SECRET }}" } },
        },
        initial_data_form: [
          { id: "CLIENT_ID", name: "Client id", description: "d" },
          { id: "CLIENT_SECRET", name: "Client secret", description: "d" },
        ],
        execute: [{ url: fakeUrl("/calendar"), method: "POST", headers: { Authorization: "Bearer {{ oauth.access_token }}" }, data: { who: "{{ email }}" } }],
      },
    });
    expect(created.status === 201, JSON.stringify(created.body));
    const id = created.body.id;
    await gw.api("PUT", `/v1/integrations/${id}/config`, { values: { CLIENT_ID: "cid", CLIENT_SECRET: "csecret-123" } });
    await page.goto(`${gw.base}/console/#/integrations/${id}`);
    await page.locator(".badge", { hasText: "needs OAuth" }).waitFor();
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByRole("heading", { name: "Connected" }).waitFor();
    await shot("08-oauth-callback");
    await page.getByRole("link", { name: "Back to the integration in the console" }).click();
    await page.getByRole("heading", { name: "Calendar" }).waitFor();
    await page.locator(".lede strong", { hasText: "Connected" }).waitFor();
    await page.getByLabel("Person").selectOption({ label: "Grace Hopper (grace@example.com)" });
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.locator(".notice .badge", { hasText: "succeeded" }).waitFor();
    const execRow = page.locator("table:has(caption:text-is('Runs')) tbody tr", { hasText: "execute" }).first();
    await execRow.getByRole("button", { name: "Steps" }).click();
    await page.locator(".step-log summary").first().click();
    await page.locator(".step-log").getByText("***oauth.access_token***").first().waitFor();
    const html = await page.content();
    expect(!html.includes(OAUTH_TOKEN) && !html.includes("csecret-123"), "no OAuth token or client secret in the page");
    expect(fake.requests.some((r) => r.path === "/calendar" && r.headers.authorization === `Bearer ${OAUTH_TOKEN}`), "the fake got the token");
    await shot("09-oauth-run");
  });

  await step("import: preview 3 pages, pick 2, import them; People and History show exactly those", async () => {
    const hook = await gw.api("POST", "/v1/webhooks", { name: "People feed", url: receiver.url, event_types: ["user.updated"], format: "json" });
    expect(hook.status === 201, JSON.stringify(hook.body));
    receiver.secret = (await gw.api("GET", `/v1/webhooks/${hook.body.id}/secret`)).body.secret;
    const hr = await gw.api("POST", "/v1/integrations", {
      name: "HR system",
      kind: "sync_users",
      manifest: {
        execute: [{ url: fakeUrl("/people?page=1"), method: "GET" }],
        data_from: "users",
        next_page_from: "next",
        data_structure: { email: "mail", first_name: "first", last_name: "last" },
        schedule: "0 3 * * *",
      },
    });
    expect(hr.status === 201, JSON.stringify(hr.body));
    await nav("Integrations").click();
    await rows("Integrations").filter({ hasText: "HR system" }).getByRole("link").click();
    await page.getByRole("link", { name: "Import people" }).click();
    await page.getByText("Scheduled: next sync").waitFor();
    await page.getByText("No sync has run yet.").waitFor();
    const before = fake.requests.filter((r) => r.path === "/people").length;
    await page.getByRole("button", { name: "Preview" }).click();
    await until(async () => (await rows("Candidates").count()) === 6, "6 candidates from 3 pages");
    await rows("Candidates").filter({ hasText: "grace@example.com" }).locator(".badge", { hasText: "skipped" }).waitFor();
    await page.getByText("5 new, 0 to update, 1 skipped").waitFor();
    expect(fake.requests.filter((r) => r.path === "/people").length - before === 3, "3 pages fetched");
    const people = await gw.api("GET", "/v1/users?limit=500");
    expect(people.body.data.length === 1, "the preview wrote no user");
    await page.getByRole("checkbox", { name: "Select ada@example.com" }).check();
    await page.getByRole("checkbox", { name: "Select dee@example.com" }).check();
    await shot("10-import-preview");
    await page.getByRole("button", { name: "Import selected (2)" }).click();
    await page.getByText("only 2 picked").waitFor();
    // The last sync's line says how many records the HR system answered.
    await until(async () => /Last sync[\s\S]*\d+ records/.test(await page.locator("main").textContent()), "the last sync's record count");
    await shot("11-import-done");
    await nav("People").click();
    await until(async () => (await rows("People").count()) === 3, "Grace and the 2 imported");
    const text = await page.locator("table:has(caption:text-is('People'))").textContent();
    expect(text.includes("ada@example.com") && text.includes("dee@example.com"), "both picked people listed");
    expect(!/bob@|cy@|eve@/.test(text), "no one else imported");
    await nav("History").click();
    await until(async () => (await rows("History").filter({ hasText: "user.updated" }).count()) === 2, "2 user.updated deliveries");
    await until(async () => receiver.received.filter((r) => r.verified).length === 2, "the receiver verified 2");
    await shot("12-history-user-updated");
  });

  await step("Organization: rename publishes organization.updated", async () => {
    await nav("Organization").click();
    await page.getByLabel("Name").fill("Acme Onboarding");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor();
    const events = await gw.api("GET", "/v1/events?limit=10");
    expect(events.body.data.some((e) => e.type === "organization.updated"), "an organization.updated event");
    await shot("13-organization");
  });

  await step("a token that can only run sees no writes; one without the scope is told so", async () => {
    const token = async (name, scope) => (await gw.api("POST", "/v1/tokens", { name, scopes: [scope] })).body.token;
    const runner = await token("Runner", "integrations:run");
    const reader = await token("Reader", "webhooks:read");
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(runner);
    await nav("Integrations").click();
    await rows("Integrations").first().waitFor();
    expect((await page.getByRole("button", { name: "Add an integration" }).count()) === 0, "no Add an integration");
    await nav("People").click();
    await rows("People").first().waitFor();
    expect((await page.getByRole("button", { name: "Add a person" }).count()) === 0, "no Add a person");
    await page.goto(`${gw.base}/console/#/integrations/${accountsId}`);
    await page.getByRole("heading", { name: "Configuration" }).waitFor();
    expect((await page.getByRole("button", { name: "Save configuration" }).count()) === 0, "no Save configuration");
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(reader);
    expect((await nav("Integrations").count()) === 0, "no Integrations in the side bar");
    await page.goto(`${gw.base}/console/#/people`);
    await page.getByText("Your token does not allow this").waitFor();
    await shot("14-forbidden");
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(TOKEN);
  });

  await step("dark mode renders the integration page", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${gw.base}/console/#/integrations/${accountsId}`);
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg !== "rgb(245, 247, 250)", `a dark background, got ${bg}`);
    await shot("15-integration-dark");
    await page.emulateMedia({ colorScheme: "light" });
  });
}, pageErrors, async () => {
  await browser.close();
  gw.stop();
  receiver.server.close();
  fake.server.close();
});
