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

/** Collects the page's Content-Security-Policy violations and uncaught
 * errors; `expected(text)` claims a violation the test provokes on purpose. */
export function faults(page, expected = () => false) {
  const found = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text()) && !expected(m.text())) found.push(m.text());
  });
  page.on("pageerror", (e) => found.push(`page error: ${e.message}`));
  return found;
}

/** Named steps: each prints `ok` or `FAIL`; a failing one is screenshot with
 * `shot("FAILED-<name>")` and stops the run. `prefix` is what `shot` puts
 * before its names: old `<prefix>FAILED-` files go. `run` runs the steps,
 * then a last one that `found` (from `faults`) stayed empty, then `cleanup`,
 * and exits with the summary. */
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
  async function run(title, steps, found, cleanup) {
    try {
      await steps();
      await step("no Content-Security-Policy violation or page error", async () => expect(found.length === 0, found.join("; ")));
    } catch {
      // Reported by step(); the summary below says how many passed.
    } finally {
      await cleanup();
    }
    console.log(`${title}: ${counts.passed} passed, ${counts.failed} failed`);
    process.exit(counts.failed ? 1 : 0);
  }
  return { step, run };
}
