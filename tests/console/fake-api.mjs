// A fake third-party API on loopback for the integrations tests: an
// accounts service (teams for a form, accounts, exists, revoke), an OAuth
// provider (authorize redirects straight back; token answers a token) and
// an HR system whose people come in 3 pages. It records every request.
import { createServer } from "node:http";

export const OAUTH_TOKEN = "fake-oauth-access-token-7f3a9c";

/** The HR system's people, by page. */
export const HR_PAGES = [
  [
    { mail: "ada@example.com", first: "Ada", last: "Lovelace" },
    { mail: "bob@example.com", first: "Bob", last: "Babbage" },
  ],
  [
    { mail: "cy@example.com", first: "Cy", last: "Clarke" },
    { mail: "dee@example.com", first: "Dee", last: "Diaz" },
  ],
  [
    { mail: "eve@example.com", first: "Eve", last: "Evans" },
    // Already a person (added in the test): skipped, with the reason.
    { mail: "grace@example.com", first: "Grace", last: "Hopper" },
  ],
];

export function startFakeApi() {
  const f = { base: null, requests: [], accounts: new Set(), server: null };
  f.server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url, f.base);
      f.requests.push({ method: req.method, path: url.pathname, query: url.search, headers: req.headers, body });
      const json = (status, v) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(v));
      };
      const p = url.pathname;
      if (p === "/teams") return json(200, { teams: [{ id: "t-blue", name: "Blue team" }, { id: "t-red", name: "Red team" }] });
      if (p === "/accounts" && req.method === "POST") {
        const { email } = JSON.parse(body || "{}");
        if (email) f.accounts.add(email);
        return json(201, { created: email });
      }
      if (p === "/exists") return json(200, { accounts: [...f.accounts] });
      if (p.startsWith("/accounts/") && req.method === "DELETE") {
        f.accounts.delete(decodeURIComponent(p.slice("/accounts/".length)));
        res.writeHead(204);
        return res.end();
      }
      // OAuth: the "consent screen" sends the browser straight back.
      if (p === "/authorize") {
        const back = new URL(url.searchParams.get("redirect_uri"));
        back.searchParams.set("code", "fake-code-1");
        back.searchParams.set("state", url.searchParams.get("state"));
        res.writeHead(302, { Location: back.toString() });
        return res.end();
      }
      if (p === "/token") return json(200, { access_token: OAUTH_TOKEN, refresh_token: "fake-refresh", expires_in: 3600 });
      if (p === "/calendar") return json(200, { ok: true });
      if (p === "/people") {
        const n = Number(url.searchParams.get("page") ?? "1");
        const next = n < HR_PAGES.length ? `${f.base}/people?page=${n + 1}` : null;
        return json(200, { users: HR_PAGES[n - 1] ?? [], next });
      }
      json(404, { error: "no such fake route" });
    });
  });
  return new Promise((resolve) =>
    f.server.listen(0, "127.0.0.1", () => {
      f.base = `http://127.0.0.1:${f.server.address().port}`;
      resolve(f);
    }),
  );
}
