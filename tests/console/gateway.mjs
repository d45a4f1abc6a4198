// The real `hookrelay serve` on a fresh SQLite file, as tests/it/process.rs
// starts it, and a small API client for the test's own checks.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TOKEN = "hr_console_test_bootstrap_token_0123456789";

/** A port free on loopback now. */
export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Starts it; its log goes to `logFile`. `extraEnv(base)` adds settings
 * that name its own address (`HOOKRELAY_PUBLIC_URL`). */
export async function startGateway(bin, logFile, extraEnv = () => ({})) {
  const dir = mkdtempSync(join(tmpdir(), "hookrelay-console-"));
  const port = await freePort();
  const env = {
    ...process.env,
    HOOKRELAY_BIND: `127.0.0.1:${port}`,
    DATABASE_URL: `sqlite://${join(dir, "hookrelay.db")}`,
    HOOKRELAY_BOOTSTRAP_TOKEN: TOKEN,
    // The receiver is on loopback.
    HOOKRELAY_ALLOW_PRIVATE_TARGETS: "true",
    HOOKRELAY_POLL_INTERVAL_MS: "50",
    RUST_LOG: "warn",
    ...extraEnv(`http://127.0.0.1:${port}`),
  };
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", "ignore", openSync(logFile, "w")] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error("hookrelay did not become ready");
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = async (method, path, body, token = TOKEN, headers = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  /** `hookrelay token create` against the same database. */
  const cliToken = (name, scope) =>
    spawnSync(bin, ["token", "create", "--name", name, "--scope", scope], { env, encoding: "utf8" }).stdout.trim();
  return { base, api, cliToken, stop: () => child.kill("SIGTERM") };
}
