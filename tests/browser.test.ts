/**
 * A real browser walks the demo app: Debian's headless Chromium, driven by
 * playwright-core, against examples/demo.ts started as its own process on the
 * runtime running the tests.
 *
 * playwright-core drives Chromium from all three runtimes (Bun 1.4, Deno 2.9,
 * Node 24 measured), so the test runs on each. When /usr/bin/chromium is
 * missing (`apt-get install chromium`) it is skipped with the reason in its
 * name, except under CI (env CI set), where that is a failure.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { runtime, startExample } from "./example-server.ts";

/** Debian's Chromium; env SATCHEL_CHROMIUM points elsewhere (used to check the skip path). */
const CHROMIUM = process.env.SATCHEL_CHROMIUM || "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

function skipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) return undefined; // fail below: CI must have the browser
    return `${CHROMIUM} is missing (install it: apt-get install chromium)`;
  }
  return undefined;
}

const reason = skipReason();
const name =
  `Chromium walks examples/demo.ts: counter across loads, flash once, HttpOnly cookie, logout resets, devices page signs out another browser (${runtime})`;

test(
  reason === undefined ? name : `${name} [skipped: ${reason}]`,
  { skip: reason ?? false, timeout: 120_000 },
  async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing and CI is set: install it (apt-get install chromium)`);
    const { chromium } = await import("playwright-core");
    const app = await startExample("demo.ts");
    const profile = mkdtempSync(join(tmpdir(), "satchel-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      timeout: 60_000,
    });
    // A second, separate browser for the "other device".
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
    try {
      const page = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(15_000);
      const visits = async () => (await page.locator("#visits").textContent())?.trim();
      const sessionCookie = async () => (await context.cookies(app.origin)).find((c) => c.name === "sid");

      // The counter increments across page loads.
      await page.goto(app.origin + "/");
      assert.equal(await visits(), "Visits this session: 1");
      await page.reload();
      assert.equal(await visits(), "Visits this session: 2");
      await page.goto(app.origin + "/");
      assert.equal(await visits(), "Visits this session: 3");
      assert.equal(await page.locator("#flash").count(), 0);

      // The session cookie is HttpOnly: the browser has it, scripts do not see it.
      const anonymous = await sessionCookie();
      assert.ok(anonymous !== undefined, "the browser keeps the session cookie");
      assert.equal(anonymous.httpOnly, true);
      assert.equal(anonymous.sameSite, "Lax");
      assert.equal(anonymous.path, "/");
      assert.equal(await page.evaluate("document.cookie"), "");

      // Login: the flash shows exactly once, the id changes, the count goes on.
      await page.fill('input[name="user"]', "Ada");
      await Promise.all([page.waitForURL(app.origin + "/"), page.click('button[type="submit"]')]);
      assert.equal((await page.locator("#flash").textContent())?.trim(), "Welcome, Ada!");
      assert.equal((await page.locator("#user").textContent())?.trim(), "Signed in as Ada.");
      assert.equal(await visits(), "Visits this session: 4");
      const loggedIn = await sessionCookie();
      assert.ok(loggedIn !== undefined && loggedIn.value !== anonymous.value, "login regenerates the session id");
      assert.equal(loggedIn.httpOnly, true);
      assert.equal(await page.evaluate("document.cookie"), "");

      await page.reload();
      assert.equal(await page.locator("#flash").count(), 0, "the flash is gone on the next load");
      assert.equal((await page.locator("#user").textContent())?.trim(), "Signed in as Ada.");
      assert.equal(await visits(), "Visits this session: 5");

      // Logout resets: a fresh session with its own flash, the counter from 1, the login form back.
      await Promise.all([page.waitForURL(app.origin + "/"), page.click('button:has-text("Sign out")')]);
      assert.equal((await page.locator("#flash").textContent())?.trim(), "You are signed out.");
      assert.equal(await visits(), "Visits this session: 1");
      assert.equal(await page.locator("#user").count(), 0);
      assert.equal(await page.locator('input[name="user"]').count(), 1);
      const afterLogout = await sessionCookie();
      assert.ok(afterLogout !== undefined && afterLogout.value !== loggedIn.value);
      await page.reload();
      assert.equal(await page.locator("#flash").count(), 0);
      assert.equal(await visits(), "Visits this session: 2");

      // The devices page: Ada signs in here and on a second browser, then signs the other one out.
      await page.fill('input[name="user"]', "Ada");
      await Promise.all([page.waitForURL(app.origin + "/"), page.click('button[type="submit"]')]);
      const other = await browser.newContext({ userAgent: "Second device" });
      try {
        const phone = await other.newPage();
        phone.setDefaultTimeout(15_000);
        await phone.goto(app.origin + "/");
        await phone.fill('input[name="user"]', "Ada");
        await Promise.all([phone.waitForURL(app.origin + "/"), phone.click('button[type="submit"]')]);
        assert.equal((await phone.locator("#user").textContent())?.trim(), "Signed in as Ada.");

        await Promise.all([page.waitForURL(app.origin + "/devices"), page.click("#devices-link")]);
        assert.equal(await page.locator("tr.device").count(), 2);
        assert.equal(await page.locator("tr.device.current").count(), 1);
        assert.equal((await page.locator("tr.device:not(.current) td").first().textContent())?.trim(), "Second device");
        await Promise.all([
          page.waitForURL(app.origin + "/devices"),
          page.click('tr.device:not(.current) button:has-text("Sign out")'),
        ]);
        assert.equal((await page.locator("#flash").textContent())?.trim(), "That device is signed out.");
        assert.equal(await page.locator("tr.device").count(), 1);

        await phone.reload();
        assert.equal(await phone.locator("#user").count(), 0, "the other device is signed out");
        await page.goto(app.origin + "/");
        assert.equal((await page.locator("#user").textContent())?.trim(), "Signed in as Ada.", "this one is not");
      } finally {
        await other.close();
      }
    } finally {
      await browser.close();
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      assert.ok(await app.stop(), `no clean shutdown:\n${app.output()}`);
    }
  },
);
