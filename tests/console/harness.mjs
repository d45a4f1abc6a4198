// What the console's browser tests share (run.mjs, people.mjs, portal.mjs):
// the binary and screenshot paths, headless Chromium (Debian's `chromium`,
// driven by playwright-core), named steps that take a screenshot when they
// fail, and polling.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// playwright-core is a dev dependency of the console (console/package.json).
const { chromium } = createRequire(join(root, "console/package.json"))("playwright-core");
/** The binary under test: the first argument, else the debug build. */
export const bin = process.argv[2] ?? join(root, "target/debug/hookrelay");
/** Screenshots and the server's log. */
export const shots = join(root, "target/console-screenshots");
mkdirSync(shots, { recursive: true });

export const expect = (ok, what) => {
  if (!ok) throw new Error(`expected: ${what}`);
};

/** Polls `check` (lists reload asynchronously after a click) until it answers true, for up to `ms`. */
export async function until(check, what, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await check().catch(() => false)) === true) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected: ${typeof what === "function" ? await what() : what}`);
}

/** Headless Chromium with `args` added to the usual ones. */
export const launch = (args = []) =>
  chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", ...args],
  });

/** Named steps: each prints `ok` or `FAIL`; a failing one is screenshot with
 * `shot("FAILED-<name>")` and stops the run (the caller's catch). `prefix`
 * is what `shot` puts before its names: old `<prefix>FAILED-` files go. */
export function stepper(prefix, shot) {
  for (const f of readdirSync(shots)) if (f.startsWith(`${prefix}FAILED-`)) rmSync(join(shots, f));
  const counts = { passed: 0, failed: 0 };
  async function step(name, fn) {
    try {
      await fn();
      counts.passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      counts.failed++;
      console.log(`FAIL ${name}: ${e.stack ?? e.message}`);
      await shot(`FAILED-${name.replace(/\W+/g, "-")}`).catch(() => {});
      throw e;
    }
  }
  return { step, counts };
}
