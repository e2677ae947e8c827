/**
 * Lazy loading and the lifecycle defects of round 2 (issue 12), through real
 * Hono apps on MemoryStore and SqliteStore.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import {
  jsonSerializer,
  MemoryStore,
  type Session,
  session,
  SessionDataError,
  type SessionEnv,
  SessionError,
  type SessionOptions,
  SqliteStore,
  StoreFullError,
} from "../mod.ts";
import type { SessionStore, StoredSession, UpdateFn } from "../src/store/types.ts";
import { AsyncStore, CookieJar, FakeClock, parseSetCookie, SECRET, setCookies, tempDir } from "./helpers.ts";

type Data = { count: number; cart: number; user: string };

/** A real store that counts calls; `failSet` makes `set` fail as a full store would. */
class Counting implements SessionStore {
  calls = { get: 0, set: 0, delete: 0, touch: 0, update: 0 };
  failSet = false;
  readonly inner: MemoryStore;
  readonly synchronous = true;
  constructor(inner: MemoryStore) {
    this.inner = inner;
  }
  get(id: string) {
    this.calls.get++;
    return this.inner.get(id);
  }
  set(id: string, s: StoredSession) {
    this.calls.set++;
    if (this.failSet) throw new StoreFullError("Cannot store session: the store is full");
    return this.inner.set(id, s);
  }
  delete(id: string) {
    this.calls.delete++;
    return this.inner.delete(id);
  }
  touch(id: string, e: number) {
    this.calls.touch++;
    return this.inner.touch(id, e);
  }
  update(id: string, fn: UpdateFn) {
    this.calls.update++;
    return this.inner.update(id, fn);
  }
  deleteExpired(now?: number) {
    return this.inner.deleteExpired(now);
  }
  deleteByUser(userId: string) {
    return this.inner.deleteByUser(userId);
  }
}

function app(store: SessionStore, clock: FakeClock, extra: Partial<SessionOptions> = {}) {
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store, clock: clock.fn, ...extra }));
  // Every route but /plain uses the session: load it first (AsyncStore answers asynchronously).
  a.use(async (c, next) => {
    if (c.req.path !== "/plain") await c.get("session").load();
    await next();
  });
  a.get("/plain", (c) => c.text("plain"));
  a.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
  a.get("/read", (c) => c.text(String(c.get("session").get("count") ?? "none")));
  a.get("/cart", (c) => c.text(String(c.get("session").update("cart", (n) => (n ?? 0) + 1))));
  a.get("/login", (c) => {
    const s = c.get("session");
    s.regenerate();
    s.set("user", "alice");
    s.setUser("alice");
    return c.text("ok");
  });
  a.get("/late-login", (c) => {
    const s = c.get("session");
    s.options.lateStore = true;
    s.set("user", "alice");
    return c.text("ok");
  });
  a.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "nobody"));
  return a;
}

function sqlite(clock: FakeClock) {
  const tmp = tempDir();
  const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn });
  return { store: store as SessionStore, cleanup: () => (store.close(), tmp.cleanup()) };
}

for (
  const [name, make] of [
    ["SqliteStore", sqlite],
    [
      "MemoryStore",
      (clock: FakeClock) => ({ store: new MemoryStore({ clock: clock.fn }) as SessionStore, cleanup: () => {} }),
    ],
  ] as const
) {
  test(`session() makes no store call and sends no cookie for a signed-in request that never touches the session (${name})`, async () => {
    const clock = new FakeClock();
    const { store: inner, cleanup } = make(clock);
    try {
      const calls = { get: 0 };
      const store = new Proxy(inner, {
        get(t, p, r) {
          const v = Reflect.get(t, p, r);
          if (p === "get") return (id: string) => (calls.get++, (v as SessionStore["get"]).call(t, id));
          return typeof v === "function" ? v.bind(t) : v;
        },
      });
      const jar = new CookieJar(app(store, clock));
      await jar.fetch("/inc");
      const before = calls.get;
      clock.advance(3590); // a refresh would be due if the request counted as activity
      const res = await jar.fetch("/plain");
      assert.equal(await res.text(), "plain");
      assert.equal(calls.get, before, "no store.get for an untouched session");
      assert.deepEqual(setCookies(res), []);
      // It did not slide the expiry: 11 s later the session is gone.
      clock.advance(11);
      assert.equal(await jar.text("/read"), "none");
    } finally {
      cleanup();
    }
  });
}

test("session({ touch: 'always' }) counts a request that never touches the session as activity", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const jar = new CookieJar(app(store, clock, { touch: "always" }));
  await jar.fetch("/inc");
  clock.advance(3590);
  await jar.fetch("/plain");
  assert.equal(store.calls.touch, 1);
  clock.advance(3590);
  assert.equal(await jar.text("/read"), "1");
});

test("session() loads a session first touched after an await in the handler, and commits it", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store, clock: clock.fn }));
  a.get("/later", async (c) => {
    await new Promise((r) => setTimeout(r, 1));
    return c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1)));
  });
  const jar = new CookieJar(a);
  assert.equal(await jar.text("/later"), "1");
  assert.equal(await jar.text("/later"), "2");
});

test("Session.destroyUserSessions({ keepCurrent: true }) keeps the session's absolute deadline", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const a = app(store, clock, { absoluteTimeout: 1000 });
  a.get("/others-out", async (c) => {
    await c.get("session").destroyUserSessions(undefined, { keepCurrent: true });
    return c.text("ok");
  });
  const jar = new CookieJar(a);
  await jar.fetch("/login");
  clock.advance(900);
  await jar.fetch("/others-out");
  assert.equal(await jar.text("/whoami"), "alice");
  clock.advance(101); // 1001 s after login: past the absolute deadline
  assert.equal(await jar.text("/whoami"), "nobody");
});

test("session() never clears the cookie of a request whose token was rotated away by another request", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(app(store, clock));
  await jar.fetch("/inc");
  const preLogin = jar.header();
  await jar.fetch("/login");
  // A poll still in flight with the pre-login token.
  const poll = await jar.app.request("http://localhost/read", { headers: { cookie: preLogin } });
  assert.equal(await poll.text(), "none");
  assert.deepEqual(setCookies(poll), [], "no clearing Set-Cookie");
  // A double-submitted login (same pre-login token) does not clear it either.
  const again = await jar.app.request("http://localhost/login", { headers: { cookie: preLogin } });
  for (const line of setCookies(again)) assert.notEqual(parseSetCookie(line).attrs["max-age"], "0");
  assert.equal(await jar.text("/whoami"), "alice");
});

test("Session.options.lateStore: a login is not undone by the request right after it", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(app(store, clock));
  await jar.fetch("/late-login");
  // The follow-up arrives before the deferred commit ran.
  const follow = await jar.fetch("/whoami");
  assert.equal(await follow.text(), "nobody", "a late write may not be visible yet");
  assert.deepEqual(setCookies(follow), []);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await jar.text("/whoami"), "alice");
});

test("Session.destroy() and regenerate() win over options.noStore", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const a = app(store, clock);
  a.get("/logout-nostore", (c) => {
    const s = c.get("session");
    s.destroy();
    s.options.noStore = true;
    return c.text("bye");
  });
  a.get("/regen-nostore", (c) => {
    const s = c.get("session");
    s.options.noStore = true;
    s.regenerate();
    return c.text(s.id);
  });
  const jar = new CookieJar(a);
  await jar.fetch("/inc");
  const oldToken = jar.header();
  const newId = await jar.text("/regen-nostore");
  assert.notEqual(jar.header(), oldToken, "regenerate sent a new token despite noStore");
  assert.notEqual(await store.get(newId), null);
  assert.equal(await jar.text("/read"), "1");
  const res = await jar.fetch("/logout-nostore");
  assert.equal(parseSetCookie(setCookies(res)[0] ?? "x=1").attrs["max-age"], "0");
  assert.equal(await store.get(newId), null);
});

test("Session.set() after the commit ran throws SessionError instead of dropping the change", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  let held: Session<Data> | undefined;
  const a = app(store, clock);
  a.get("/hold", (c) => {
    held = c.get("session");
    held.set("count", 1);
    return c.text("ok");
  });
  const jar = new CookieJar(a);
  await jar.fetch("/hold");
  assert.throws(
    () => held!.set("count", 2),
    (e: unknown) => e instanceof SessionError && /already committed/.test(e.message),
  );
  assert.throws(() => held!.update("count", (n) => (n ?? 0) + 1), SessionError);
  assert.equal(await jar.text("/read"), "1");
});

test("Session.regenerate(): a login whose write fails keeps the session it came from", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const jar = new CookieJar(app(store, clock));
  for (let i = 0; i < 5; i++) await jar.fetch("/cart");
  store.failSet = true;
  const res = await jar.fetch("/login");
  assert.equal(res.status, 503);
  store.failSet = false;
  assert.equal(await jar.text("/cart"), "6", "the cart of 5 survived the failed login");
});

test("session() refuses at setup a store without the methods of the contract, naming them", () => {
  const cache = { get: () => null, set: () => {}, delete: () => {} };
  assert.throws(
    () => session({ secret: SECRET, store: cache as unknown as SessionStore }),
    (e: unknown) =>
      e instanceof TypeError && /lacks update\(\);/.test(e.message) && !/touch|deleteExpired/.test(e.message),
  );
});

test("session() refuses unknown option keys with a hint", () => {
  assert.throws(
    () => session({ secret: SECRET, store: new MemoryStore(), genid: () => "x" } as unknown as SessionOptions),
    (e: unknown) => e instanceof TypeError && /genid/.test(e.message),
  );
  assert.throws(
    () => session({ secret: SECRET, store: new MemoryStore(), cookieOptions: {} } as unknown as SessionOptions),
    (e: unknown) => e instanceof TypeError && /cookie/.test(e.message),
  );
});

test("Session.set() refuses a value the serializer would give back changed, and nothing is stored", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  for (
    const [serializer, value, why] of [
      [undefined, new ArrayBuffer(8), /ArrayBuffer/],
      [jsonSerializer, new Date(0), /Date/],
      [jsonSerializer, new Map([["a", 1]]), /Map/],
    ] as const
  ) {
    const a = new Hono<SessionEnv<{ v: unknown; count: number }>>();
    a.use(session({ secret: SECRET, store, clock: clock.fn, ...(serializer ? { serializer } : {}) }));
    let seen: unknown;
    a.onError((e, c) => ((seen = e), c.text("error", 500)));
    a.get("/set", (c) => {
      c.get("session").set("count", 1);
      c.get("session").set("v", value);
      return c.text("ok");
    });
    const res = await a.request("http://localhost/set");
    assert.equal(res.status, 500);
    assert.ok(seen instanceof SessionDataError && why.test(seen.message), String(seen));
    assert.deepEqual(setCookies(res), []);
  }
  assert.equal(store.size, 0);
});

/** An AsyncStore that counts its `touch` calls. */
class TouchCounting extends AsyncStore {
  touches = 0;
  override touch(id: string, e: number) {
    this.touches++;
    return super.touch(id, e);
  }
}

test("session() on an asynchronous store: a request that never touches the session does not slide it", async () => {
  const clock = new FakeClock();
  const store = new TouchCounting(new MemoryStore({ clock: clock.fn }));
  const jar = new CookieJar(app(store, clock));
  assert.equal(await jar.text("/inc"), "1");
  clock.advance(3590);
  const res = await jar.fetch("/plain");
  assert.deepEqual(setCookies(res), []);
  assert.equal(store.touches, 0, "the session was not used: no touch");
  assert.equal(await jar.text("/read"), "1", "a touched request still slides it");
  assert.equal(store.touches, 1);
});

/** A promise and the function that settles it, to hold a request at a point. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

test("Session.destroy() then regenerate() still ends the session, also when the request fails", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const a = app(store, clock);
  a.get("/logout", (c) => {
    const s = c.get("session");
    s.destroy();
    s.regenerate();
    return c.text("bye", c.req.query("fail") ? 500 : 200);
  });
  for (const path of ["/logout", "/logout?fail=1"]) {
    const jar = new CookieJar(a);
    await jar.fetch("/login");
    const res = await jar.fetch(path);
    assert.equal(parseSetCookie(setCookies(res)[0] ?? "x=1").attrs["max-age"], "0", path);
    assert.equal(await jar.text("/whoami"), "nobody");
    assert.deepEqual(store.listByUser("alice"), []);
  }
});

test("session() does not re-send a token whose row another request rotated away meanwhile (refresh of a persistent cookie)", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const a = app(store, clock, { cookie: { persistent: true } });
  const g = gate();
  a.get("/poll", async (c) => {
    const n = c.get("session").get("cart");
    await g.wait;
    return c.text(String(n));
  });
  const jar = new CookieJar(a);
  await jar.fetch("/cart");
  clock.advance(120); // a refresh is due
  const poll = a.request("http://localhost/poll", { headers: { cookie: jar.header() } });
  await tick();
  await jar.fetch("/login");
  g.open();
  const res = await poll;
  assert.deepEqual(setCookies(res), [], "the pre-login token is not sent back");
  assert.equal(await jar.text("/whoami"), "alice");
});

test("Session.setExpires() is kept when a request that loaded the session before it writes afterwards", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const a = app(store, clock);
  const g = gate();
  a.get("/slow-cart", async (c) => {
    const s = c.get("session");
    s.get("cart");
    await g.wait;
    s.update("cart", (n) => (n ?? 0) + 1);
    return c.text("ok");
  });
  a.get("/remember", (c) => (c.get("session").setExpires(30 * 86400), c.text("ok")));
  a.get("/expires", (c) => c.text(String(c.get("session").expires)));
  const jar = new CookieJar(a);
  await jar.fetch("/cart");
  const slow = jar.fetch("/slow-cart");
  await tick();
  await jar.fetch("/remember");
  g.open();
  await slow;
  assert.equal(await jar.text("/expires"), String(30 * 86400));
  clock.advance(2 * 3600);
  assert.equal(await jar.text("/cart"), "3", "the remembered session outlives the app's idle hour");
});

test("Session.flash(): reading a value does not consume a newer one another request flashed under the same key", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const a = app(store, clock);
  const g = gate();
  a.get("/flash/:v", (c) => (c.get("session").flash("msg", c.req.param("v")), c.text("ok")));
  a.get("/show-slow", async (c) => {
    const m = c.get("session").flash("msg");
    await g.wait;
    return c.text(String(m));
  });
  a.get("/show", (c) => c.text(String(c.get("session").flash("msg"))));
  const jar = new CookieJar(a);
  await jar.fetch("/flash/v1");
  const slow = jar.fetch("/show-slow");
  await tick();
  await jar.fetch("/flash/v2");
  g.open();
  assert.equal(await (await slow).text(), "v1");
  assert.equal(await jar.text("/show"), "v2");
  assert.equal(await jar.text("/show"), "undefined");
});

test("Session.destroyUserSessions() after the commit throws before it deletes anything", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  let held: Session<Data> | undefined;
  const a = app(store, clock);
  a.get("/hold", (c) => ((held = c.get("session")), c.text("ok")));
  const jar = new CookieJar(a);
  await jar.fetch("/login");
  await jar.fetch("/hold");
  await assert.rejects(held!.destroyUserSessions("alice", { keepCurrent: true }), SessionError);
  assert.equal(store.listByUser("alice").length, 1);
  assert.equal(await jar.text("/whoami"), "alice");
});

test("Session.destroyUserSessions() judges by the user the row was stored with", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const a = app(store, clock);
  a.get("/switch", async (c) => {
    const s = c.get("session");
    s.setUser("bob");
    s.set("user", "bob");
    await s.destroyUserSessions("alice", { keepCurrent: true });
    return c.text("ok");
  });
  a.get("/login-everywhere", async (c) => {
    const s = c.get("session");
    s.regenerate();
    s.setUser("alice");
    s.set("user", "alice");
    await s.destroyUserSessions("alice", { keepCurrent: true });
    return c.text("ok");
  });
  // A row stored under alice, now bob's: the deleted row is written again, as bob's.
  const jar = new CookieJar(a);
  await jar.fetch("/login");
  await jar.fetch("/switch");
  assert.equal(await jar.text("/whoami"), "bob");
  // An anonymous row is not among alice's: a login that signs her other devices out still rotates the id.
  const anon = new CookieJar(a);
  await anon.fetch("/cart");
  const before = anon.header();
  await anon.fetch("/login-everywhere");
  assert.equal(await anon.text("/whoami"), "alice");
  const replay = await a.request("http://localhost/cart", { headers: { cookie: before } });
  assert.equal(await replay.text(), "1", "the pre-login token no longer opens the anonymous cart");
});

test("Session.regenerate() on an asynchronous store neither loses a concurrent write nor undoes a concurrent logout", async () => {
  for (const other of ["/cart", "/logout"]) {
    const clock = new FakeClock();
    const inner = new MemoryStore({ clock: clock.fn });
    const store = new AsyncStore(inner);
    let hold: { wait: Promise<void>; reached: () => void } | undefined;
    const set = store.set.bind(store);
    store.set = async (id, s) => {
      const h = hold;
      hold = undefined;
      if (h !== undefined) {
        h.reached();
        await h.wait;
      }
      return set(id, s);
    };
    const a = app(store, clock);
    a.get("/logout", (c) => (c.get("session").destroy(), c.text("bye")));
    const jar = new CookieJar(a);
    await jar.fetch("/cart");
    const cookie = jar.header();
    const g = gate();
    const reached = gate();
    hold = { wait: g.wait, reached: reached.open };
    const login = jar.fetch("/login");
    await reached.wait; // the login's commit read the old row and is writing the new one
    await a.request(`http://localhost${other}`, { headers: { cookie } });
    g.open();
    await login;
    if (other === "/cart") assert.equal(await jar.text("/cart"), "3", "the concurrent increment survived the move");
    else assert.equal(inner.size, 0, "the concurrent logout was not undone");
  }
});
