/**
 * A store written by someone else, with only the four required methods
 * (get, set, delete, update), works end to end through a real Hono app:
 * sign-in, writes, reads, regenerate, logout, and the idle-expiry refresh,
 * which the middleware makes through update() when the store has no touch().
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { session, type SessionEnv } from "../mod.ts";
import type { SessionStore, StoredSession, UpdateFn } from "../src/store/contract.ts";
import { storeConformance } from "./store-conformance.ts";
import { CookieJar, FakeClock, SECRET } from "./helpers.ts";

/** Four methods over a Map, and a clock: what a minimal third-party store is. */
class FourMethodStore implements SessionStore {
  readonly map = new Map<string, StoredSession>();
  readonly calls: string[] = [];
  #clock: () => number;
  constructor(clock: () => number) {
    this.#clock = clock;
  }
  get(id: string): StoredSession | null {
    this.calls.push("get");
    const s = this.map.get(id);
    return s !== undefined && s.expiresAt > this.#clock() ? { ...s } : null;
  }
  set(id: string, s: StoredSession): void {
    this.calls.push("set");
    this.map.set(id, { ...s });
  }
  delete(id: string): void {
    this.calls.push("delete");
    this.map.delete(id);
  }
  update(id: string, fn: UpdateFn): StoredSession | null {
    this.calls.push("update");
    const next = fn(this.get(id));
    if (next === null) this.map.delete(id);
    else this.map.set(id, { ...next });
    return next;
  }
}

storeConformance("FourMethodStore", (clock) => ({ store: new FourMethodStore(clock.fn) }));

type Data = { count: number; name: string };

test("a third-party store with only get, set, delete and update serves login, inc, read, regenerate and logout", async () => {
  const clock = new FakeClock();
  const store = new FourMethodStore(clock.fn);
  const app = new Hono<SessionEnv<Data>>();
  app.use(session({ secret: SECRET, store, clock: clock.fn, expires: 3600 }));
  // The store does not declare `synchronous: true`, so it counts as asynchronous: handlers load the session first.
  app.get("/login/:name", async (c) => {
    const s = await c.get("session").load();
    s.regenerate();
    s.setUser(c.req.param("name"));
    s.set("name", c.req.param("name"));
    s.set("count", 0);
    return c.text("ok");
  });
  app.get("/inc", async (c) => {
    const s = await c.get("session").load();
    return c.text(String(s.update("count", (n) => (n ?? 0) + 1)));
  });
  app.get("/read", async (c) => {
    const s = await c.get("session").load();
    return c.text(`${s.get("name") ?? "anonymous"}:${s.get("count") ?? "-"}`);
  });
  app.get("/regenerate", async (c) => {
    const s = await c.get("session").load();
    s.regenerate();
    return c.text(s.id);
  });
  app.get("/logout", async (c) => ((await c.get("session").load()).destroy(), c.text("bye")));
  const jar = new CookieJar(app);

  assert.equal(await jar.text("/login/alice"), "ok");
  assert.equal(store.map.size, 1);
  assert.equal(await jar.text("/inc"), "1");
  assert.equal(await jar.text("/inc"), "2");
  assert.equal(await jar.text("/read"), "alice:2");

  const before = [...store.map.keys()];
  const newId = await jar.text("/regenerate");
  assert.deepEqual([...store.map.keys()], [newId], "the session moved to its new id; the old row is gone");
  assert.notDeepEqual(before, [newId]);
  assert.equal(await jar.text("/read"), "alice:2");

  // Past the refresh threshold, the expiry slides through update(): the store has no touch().
  const expiresBefore = store.map.get(newId)!.expiresAt;
  clock.advance(3000);
  store.calls.length = 0;
  assert.equal(await jar.text("/read"), "alice:2");
  assert.ok(store.calls.includes("update"), `refresh through update: ${store.calls}`);
  assert.equal(store.map.get(newId)!.expiresAt, expiresBefore + 3_000_000);
  clock.advance(3000); // 6000 s after sign-in, 3000 s after the refresh: still signed in
  assert.equal(await jar.text("/read"), "alice:2");

  assert.equal(await jar.text("/logout"), "bye");
  assert.equal(store.map.size, 0);
  assert.equal(await jar.text("/read"), "anonymous:-");
});
