import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { jsonSerializer, MemoryStore, session, type SessionEnv, type SessionOptions, SqliteStore } from "../mod.ts";
import type { DeleteExpired, SessionStore, StoredSession, Touch, UpdateFn } from "../src/store/types.ts";
import {
  CookieJar,
  FakeClock,
  parseSetCookie,
  SECRET,
  setCookies,
  tempDir,
  truncateWal,
  walFrames,
} from "./helpers.ts";

type Data = {
  count: number;
  user: string;
  a: number;
  b: number;
  when: Date;
  tags: Set<string>;
  big: bigint;
  m: Map<string, number>;
};

/** A real store that counts calls, to assert what the middleware does. It wraps a MemoryStore: synchronous. */
class Counting implements SessionStore {
  calls: Record<string, number> = { get: 0, set: 0, delete: 0, touch: 0, update: 0 };
  inner: SessionStore;
  readonly synchronous = true;
  constructor(inner: SessionStore) {
    this.inner = inner;
  }
  get writes(): number {
    return this.calls.set! + this.calls.delete! + this.calls.touch! + this.calls.update!;
  }
  get(id: string) {
    this.calls.get!++;
    return this.inner.get(id);
  }
  set(id: string, s: StoredSession) {
    this.calls.set!++;
    return this.inner.set(id, s);
  }
  delete(id: string) {
    this.calls.delete!++;
    return this.inner.delete(id);
  }
  touch(id: string, e: number) {
    this.calls.touch!++;
    return (this.inner as SessionStore & Touch).touch(id, e);
  }
  update(id: string, fn: UpdateFn) {
    this.calls.update!++;
    return this.inner.update(id, fn);
  }
  deleteExpired(now?: number) {
    return (this.inner as SessionStore & DeleteExpired).deleteExpired(now);
  }
}

function makeApp(store: SessionStore, clock: FakeClock, extra: Partial<SessionOptions> = {}) {
  const app = new Hono<SessionEnv<Data>>();
  app.use(session({ secret: SECRET, store, clock: clock.fn, ...extra }));
  app.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
  app.get("/read", (c) => c.text(String(c.get("session").get("count") ?? "none")));
  app.get("/plain", (c) => c.text("plain"));
  app.get("/id", (c) => c.text(c.get("session").id));
  app.get("/isnew", (c) => c.text(String(c.get("session").isNew)));
  app.get("/login", (c) => {
    const s = c.get("session");
    s.set("user", "alice");
    s.regenerate();
    s.flash("notice", "Welcome, alice");
    return c.text("ok");
  });
  app.get("/flash", (c) => c.text(String(c.get("session").flash<string>("notice") ?? "none")));
  app.get("/logout", (c) => {
    c.get("session").destroy();
    return c.text("bye");
  });
  app.get("/set/:k/:v", (c) => {
    c.get("session").set(c.req.param("k") as "a" | "b", Number(c.req.param("v")));
    return c.text("ok");
  });
  app.get("/rich", (c) => {
    const s = c.get("session");
    s.set("when", new Date(Date.UTC(2020, 1, 3)));
    s.set("tags", new Set(["x", "y"]));
    s.set("big", 2n ** 70n);
    s.set("m", new Map([["k", 1]]));
    return c.text("ok");
  });
  app.get("/rich-check", (c) => {
    const s = c.get("session");
    return c.json({
      date: s.get("when") instanceof Date && s.get("when")!.toISOString(),
      set: s.get("tags") instanceof Set && [...s.get("tags")!],
      big: typeof s.get("big") === "bigint" && String(s.get("big")),
      map: s.get("m") instanceof Map && s.get("m")!.get("k"),
    });
  });
  app.get("/nostore", (c) => {
    const s = c.get("session");
    s.set("count", 99);
    s.options.noStore = true;
    return c.text("ok");
  });
  app.get("/late", (c) => {
    const s = c.get("session");
    s.options.lateStore = true;
    return c.text(String(s.update("count", (n) => (n ?? 0) + 1)));
  });
  return app;
}

function sqlite(clock: FakeClock) {
  const tmp = tempDir();
  const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn });
  return { store, cleanup: () => (store.close(), tmp.cleanup()) };
}

for (
  const [name, make] of [
    ["SqliteStore", sqlite],
    ["MemoryStore", (clock: FakeClock) => ({ store: new MemoryStore({ clock: clock.fn }), cleanup: () => {} })],
  ] as const
) {
  test(`session() counts across requests with a cookie jar (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const jar = new CookieJar(makeApp(store, clock));
      assert.equal(await jar.text("/inc"), "1");
      assert.equal(await jar.text("/inc"), "2");
      assert.equal(await jar.text("/inc"), "3");
      assert.equal(await jar.text("/read"), "3");
      const other = new CookieJar(jar.app);
      assert.equal(await other.text("/read"), "none");
    } finally {
      cleanup();
    }
  });

  test(`session() keeps Date, Set, BigInt and Map through the store with superjson (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const jar = new CookieJar(makeApp(store, clock));
      await jar.fetch("/rich");
      assert.deepEqual(await (await jar.fetch("/rich-check")).json(), {
        date: "2020-02-03T00:00:00.000Z",
        set: ["x", "y"],
        big: String(2n ** 70n),
        map: 1,
      });
    } finally {
      cleanup();
    }
  });

  test(`Session.regenerate() moves the data to a new id and deletes the old row (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const jar = new CookieJar(makeApp(store, clock));
      await jar.fetch("/inc");
      const before = await jar.text("/id");
      const oldCookie = jar.header();
      await jar.fetch("/login");
      const after = await jar.text("/id");
      assert.notEqual(after, before);
      assert.equal(await store.get(before), null);
      assert.equal(await jar.text("/read"), "1");
      // The pre-login cookie is dead: replaying it yields a fresh session.
      const replay = new CookieJar(jar.app);
      const res = await jar.app.request("http://localhost/read", { headers: { cookie: oldCookie } });
      assert.equal(await res.text(), "none");
      replay.take(res);
    } finally {
      cleanup();
    }
  });

  test(`Session.destroy() deletes the row and clears the cookie (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const jar = new CookieJar(makeApp(store, clock));
      await jar.fetch("/inc");
      const id = await jar.text("/id");
      const cookie = jar.header();
      const res = await jar.fetch("/logout");
      const cleared = setCookies(res).map(parseSetCookie);
      assert.equal(cleared.length, 1);
      assert.equal(cleared[0]!.value, "");
      assert.equal(cleared[0]!.attrs["max-age"], "0");
      assert.equal(await store.get(id), null);
      assert.equal(jar.cookies.size, 0);
      const replay = await jar.app.request("http://localhost/read", { headers: { cookie } });
      assert.equal(await replay.text(), "none");
    } finally {
      cleanup();
    }
  });

  test(`Session.flash() values survive until a request reads them (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const jar = new CookieJar(makeApp(store, clock));
      await jar.fetch("/login");
      assert.equal(await jar.text("/flash"), "Welcome, alice");
      assert.equal(await jar.text("/flash"), "none");
      // Unread, it outlives requests that don't read it, writing ones included.
      await jar.fetch("/login");
      await jar.fetch("/plain");
      await jar.fetch("/inc");
      await jar.fetch("/read");
      assert.equal(await jar.text("/flash"), "Welcome, alice");
      assert.equal(await jar.text("/flash"), "none");
    } finally {
      cleanup();
    }
  });

  test(`session() persists both keys of two concurrent requests writing different keys (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const app = makeApp(store, clock);
      const jar = new CookieJar(app);
      await jar.fetch("/set/a/0");
      // Both requests load the same snapshot before either commits.
      const gate = Promise.withResolvers<void>();
      const slow = new Hono<SessionEnv<Data>>();
      slow.use(session({ secret: SECRET, store, clock: clock.fn }));
      slow.get("/set/:k/:v", async (c) => {
        await gate.promise;
        c.get("session").set(c.req.param("k") as "a" | "b", Number(c.req.param("v")));
        return c.text("ok");
      });
      const headers = { cookie: jar.header() };
      const p1 = slow.request("http://localhost/set/a/1", { headers });
      const p2 = slow.request("http://localhost/set/b/2", { headers });
      await new Promise((r) => setTimeout(r, 5));
      gate.resolve();
      await Promise.all([p1, p2]);
      const check = new Hono<SessionEnv<Data>>();
      check.use(session({ secret: SECRET, store, clock: clock.fn }));
      check.get("/", (c) => c.json(c.get("session").toObject()));
      const data = await (await check.request("http://localhost/", { headers })).json();
      assert.deepEqual(data, { a: 1, b: 2 });
    } finally {
      cleanup();
    }
  });

  test(`Session.update() loses no increment across 50 concurrent requests (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const app = makeApp(store, clock);
      const jar = new CookieJar(app);
      await jar.fetch("/inc");
      const headers = { cookie: jar.header() };
      await Promise.all(Array.from({ length: 50 }, () => app.request("http://localhost/inc", { headers })));
      assert.equal(await jar.text("/read"), "51");
    } finally {
      cleanup();
    }
  });
}

test("session() creates nothing and sets no cookie for a request that does not write", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const app = makeApp(store, clock);
  for (const path of ["/plain", "/read", "/id", "/flash"]) {
    const res = await app.request(`http://localhost${path}`);
    assert.deepEqual(setCookies(res), [], path);
    assert.equal(res.headers.get("cache-control"), null);
  }
  assert.equal(store.calls.get, 0);
  assert.equal(store.writes, 0);
});

test("session() writes nothing for a loaded session that nothing changed", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const jar = new CookieJar(makeApp(store, clock));
  await jar.fetch("/inc");
  const writes = store.writes;
  for (let i = 0; i < 5; i++) {
    const res = await jar.fetch("/read");
    assert.deepEqual(setCookies(res), []);
  }
  assert.equal(store.writes, writes);
  assert.equal(store.calls.get, 5);
});

test("session() sets the cookie HttpOnly, SameSite=Lax, Path=/, Secure and __Host- but on http://localhost, and no-store", async () => {
  const clock = new FakeClock();
  const app = makeApp(new MemoryStore({ clock: clock.fn }), clock);
  const http = parseSetCookie(setCookies(await app.request("http://localhost/inc"))[0]!);
  assert.equal(http.name, "sid");
  assert.deepEqual(http.attrs, { path: "/", httponly: true, samesite: "Lax" });
  const res = await app.request("https://example.com/inc");
  const secure = parseSetCookie(setCookies(res)[0]!);
  assert.equal(secure.name, "__Host-sid");
  assert.equal(secure.attrs.secure, true);
  assert.equal(res.headers.get("cache-control"), "no-store");
});

test("session() leaves an app's own Cache-Control alone", async () => {
  const clock = new FakeClock();
  const app = new Hono<SessionEnv<Data>>();
  app.use(session({ secret: SECRET, store: new MemoryStore({ clock: clock.fn }), clock: clock.fn }));
  app.get("/", (c) => {
    c.get("session").set("count", 1);
    c.header("Cache-Control", "private, max-age=5");
    return c.text("ok");
  });
  const res = await app.request("http://localhost/");
  assert.equal(res.headers.get("cache-control"), "private, max-age=5");
});

test("session() answers tampered, forged and garbage cookies with a fresh session, never an error", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const app = makeApp(store, clock);
  const jar = new CookieJar(app);
  await jar.fetch("/inc");
  await jar.fetch("/inc");
  const good = jar.cookies.get("sid")!;
  const [id, sig] = good.split(".");
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  const bad = [
    flip(good, 0),
    flip(good, good.length - 1),
    `${id}.${flip(sig!, 5)}`,
    `${id}`,
    `${id}.`,
    `.${sig}`,
    `${"A".repeat(32)}.${sig}`,
    "garbage",
    "%",
    "x".repeat(100_000),
    `${good}.${sig}`,
    `${id}.${sig}x`,
    "",
  ];
  const gets = store.calls.get;
  for (const value of bad) {
    const res = await app.request("http://localhost/read", { headers: { cookie: `sid=${value}` } });
    assert.equal(res.status, 200, value.slice(0, 40));
    assert.equal(await res.text(), "none", value.slice(0, 40));
  }
  // None of them reached the store.
  assert.equal(store.calls.get, gets);
  // The real cookie still works.
  assert.equal(await jar.text("/read"), "2");
});

test("session() refuses a correctly signed id the store does not hold (no fixation)", async () => {
  const clock = new FakeClock();
  const reasons: string[] = [];
  const store = new MemoryStore({ clock: clock.fn });
  const app = makeApp(store, clock, { onInvalidToken: (_c, r) => void reasons.push(r) });
  const jar = new CookieJar(app);
  await jar.fetch("/inc");
  const id = await jar.text("/id");
  await store.delete(id);
  assert.equal(await jar.text("/isnew"), "true");
  assert.equal(await jar.text("/inc"), "1");
  assert.notEqual(await jar.text("/id"), id);
  // The dead token is not cleared (another request may have rotated it), so each request that reads it says so, until a write replaces it.
  assert.deepEqual(reasons, ["unknown", "unknown"]);
});

test("session() returns no session once the idle expiry has passed", async () => {
  const clock = new FakeClock();
  const jar = new CookieJar(makeApp(new MemoryStore({ clock: clock.fn }), clock, { expires: 60 }));
  await jar.fetch("/inc");
  clock.advance(59);
  assert.equal(await jar.text("/read"), "1");
  clock.advance(61);
  assert.equal(await jar.text("/read"), "none");
});

test("Session.options.noStore writes nothing and sets no cookie", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const jar = new CookieJar(makeApp(store, clock));
  const res = await jar.fetch("/nostore");
  assert.deepEqual(setCookies(res), []);
  assert.equal(store.writes, 0);
});

test("Session.options.lateStore sets the cookie at once and commits after the response", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const jar = new CookieJar(makeApp(store, clock));
  const res = await jar.fetch("/late");
  assert.equal(setCookies(res).length, 1);
  assert.equal(store.writes, 0, "nothing written before the response is handed back");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(store.writes, 1);
  assert.equal(await jar.text("/read"), "1");
});

test("session() with jsonSerializer stores plain JSON", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(makeApp(store, clock, { serializer: jsonSerializer }));
  await jar.fetch("/inc");
  const id = await jar.text("/id");
  assert.deepEqual(JSON.parse((await store.get(id))!.payload), { d: { count: 1 } });
});

test("session() fails at setup without a secret, with a short one, or with state and cookie both", () => {
  assert.throws(() => session({} as SessionOptions), TypeError);
  assert.throws(() => session({ secret: "short" }), {
    name: "RangeError",
    message: /at least 32 bytes: received 5/,
  });
  assert.throws(() => session({ secret: SECRET, store: new MemoryStore(), expires: -1 }), RangeError);
  assert.throws(
    () =>
      session({
        secret: SECRET,
        store: new MemoryStore(),
        cookie: {},
        state: { read: () => undefined, write() {}, clear() {} },
      }),
    /either state or cookie/,
  );
});

test("session() answers 503 with StoreUnavailableError when the store is gone", async () => {
  const clock = new FakeClock();
  const { store, cleanup } = sqlite(clock);
  const app = makeApp(store, clock);
  const jar = new CookieJar(app);
  await jar.fetch("/inc");
  cleanup();
  const res = await jar.fetch("/inc");
  assert.equal(res.status, 503);
});

test("session() persists nothing from a request that failed with an error or a 5xx", async () => {
  const clock = new FakeClock();
  const store = new Counting(new MemoryStore({ clock: clock.fn }));
  const app = makeApp(store, clock);
  app.get("/half-login", (c) => {
    c.get("session").set("user", "mallory");
    throw new Error("password check crashed");
  });
  app.get("/five-oh-three", (c) => {
    c.get("session").set("user", "mallory");
    return c.text("down", 503);
  });
  const jar = new CookieJar(app);
  await jar.fetch("/inc");
  const writes = store.writes;
  for (const path of ["/half-login", "/five-oh-three"]) {
    const res = await jar.fetch(path);
    assert.ok(res.status >= 500, path);
    assert.deepEqual(setCookies(res), [], path);
  }
  assert.equal(store.writes, writes);
  const check = await jar.app.request("http://localhost/read", { headers: { cookie: jar.header() } });
  assert.equal(await check.text(), "1");
  // A brand-new session that failed leaves nothing behind either.
  const anon = await app.request("http://localhost/half-login");
  assert.deepEqual(setCookies(anon), []);
  assert.equal(store.writes, writes);
});

test("Session.destroy() still ends the session when the request then fails", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const app = makeApp(store, clock);
  app.get("/logout-crash", (c) => {
    c.get("session").destroy();
    throw new Error("audit log unavailable");
  });
  const jar = new CookieJar(app);
  await jar.fetch("/inc");
  const id = await jar.text("/id");
  const cookie = jar.header();
  const res = await jar.fetch("/logout-crash");
  assert.equal(res.status, 500);
  assert.equal(parseSetCookie(setCookies(res)[0]!).attrs["max-age"], "0");
  assert.equal(await store.get(id), null);
  const replay = await app.request("http://localhost/read", { headers: { cookie } });
  assert.equal(await replay.text(), "none");
});

test("session() refuses name together with a store of its own, at setup", () => {
  assert.throws(() => session({ secret: SECRET, store: new MemoryStore(), name: "x" }), {
    name: "TypeError",
    message: /name only names the default store's file/,
  });
});

test("session() adds its cookie and Cache-Control to a response whose headers cannot change (Response.redirect) and keeps a text body's Content-Type", async () => {
  const app = new Hono<SessionEnv<{ a: number }>>();
  app.use(session({ secret: SECRET, store: new MemoryStore() }));
  app.get("/go", (c) => {
    c.get("session").set("a", 1);
    return Response.redirect("http://localhost/next", 302);
  });
  app.get("/text", (c) => {
    c.get("session").set("a", 1);
    return c.text("new");
  });
  const go = await app.request("http://localhost/go");
  assert.equal(go.status, 302);
  assert.equal(go.headers.get("location"), "http://localhost/next");
  assert.match(go.headers.get("set-cookie") ?? "", /^sid=/);
  assert.equal(go.headers.get("cache-control"), "no-store");
  const text = await app.request("http://localhost/text");
  assert.match(text.headers.get("set-cookie") ?? "", /^sid=/);
  assert.equal(text.headers.get("cache-control"), "no-store");
  assert.equal(await text.text(), "new");
  // Bun leaves a c.text() body's Content-Type implicit until it is sent; elsewhere it is a header.
  const type = text.headers.get("content-type");
  assert.ok(type === null || type.startsWith("text/plain"), `content-type: ${type}`);
});

test("session() with refreshThreshold 0 ends a session expires seconds after its last write, never after a read", async () => {
  const clock = new FakeClock();
  const jar = new CookieJar(makeApp(new MemoryStore({ clock: clock.fn }), clock, { expires: 60, refreshThreshold: 0 }));
  await jar.fetch("/inc");
  clock.advance(50);
  assert.equal(await jar.text("/inc"), "2"); // a write at 50 s: the session now ends at 110 s
  clock.advance(50);
  assert.equal(await jar.text("/read"), "2"); // 100 s: alive; a read does not move the expiry
  clock.advance(11);
  assert.equal(await jar.text("/read"), "none"); // 111 s: gone
});

test("session() does not re-send a persistent cookie for a data write that leaves the expiry where it was", async () => {
  const clock = new FakeClock();
  const jar = new CookieJar(makeApp(new MemoryStore({ clock: clock.fn }), clock, { cookie: { persistent: true } }));
  const first = await jar.fetch("/inc");
  assert.equal(parseSetCookie(setCookies(first)[0]!).attrs["max-age"], "3600");
  clock.advance(10);
  const write = await jar.fetch("/inc");
  assert.equal(await write.text(), "2");
  assert.deepEqual(setCookies(write), [], "expiry unchanged: no new Max-Age to send");
  clock.advance(55); // 65 s since the expiry was set: a refresh is due with the next write
  const refreshed = await jar.fetch("/inc");
  assert.equal(parseSetCookie(setCookies(refreshed)[0]!).attrs["max-age"], "3600");
});

test("session() on SqliteStore: concurrent requests share one commit, and the one whose write is too large fails alone", async () => {
  const tmp = tempDir();
  const path = tmp.file("s.sqlite");
  const store = new SqliteStore({ path });
  try {
    const app = new Hono<SessionEnv<Record<string, string>>>();
    app.use(session({ secret: SECRET, store, maxPayloadBytes: 4096 }));
    app.get("/set/:k", (c) => {
      const k = c.req.param("k");
      c.get("session").set(k, k === "big" ? "x".repeat(10_000) : k);
      return c.text("ok");
    });
    app.get("/", (c) => c.json(c.get("session").toObject()));
    const jar = new CookieJar(app);
    assert.equal((await jar.fetch("/set/first")).status, 200);
    // From here on, the WAL shows how many commits rewrote the session's page.
    truncateWal(path);
    const keys = ["a", "b", "c", "big", "d", "e", "f", "g"];
    const statuses = await Promise.all(keys.map(async (k) => (await jar.fetch(`/set/${k}`)).status));
    assert.deepEqual(statuses, keys.map((k) => (k === "big" ? 500 : 200)));
    const frames = walFrames(path);
    assert.ok(frames <= 3, `7 concurrent writes of one session wrote ${frames} WAL frames: not one shared commit`);
    // Every other request's key landed; the oversize one wrote nothing.
    assert.deepEqual(await (await jar.fetch("/")).json(), {
      first: "first",
      a: "a",
      b: "b",
      c: "c",
      d: "d",
      e: "e",
      f: "f",
      g: "g",
    });
  } finally {
    store.close();
    tmp.cleanup();
  }
});

test("session() on SqliteStore: destroyUserSessions() lands after a sign-in whose commit was queued before it", async () => {
  // With group commit a finished request's commit waits for the end of the event-loop turn; a
  // "sign out everywhere" issued later in that turn must still end the session it creates.
  const tmp = tempDir();
  const store = new SqliteStore({ path: tmp.file("s.sqlite") });
  try {
    const app = new Hono<SessionEnv<{ user: string }>>();
    app.use(session({ secret: SECRET, store }));
    app.get("/login", (c) => {
      c.get("session").setUser("alice");
      c.get("session").set("user", "alice");
      return c.text("in");
    });
    app.get("/everywhere", async (c) => {
      // Let the sign-in's middleware queue its commit first.
      for (let i = 0; i < 20; i++) await Promise.resolve();
      return c.text(String(await c.get("session").destroyUserSessions("alice")));
    });
    const device = new CookieJar(app);
    const [login, ended] = await Promise.all([device.fetch("/login"), new CookieJar(app).text("/everywhere")]);
    assert.equal(login.status, 200);
    assert.equal(ended, "1", "the sign-in queued first was ended");
    assert.equal(await store.get(device.cookies.get("sid")!.split(".")[0]!), null);
  } finally {
    store.close();
    tmp.cleanup();
  }
});
