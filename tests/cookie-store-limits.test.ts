/**
 * CookieStore at its limits: parts a client still holds after the app
 * lowered `maxCookies`, a payload exactly at `maxPayloadBytes` whatever the
 * clock returns, and a cookie option it used to ignore.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { generateId } from "../src/id.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { CookieStore, type CookieStoreOptions } from "../src/store/cookie.ts";
import type { StoredSession } from "../src/store/types.ts";
import { CookieJar, FakeClock, parseSetCookie, SECRET, setCookies } from "./helpers.ts";

const KEY = "cookie-store-key-A-cookie-store-key-A-0123456789";

/** An app on CookieStore whose /big/:n stores n bytes, /blob reads their length, /logout destroys. */
function bigApp(options: Partial<CookieStoreOptions>, clock = new FakeClock()) {
  const store = new CookieStore({ secret: KEY, clock: clock.fn, ...options });
  const app = new Hono<SessionEnv<{ blob: string }>>();
  app.use(session({ secret: SECRET, store, clock: clock.fn }));
  app.get("/big/:n", (c) => {
    c.get("session").set("blob", "b".repeat(Number(c.req.param("n"))));
    return c.text("ok");
  });
  app.get("/blob", (c) => c.text(String(c.get("session").get("blob")?.length ?? 0)));
  app.get("/logout", (c) => {
    c.get("session").destroy();
    return c.text("bye");
  });
  return { app, store };
}

const parts = (jar: CookieJar) => [...jar.cookies.keys()].filter((k) => k.startsWith("satchel-data.")).sort();
const cleared = (res: Response) =>
  setCookies(res).map(parseSetCookie).filter((c) => c.attrs["max-age"] === "0").map((c) => c.name).sort();

test("CookieStore clears the data parts past maxCookies that a client still holds after maxCookies was lowered", async () => {
  const before = bigApp({ maxCookies: 5 });
  const jar = new CookieJar(before.app);
  await jar.text("/big/14000");
  assert.deepEqual(parts(jar), [
    "satchel-data.0",
    "satchel-data.1",
    "satchel-data.2",
    "satchel-data.3",
    "satchel-data.4",
  ]);

  // The app now allows 2 cookies: the 5-part session no longer opens (a fresh session, never a 500) ...
  const after = bigApp({ maxCookies: 2 });
  const held = new Map(jar.cookies);
  const next = new CookieJar(after.app);
  next.cookies = new Map(held);
  assert.equal(await next.text("/blob"), "0");
  // ... and the first write clears every part the client holds beyond what it wrote, past maxCookies too.
  const res = await next.fetch("/big/10");
  assert.deepEqual(cleared(res), ["satchel-data.1", "satchel-data.2", "satchel-data.3", "satchel-data.4"]);
  assert.deepEqual(parts(next), ["satchel-data.0"]);
  assert.equal(await next.text("/blob"), "10");

  // A 2-part session then a logout: nothing of either size is left behind.
  next.cookies = new Map(held);
  await next.text("/big/5000");
  assert.deepEqual(parts(next), ["satchel-data.0", "satchel-data.1"]);
  assert.equal(await next.text("/blob"), "5000");
  await next.text("/logout");
  assert.deepEqual(parts(next), []);
});

test("CookieStore seals a payload of exactly maxPayloadBytes when the clock returns fractional milliseconds", async () => {
  for (const now of [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 0.123456789, 1_765_432_109_876.543]) {
    const store = new CookieStore({ secret: KEY, clock: () => now });
    const id = generateId();
    const s: StoredSession = {
      payload: "x".repeat(store.maxPayloadBytes),
      expiresAt: now + 3_600_000,
      createdAt: now,
      userId: null,
    };
    const app = new Hono();
    app.get("/set", (c) => {
      store.forRequest(c).set(id, s);
      return c.text("ok");
    });
    app.get("/get", (c) => c.text(String(store.forRequest(c).get(id)?.payload.length ?? "none")));
    const jar = new CookieJar(app);
    const res = await jar.fetch("/set");
    assert.equal(res.status, 200, `at ${now}: ${await res.text()}`);
    assert.equal(await jar.text("/get"), String(store.maxPayloadBytes), `at ${now}`);
    // One byte more is refused, as before.
    const over = new CookieJar(app);
    s.payload += "x";
    assert.equal((await over.fetch("/set")).status, 500, `at ${now}`);
  }
});

test("CookieStore refuses cookie.persistent at setup instead of ignoring it: the data cookies always carry Max-Age", () => {
  for (const persistent of [true, false]) {
    assert.throws(() => new CookieStore({ secret: KEY, cookie: { persistent } as CookieStoreOptions["cookie"] }), {
      name: "TypeError",
      message: /^Cannot create CookieStore: cookie\.persistent is not an option of the data cookies/,
    });
  }
  new CookieStore({ secret: KEY, cookie: { name: "d", persistent: undefined } as CookieStoreOptions["cookie"] });
});
