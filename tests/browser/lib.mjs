// Shared helpers of the browser scenarios: Debian's Chromium driven by playwright-core, a
// console watch that fails the run on any error, screenshots, the tenant's test clock, and
// TOTP codes computed here (RFC 6238), not by the Worker.
//
// A scenario prints one JSON line on success ({"ok": true, …}) and exits 0; on failure it
// prints the error, the console errors and the page it was on, and exits 1.
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SHOTS = join(ROOT, "target", "screenshots");
export const PHONE = { width: 375, height: 740 };
export const DESKTOP = { width: 1280, height: 860 };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/// Console errors of every page, except the browser's own note that an API call was refused
/// with a status the page handles (the scenarios provoke 401, 403, 409 and 422 on purpose,
/// and Chromium logs each refused fetch as a console error). Anything else fails the run:
/// script errors, CSP violations, a missing asset, any 5xx.
export class Watch {
  constructor(base) {
    this.base = base;
    this.errors = [];
    this.tolerated = 0;
    this.allowed = [];
  }

  /// One page load the scenario expects to be refused (e.g. a technician opening /team).
  allowOnce(path, status) {
    this.allowed.push({ url: `${this.base}${path}`, status });
  }

  attach(page, label) {
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const url = message.location()?.url ?? "";
      const refused = /status of (401|403|409|422)\b/.test(message.text());
      if (refused && url.startsWith(`${this.base}/api/v1/`)) {
        this.tolerated += 1;
        return;
      }
      const allowed = this.allowed.findIndex(
        (a) => a.url === url && message.text().includes(`status of ${a.status}`),
      );
      if (allowed >= 0) {
        this.allowed.splice(allowed, 1);
        this.tolerated += 1;
        return;
      }
      this.errors.push(`${label}: ${message.text()} (${url})`);
    });
    page.on("pageerror", (error) => this.errors.push(`${label}: uncaught ${error.message}`));
    return page;
  }

  check() {
    if (this.errors.length) throw new Error(`console errors:\n${this.errors.join("\n")}`);
  }
}

export async function context(browser, watch, viewport, label) {
  const ctx = await browser.newContext({ viewport, locale: "en-GB" });
  const page = watch.attach(await ctx.newPage(), label);
  page.setDefaultTimeout(15_000);
  return { ctx, page };
}

/// `target/screenshots/<name>-<width>.png`, full page.
export async function shoot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const width = page.viewportSize().width;
  await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
}

/// The same page at phone and desktop width (the viewport is restored afterwards).
export async function shootBoth(page, name) {
  const before = page.viewportSize();
  for (const viewport of [PHONE, DESKTOP]) {
    await page.setViewportSize(viewport);
    await shoot(page, name);
  }
  await page.setViewportSize(before);
}

/// axe-core's WCAG 2.x A/AA rules on the page as it is now. It is evaluated through the
/// DevTools protocol, which the page's Content-Security-Policy does not govern (an injected
/// <script> would be refused, as it should be). Returns the violations, each with its rule,
/// impact, help text and the first few elements it names.
let axeSource = null;
export async function audit(page) {
  axeSource ??= readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  return result.violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}

/// The Worker's test clock, moved through the operator endpoint (not in production).
export class Clock {
  constructor(base, opsToken) {
    this.base = base;
    this.opsToken = opsToken;
    this.offsetMs = 0;
  }

  async advance(ms) {
    const response = await fetch(`${this.base}/ops/clock`, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.opsToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ advance_ms: ms }),
    });
    if (!response.ok) throw new Error(`ops/clock: ${response.status} ${await response.text()}`);
    this.offsetMs += ms;
  }

  /// A TOTP code for the Worker's now, in a 30 s step not used before (moves the clock on).
  async freshCode(secret) {
    await this.advance(30_000);
    return totp(secret, (Date.now() + this.offsetMs) / 1000);
  }
}

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

export function totp(secret, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const digest = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = digest[19] & 0x0f;
  const code = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, "0");
}

export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/// Waits until the page is at `path` (pathname + search) on the tenant.
export async function at(page, base, path) {
  await page.waitForURL((url) => url.href === `${base}${path}`, { timeout: 15_000 });
}

/// Runs a scenario: prints its JSON result, or the failure and exits 1.
export async function run(scenario) {
  const watch = new Watch(process.argv[2]);
  const browser = await launch();
  const state = { page: null };
  try {
    const result = await scenario({ browser, watch, state });
    watch.check();
    console.log(JSON.stringify({ ok: true, tolerated_api_refusals: watch.tolerated, ...result }));
    await browser.close();
  } catch (error) {
    console.error(`FAILED: ${error.stack ?? error}`);
    if (watch.errors.length) console.error(`console errors:\n${watch.errors.join("\n")}`);
    if (state.page) {
      try {
        console.error(`on ${state.page.url()}`);
        const scenario = process.argv[1].split("/").pop().replace(/\.mjs$/, "");
        await shoot(state.page, `failure-${scenario}`);
      } catch {}
    }
    await browser.close().catch(() => {});
    process.exit(1);
  }
}
