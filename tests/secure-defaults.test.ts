/**
 * The defaults issue 22 set for OWASP ASVS (5.0 V7, 4.0.3 V3): an absolute
 * timeout without any option, applying to remember-me too. The cookie
 * defaults are in cookie-state.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { session, type SessionEnv, type SessionOptions } from "../src/middleware.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { CookieJar, FakeClock, parseSetCookie, SECRET, setCookies } from "./helpers.ts";

const DAY = 24 * 3600;

function app(store: MemoryStore, clock: FakeClock, extra: Partial<SessionOptions> = {}) {
  const a = new Hono<SessionEnv<{ user: string }>>();
  a.use(session({ secret: SECRET, store, clock: clock.fn, ...extra }));
  a.get("/login", (c) => {
    const s = c.get("session");
    s.regenerate();
    s.set("user", "alice");
    if (c.req.query("remember")) s.setExpires(Number(c.req.query("remember")));
    return c.text("ok");
  });
  a.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "nobody"));
  return a;
}

/** Days a client active every 12 hours stays signed in (at most `limit`). */
async function daysSignedIn(jar: CookieJar, clock: FakeClock, limit: number): Promise<number> {
  for (let half = 1; half <= limit * 2; half++) {
    clock.advance(DAY / 2);
    if (await jar.text("/whoami") !== "alice") return half / 2;
  }
  return limit;
}

test("session() ends a session 30 days after creation by default, however active (ASVS 4.0.3 3.3.2)", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(app(store, clock, { expires: DAY }));
  await jar.fetch("/login");
  assert.equal(await daysSignedIn(jar, clock, 40), 30);
});

test("session() caps a remember-me lifetime (setExpires) by the default absolute timeout, Max-Age included", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(app(store, clock));
  const res = await jar.fetch(`/login?remember=${90 * DAY}`);
  const cookie = setCookies(res).map(parseSetCookie).find((c) => c.name === "sid")!;
  assert.equal(cookie.attrs["max-age"], String(30 * DAY));
  assert.equal(await daysSignedIn(jar, clock, 40), 30);
});

test("session({ absoluteTimeout: false }) has no absolute timeout: an active session lives on", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(app(store, clock, { expires: DAY, absoluteTimeout: false }));
  await jar.fetch("/login");
  assert.equal(await daysSignedIn(jar, clock, 40), 40);
});

test("session() refuses at setup an expires beyond 400 days or an absoluteTimeout that is not a positive number or false", () => {
  assert.throws(() => session({ secret: SECRET, store: new MemoryStore(), expires: 401 * DAY }), {
    name: "RangeError",
    message: /^Cannot create session middleware: expires must be a positive number of seconds up to 34560000/,
  });
  for (const absoluteTimeout of [0, -1, Number.NaN, true as unknown as number]) {
    assert.throws(() => session({ secret: SECRET, store: new MemoryStore(), absoluteTimeout }), {
      name: "RangeError",
      message: /absoluteTimeout must be a positive number of seconds/,
    });
  }
});
