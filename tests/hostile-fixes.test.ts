/**
 * Regression tests of the defects hostile testing found (issue 22 §5): each
 * failed on the code before its fix.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { session, type SessionEnv } from "../src/middleware.ts";
import { StoreUnavailableError } from "../src/errors.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import type { SweepEvent } from "../src/store/sweeper.ts";
import type { SessionStore, StoredSession, UpdateFn } from "../src/store/types.ts";
import { AsyncStore, CookieJar, FakeClock, rejectionsDuring, SECRET, setCookies } from "./helpers.ts";

/** A MemoryStore whose writes can be made to fail, as a store does when its server is down. */
class Outage extends MemoryStore {
  down = false;
  #check(): void {
    if (this.down) throw new StoreUnavailableError("Cannot reach the store: it is down (test)");
  }
  override set(id: string, s: StoredSession): void {
    this.#check();
    super.set(id, s);
  }
  override delete(id: string): void {
    this.#check();
    super.delete(id);
  }
}

type Data = { user: string; failures: number };

function app(store: SessionStore, clock: FakeClock) {
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store, clock: clock.fn, onLateStoreError: () => {} }));
  a.get("/login", (c) => {
    const s = c.get("session");
    s.options.lateStore = c.req.query("late") === "1";
    s.regenerate();
    s.set("user", "alice");
    return c.text("ok");
  });
  a.get("/logout", (c) => {
    const s = c.get("session");
    s.options.lateStore = c.req.query("late") === "1";
    s.destroy();
    return c.text("bye");
  });
  a.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "nobody"));
  return a;
}

test("Session.destroy() with lateStore is not deferred: a failed logout is a visible 503 and the cookie stays", async () => {
  const clock = new FakeClock();
  const store = new Outage({ clock: clock.fn });
  const jar = new CookieJar(app(store, clock));
  await jar.fetch("/login");
  const before = jar.header();
  store.down = true;
  const res = await jar.fetch("/logout?late=1");
  assert.equal(res.status, 503, "the logout failed where the client can see it");
  assert.deepEqual(setCookies(res), [], "no cookie was cleared for a session that lives on");
  assert.equal(jar.header(), before);
  store.down = false;
  // And when the store works, the logout is done before the response: the old cookie opens nothing at once.
  const ok = await jar.fetch("/logout?late=1");
  assert.equal(ok.status, 200);
  const replay = await app(store, clock).request("http://localhost/whoami", { headers: { cookie: before } });
  assert.equal(await replay.text(), "nobody");
});

test("Session.regenerate() with lateStore is not deferred: the new token works on the very next request", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(app(store, clock));
  await jar.fetch("/login");
  await jar.fetch("/login?late=1");
  // No timer turn between the two requests: a deferred write would not be there yet.
  assert.equal(await jar.text("/whoami"), "alice");
});

function counterApp(store: SessionStore) {
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store }));
  a.post("/login", (c) => {
    const s = c.get("session");
    const failures = s.update("failures", (n) => (n ?? 0) + 1);
    const how = c.req.query("how");
    if (how === "throw-401") throw new HTTPException(401, { message: `failed login ${failures}` });
    if (how === "throw-503") throw new HTTPException(503, { message: "down" });
    if (how === "throw-error") throw new Error("bug");
    return c.text(`failed login ${failures}`, 401);
  });
  a.get("/failures", (c) => c.text(String(c.get("session").get("failures") ?? 0)));
  return a;
}

test("session() commits a request answered by a thrown HTTPException 4xx, as one that returned the 4xx", async () => {
  const jar = new CookieJar(counterApp(new MemoryStore()));
  assert.equal((await jar.fetch("/login?how=return-401", { method: "POST" })).status, 401);
  assert.equal(await jar.text("/failures"), "1");
  const thrown = await jar.fetch("/login?how=throw-401", { method: "POST" });
  assert.equal(thrown.status, 401);
  assert.equal(await thrown.text(), "failed login 2");
  assert.equal(await jar.text("/failures"), "2", "the failed-login counter grows on a thrown 401 too");
});

test("session() commits nothing for a thrown HTTPException 5xx or a thrown Error", async () => {
  const jar = new CookieJar(counterApp(new MemoryStore()));
  await jar.fetch("/login?how=return-401", { method: "POST" });
  assert.equal((await jar.fetch("/login?how=throw-503", { method: "POST" })).status, 503);
  assert.equal((await jar.fetch("/login?how=throw-error", { method: "POST" })).status, 500);
  assert.equal(await jar.text("/failures"), "1");
});

test("SqliteStore: an onSweep callback that throws is not an unhandled rejection, and sweeping goes on", async () => {
  const events: SweepEvent[] = [];
  let twice!: () => void;
  // A timer of the test's own keeps the event loop alive: the sweeper's is unref'd (Deno would end the test).
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((resolve, reject) => {
    twice = resolve;
    deadline = setTimeout(() => reject(new Error("the sweeper did not sweep twice within 10 s")), 10_000);
  }).finally(() => clearTimeout(deadline));
  const store = new SqliteStore({
    path: ":memory:",
    sweepInterval: 0.002,
    onSweep: (e) => {
      events.push(e);
      if (events.length === 2) twice();
      throw new Error("listener bug");
    },
  });
  const originalError = console.error;
  console.error = () => {};
  try {
    const rejections = await rejectionsDuring(() => done);
    assert.deepEqual(rejections, []);
    assert.equal(events.length >= 2, true, "the sweeper kept its schedule after the throw");
  } finally {
    console.error = originalError;
    store.close();
  }
});

test("session(): an onLateStoreError callback that throws or rejects is not an unhandled rejection", async () => {
  for (const how of ["throw", "reject"] as const) {
    const store = new Outage();
    store.down = true;
    const heard: unknown[] = [];
    const a = new Hono<SessionEnv<Data>>();
    a.use(session({
      secret: SECRET,
      store,
      onLateStoreError: (e) => {
        heard.push(e);
        if (how === "throw") throw new Error("listener bug");
        return Promise.reject(new Error("listener bug")) as unknown as void;
      },
    }));
    a.get("/late", (c) => {
      c.get("session").options.lateStore = true;
      c.get("session").set("user", "bob");
      return c.text("ok");
    });
    const originalError = console.error;
    console.error = () => {};
    try {
      const rejections = await rejectionsDuring(async () => {
        assert.equal((await a.request("http://localhost/late")).status, 200);
        for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      });
      assert.equal(heard.length, 1, how);
      assert.deepEqual(rejections, [], how);
    } finally {
      console.error = originalError;
    }
  }
});

test("Session.setExpires() refuses, naming the limit, a lifetime no cookie or store can hold, and stores nothing", async () => {
  const store = new SqliteStore({ path: ":memory:" });
  const errors: unknown[] = [];
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store }));
  a.get("/remember/:seconds", (c) => {
    const s = c.get("session");
    s.set("user", "alice");
    try {
      s.setExpires(Number(c.req.param("seconds")));
    } catch (e) {
      errors.push(e);
    }
    return c.text("ok");
  });
  try {
    for (const seconds of [9e12, 1e300, 400 * 24 * 3600 + 1]) {
      const jar = new CookieJar(a);
      assert.equal((await jar.fetch(`/remember/${seconds}`)).status, 200);
      const e = errors.pop();
      assert.ok(e instanceof RangeError, `${seconds}: ${String(e)}`);
      assert.match(e.message, /at most 34560000 \(400 days, the longest a browser keeps a cookie\)/);
    }
    const jar = new CookieJar(a);
    assert.equal((await jar.fetch(`/remember/${400 * 24 * 3600}`)).status, 200, "400 days itself is accepted");
    assert.equal(errors.length, 0);
  } finally {
    store.close();
  }
});

test("session() never hands a store a time that is not a finite number (a broken clock fails the request)", async () => {
  const store = new MemoryStore();
  let now = Number.NaN;
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store, clock: () => now }));
  a.get("/login", (c) => (c.get("session").set("user", "alice"), c.text("ok")));
  const originalError = console.error;
  console.error = () => {};
  try {
    for (const broken of [Number.NaN, Number.POSITIVE_INFINITY, 9e15]) {
      now = broken;
      const res = await a.request("http://localhost/login");
      assert.equal(res.status, 500, String(broken));
      assert.deepEqual(setCookies(res), []);
    }
  } finally {
    console.error = originalError;
  }
  assert.equal(store.size, 0, "nothing was stored");
});

/**
 * A real store (synchronous MemoryStore, or the same behind promises) that
 * runs `afterListing` once, right after a listing is read: the moment another
 * request can change the sessions it listed.
 */
function racing(sync: boolean, clock: FakeClock) {
  const memory = new MemoryStore({ clock: clock.fn });
  const inner = sync ? memory : new AsyncStore(memory);
  const store = {
    ...(sync ? { synchronous: true as const } : {}),
    afterListing: undefined as (() => Promise<unknown>) | undefined,
    get: (id: string) => inner.get(id),
    set: (id: string, s: StoredSession) => inner.set(id, s),
    delete: (id: string) => inner.delete(id),
    touch: (id: string, e: number) => inner.touch(id, e),
    update: (id: string, fn: UpdateFn) => inner.update(id, fn),
    deleteExpired: (now?: number) => inner.deleteExpired(now),
    deleteByUser: (userId: string) => inner.deleteByUser(userId),
    async listByUser(userId: string) {
      const listed = await inner.listByUser(userId);
      const hook = store.afterListing;
      store.afterListing = undefined;
      await hook?.();
      return listed;
    },
  };
  return store;
}

for (const sync of [true, false]) {
  const kind = sync ? "a synchronous" : "an asynchronous";
  test(`Session.destroyUserSession() signs the device out even when it regenerated after the listing (${kind} store)`, async () => {
    const clock = new FakeClock();
    const store = racing(sync, clock);
    const a = new Hono<SessionEnv<Data>>();
    // preload: the routes use the session synchronously, on either kind of store.
    a.use(session({ secret: SECRET, store, clock: clock.fn, preload: true }));
    a.get("/login", (c) => {
      const s = c.get("session");
      s.regenerate();
      s.setUser("alice");
      s.set("user", "alice");
      return c.text("ok");
    });
    a.get("/regenerate", (c) => (c.get("session").regenerate(), c.text("ok")));
    a.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "nobody"));
    a.get("/devices", async (c) => c.json(await c.get("session").userSessions()));
    a.post("/signout/:handle", async (c) => c.json(await c.get("session").destroyUserSession(c.req.param("handle"))));
    const laptop = new CookieJar(a);
    const phone = new CookieJar(a);
    await laptop.fetch("/login");
    clock.advance(1);
    await phone.fetch("/login");
    const listed = (await (await laptop.fetch("/devices")).json()) as { handle: string; current: boolean }[];
    const phoneHandle = listed.find((s) => !s.current)!.handle;
    // The phone gets a new id between the laptop's listing and its delete.
    store.afterListing = () => phone.fetch("/regenerate");
    const res = await laptop.fetch(`/signout/${phoneHandle}`, { method: "POST" });
    assert.equal(await res.json(), true);
    assert.equal(store.afterListing, undefined, "the phone regenerated in between");
    assert.equal(await phone.text("/whoami"), "nobody", "'ended' means the phone is signed out");
    assert.equal(await laptop.text("/whoami"), "alice", "the laptop is not");
  });
}

test("setUser() refuses a user id no store can keep as written (NUL, a lone surrogate) and an empty one, and the session stays unbound", async () => {
  // PostgreSQL refuses NUL in text (every login with such an id answered 503 there) and UTF-8 encoding turns a lone
  // surrogate into U+FFFD, so two such ids would name one user in deleteByUser and the devices page.
  const store = new MemoryStore();
  const a = new Hono<SessionEnv>();
  a.use(session({ secret: SECRET, store }));
  const ids = ["u\u0000", "\uD800", "a\uDC00b", "", "ü 42 \uD83D\uDE00"]; // by index: a lone surrogate has no URL form
  a.get("/login/:i", async (c) => {
    const s = await c.get("session").load();
    try {
      s.setUser(ids[Number(c.req.param("i"))]!);
      return c.text("bound");
    } catch (e) {
      return c.text(`${(e as Error).name}: ${(e as Error).message}`);
    }
  });
  for (const i of [0, 1, 2, 3]) {
    const r = await a.request(`/login/${i}`);
    assert.match(await r.text(), /^TypeError: Cannot set the session's user: the id must be a non-empty string/);
    assert.equal(r.headers.get("set-cookie"), null, "nothing stored for a refused id");
  }
  assert.equal(await (await a.request("/login/4")).text(), "bound");
});
