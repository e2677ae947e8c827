/**
 * Smoke tests of examples/: each example starts as its own OS process on the
 * runtime running these tests, on a free loopback port, and its flow is walked
 * over real HTTP.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { HttpJar, runtime, startExample } from "./example-server.ts";

const TIMEOUT = { timeout: 60_000 };

function between(body: string, id: string): string | undefined {
  const m = new RegExp(`<p[^>]*id="${id}"[^>]*>(.*?)</p>`, "s").exec(body);
  return m?.[1]?.replace(/<[^>]+>/g, "");
}

test(
  `examples/demo.ts counts visits, flashes once, keeps a regenerated session on login and resets on logout (${runtime})`,
  TIMEOUT,
  async () => {
    const app = await startExample("demo.ts");
    try {
      const a = new HttpJar(app.origin);
      const first = await a.fetch("/");
      assert.equal(first.status, 200);
      assert.match(first.headers.get("content-type") ?? "", /^text\/html/);
      const body1 = await first.text();
      assert.equal(between(body1, "visits"), "Visits this session: 1");
      assert.equal(between(body1, "flash"), undefined);
      assert.match(body1, /action="\/login"/);
      assert.equal(a.lastSetCookie.length, 1);
      assert.match(a.lastSetCookie[0]!, /^sid=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
      const anonymousToken = a.cookies.get("sid");

      // No store option: the default SQLite file sits in the child's OS temp dir.
      const dir = join(app.tmp, `satchel-${process.getuid?.() ?? ""}`);
      const db = join(dir, "demo.sqlite");
      assert.ok(existsSync(db), `expected ${db}: ${app.output()}`);
      assert.equal(statSync(db).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700, "the per-user directory is private");

      assert.equal(between(await a.text("/"), "visits"), "Visits this session: 2");

      // A cross-site form post is refused before it reaches the session.
      const forged = await a.fetch("/login", {
        method: "POST",
        headers: { origin: "http://evil.example", "content-type": "application/x-www-form-urlencoded" },
        body: "user=mallory",
      });
      assert.equal(forged.status, 403);
      assert.equal(a.cookies.get("sid"), anonymousToken);

      const login = await a.postForm("/login", { user: "Ada <b>" });
      assert.equal(login.status, 303);
      assert.equal(login.headers.get("location"), "/");
      const loggedInToken = a.cookies.get("sid");
      assert.ok(
        loggedInToken !== undefined && loggedInToken !== anonymousToken,
        "login must regenerate the session id",
      );

      const afterLogin = await a.text("/");
      assert.equal(between(afterLogin, "flash"), "Welcome, Ada &lt;b&gt;!");
      assert.equal(between(afterLogin, "user"), "Signed in as Ada &lt;b&gt;.");
      assert.equal(between(afterLogin, "visits"), "Visits this session: 3", "regenerate() keeps the data");

      const again = await a.text("/");
      assert.equal(between(again, "flash"), undefined, "a flash is shown exactly once");
      assert.equal(between(again, "visits"), "Visits this session: 4");

      // The pre-login token no longer opens the session (the old row was deleted).
      const fixation = new HttpJar(app.origin);
      fixation.cookies.set("sid", anonymousToken!);
      const fixed = await fixation.text("/");
      assert.equal(between(fixed, "user"), undefined);
      assert.equal(between(fixed, "visits"), "Visits this session: 1");

      const logout = await a.postForm("/logout");
      assert.equal(logout.status, 303);
      assert.notEqual(a.cookies.get("sid"), loggedInToken);
      const afterLogout = await a.text("/");
      assert.equal(between(afterLogout, "flash"), "You are signed out.");
      assert.equal(between(afterLogout, "visits"), "Visits this session: 1");
      assert.match(afterLogout, /action="\/login"/);

      // The logged-in token is dead too.
      const stale = new HttpJar(app.origin);
      stale.cookies.set("sid", loggedInToken!);
      assert.equal(between(await stale.text("/"), "user"), undefined);

      assert.equal((await a.postForm("/login", { user: "" })).status, 400);
    } finally {
      assert.ok(await app.stop(), `no clean shutdown:\n${app.output()}`);
    }
  },
);

test(`examples/counter.ts counts per client and keeps clients apart (${runtime})`, TIMEOUT, async () => {
  const app = await startExample("counter.ts");
  try {
    const a = new HttpJar(app.origin);
    const b = new HttpJar(app.origin);
    assert.equal(await a.text("/"), "count: 1\n");
    assert.equal(await a.text("/"), "count: 2\n");
    assert.equal(await b.text("/"), "count: 1\n");
    assert.equal(await a.text("/"), "count: 3\n");
    // Concurrent increments of one session are all kept (atomic update at commit).
    const texts = await Promise.all(Array.from({ length: 8 }, () => a.text("/")));
    assert.equal(texts.length, 8);
    assert.equal(await a.text("/"), "count: 12\n");
    // A forged token is a fresh session, never an error.
    const forged = new HttpJar(app.origin);
    forged.cookies.set("sid", "forged.value");
    assert.equal(await forged.text("/"), "count: 1\n");
  } finally {
    assert.ok(await app.stop(), `no clean shutdown:\n${app.output()}`);
  }
});

test(
  `examples/login.ts signs out other devices on a password change and every device with /logout-everywhere (${runtime})`,
  TIMEOUT,
  async () => {
    const app = await startExample("login.ts");
    try {
      const laptop = new HttpJar(app.origin);
      const phone = new HttpJar(app.origin);
      const other = new HttpJar(app.origin);
      assert.equal((await laptop.fetch("/me")).status, 401);
      assert.equal(laptop.lastSetCookie.length, 0, "a route that only reads sets no cookie");

      assert.equal(await (await laptop.postForm("/login", { user: "ada" })).text(), "signed in as ada\n");
      assert.match(laptop.lastSetCookie[0]!, /^sid=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
      await phone.postForm("/login", { user: "ada" });
      await other.postForm("/login", { user: "bob" });
      assert.match(await laptop.text("/me"), /^ada \(signed in at \d{4}-\d\d-\d\dT[\d:.]+Z\)\n$/, "the Date survives");
      assert.match(await phone.text("/me"), /^ada /);

      // A password change signs out the other devices and keeps this one under a new id.
      const tablet = new HttpJar(app.origin);
      await tablet.postForm("/login", { user: "ada" });
      const before = laptop.cookies.get("sid");
      assert.equal(
        await (await laptop.postForm("/password")).text(),
        "password changed; ended 3 session(s), this one kept\n",
      );
      assert.notEqual(laptop.cookies.get("sid"), before);
      assert.match(await laptop.text("/me"), /^ada /);
      assert.equal((await tablet.fetch("/me")).status, 401);
      assert.equal((await phone.fetch("/me")).status, 401);

      await phone.postForm("/login", { user: "ada" });
      assert.equal(await (await phone.postForm("/logout-everywhere")).text(), "ended 2 session(s) of ada\n");
      assert.equal((await laptop.fetch("/me")).status, 401);
      assert.equal((await phone.fetch("/me")).status, 401);
      assert.match(await other.text("/me"), /^bob /);

      assert.equal(await (await other.postForm("/logout")).text(), "signed out\n");
      assert.equal((await other.fetch("/me")).status, 401);
      assert.equal((await other.postForm("/login", { user: "no spaces" })).status, 400);
    } finally {
      assert.ok(await app.stop(), `no clean shutdown:\n${app.output()}`);
    }
  },
);

test(
  `examples/api-header.ts carries the session in X-Session-Id and never sets a cookie (${runtime})`,
  TIMEOUT,
  async () => {
    const app = await startExample("api-header.ts");
    try {
      const call = async (path: string, token?: string, body?: unknown) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (token !== undefined) headers["x-session-id"] = token;
        const res = await fetch(app.origin + path, {
          method: body === undefined ? "GET" : "POST",
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        assert.deepEqual(res.headers.getSetCookie(), [], `${path} must not set a cookie`);
        return {
          status: res.status,
          token: res.headers.get("x-session-id"),
          json: await res.json() as Record<string, unknown>,
        };
      };

      assert.equal((await call("/cart")).status, 401);
      const login = await call("/login", undefined, { user: "ada" });
      assert.equal(login.status, 200);
      assert.match(login.token ?? "", /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
      const token = login.token!;

      const added = await call("/cart", token, { sku: "tea", qty: 2 });
      assert.deepEqual(added.json, { cart: { tea: 2 } });
      await Promise.all([call("/cart", token, { sku: "tea", qty: 1 }), call("/cart", token, { sku: "cups", qty: 4 })]);
      assert.deepEqual((await call("/cart", token)).json, { user: "ada", cart: { tea: 3, cups: 4 } });
      assert.equal((await call("/cart", token, { sku: "Bad SKU", qty: 1 })).status, 400);

      // A tampered token is a fresh, anonymous session: 401, not 500.
      const tampered = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
      assert.equal((await call("/cart", tampered)).status, 401);

      // CORS lets a browser script read the header.
      const pre = await fetch(app.origin + "/login", {
        method: "OPTIONS",
        headers: {
          origin: "http://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      assert.equal(pre.status, 204);
      const cors = await fetch(app.origin + "/cart", {
        headers: { origin: "http://app.example", "x-session-id": token },
      });
      assert.equal(cors.headers.get("access-control-expose-headers"), "X-Session-Id");
      await cors.body?.cancel();

      const out = await call("/logout", token, {});
      assert.equal(out.token, "", "logout tells the client to drop its token");
      assert.equal((await call("/cart", token)).status, 401);
    } finally {
      assert.ok(await app.stop(), `no clean shutdown:\n${app.output()}`);
    }
  },
);
