/**
 * Lazy sessions on every store, through a real Hono app (app.request and a
 * cookie jar): a signed-in request whose handler never touches the session
 * makes no store call and sends nothing to the backend. On a store that
 * answers asynchronously (RedisStore, D1Store, DenoKvStore) a handler loads
 * the session with `await c.get("session").load()`; the guarantees hold (no
 * lost update across two app instances, a failed request commits nothing, a
 * destroy on one instance is honoured by the other), and `preload`,
 * `touch: "always"`, binding and `onInvalidToken` keep working.
 *
 * Calls are counted twice: at the store contract (a proxy around the real
 * store) and at the backend (Redis commands, D1 statements, Deno KV calls).
 * RedisStore runs when `npm test` started a redis-server, DenoKvStore on Deno.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { SessionError, StoreUnavailableError } from "../src/errors.ts";
import { generateId } from "../src/id.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import type { InvalidTokenReason, SessionOptions } from "../src/session/options.ts";
import { type D1DatabaseLike, type D1PreparedStatementLike, D1Store } from "../src/store/d1.ts";
import { type DenoKvLike, DenoKvStore } from "../src/store/deno-kv.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { toCommander } from "../src/store/redis/commander.ts";
import { RedisStore } from "../src/store/redis.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import { isSynchronousStore, type SessionStore } from "../src/store/types.ts";
import { localD1Fixture } from "./fixtures/d1.ts";
import { CLIENTS, connect, dropPrefix, REDIS_URL, type TestClient } from "./fixtures/redis-clients.ts";
import { CookieJar, FakeClock, SECRET, setCookies, tempDir } from "./helpers.ts";

type Data = { count: number; user: string; seen: number };

/** One backend the stores of a test share, as several app instances (processes, machines) would. */
interface Backend {
  /** A new store on the backend, as one app instance opens it. */
  open(): SessionStore | Promise<SessionStore>;
  /** Operations sent to the backend so far (Redis commands, D1 statements, KV calls); 0 for in-process stores. */
  io(): number;
  cleanup(): void | Promise<void>;
}

/** Round trips of one request, by what its handler does: the table of docs/stores.md ("What a request costs"). */
interface Costs {
  plain: number;
  read: number;
  refresh: number;
  write: number;
  new: number;
  login: number;
  logout: number;
  always: number;
  preload: number;
}

interface Case {
  name: string;
  skip?: string;
  /** What each request sends to the backend, for the stores that answer asynchronously. */
  costs?: Costs;
  make(clock: FakeClock): Promise<Backend>;
}

type Kv = DenoKvLike & { close(): void };
const deno = (globalThis as { Deno?: { openKv?: (path: string) => Promise<Kv> } }).Deno;

const localD1 = localD1Fixture();

const CASES: Case[] = [
  {
    name: "MemoryStore",
    make: async (clock) => {
      const store = new MemoryStore({ clock: clock.fn });
      return { open: () => store, io: () => 0, cleanup: () => store.close() };
    },
  },
  {
    name: "SqliteStore",
    make: async (clock) => {
      const tmp = tempDir("satchel-lazy-");
      const opened: SqliteStore[] = [];
      return {
        open: () => {
          const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn });
          opened.push(store);
          return store;
        },
        io: () => 0,
        cleanup: () => {
          for (const s of opened) s.close();
          tmp.cleanup();
        },
      };
    },
  },
  {
    name: "RedisStore",
    costs: { plain: 0, read: 1, refresh: 2, write: 2, new: 1, login: 5, logout: 2, always: 1, preload: 1 },
    skip: REDIS_URL === undefined ? "no redis-server: run through npm test" : undefined,
    make: async (clock) => {
      const prefix = `satchel-lazy:${generateId().slice(0, 10)}:`;
      const clients: TestClient[] = [];
      let sent = 0;
      return {
        open: async () => {
          const c = await connect(CLIENTS[0]!, REDIS_URL!);
          clients.push(c);
          const inner = toCommander(c.client)!;
          const client = { command: (args: string[], key: string) => (sent++, inner.command(args, key)) };
          return new RedisStore({ client, prefix, clock: clock.fn });
        },
        io: () => sent,
        cleanup: async () => {
          if (clients[0] !== undefined) await dropPrefix(clients[0], prefix);
          for (const c of clients) await c.close();
        },
      };
    },
  },
  {
    name: "D1Store",
    costs: { plain: 0, read: 1, refresh: 2, write: 2, new: 1, login: 4, logout: 2, always: 1, preload: 1 },
    make: async (clock) => {
      const { db } = await localD1();
      const table = `t_${generateId().replace(/-/g, "_")}`;
      let sent = 0;
      // A statement run (first, run, all) or a batch is one round trip to D1; preparing and binding are none.
      const raw = new WeakMap<D1PreparedStatementLike, D1PreparedStatementLike>();
      const wrap = (st: D1PreparedStatementLike): D1PreparedStatementLike => {
        const wrapped: D1PreparedStatementLike = {
          bind: (...values) => wrap(st.bind(...values)),
          first: () => (sent++, st.first()),
          run: () => (sent++, st.run()),
          all: () => (sent++, st.all()),
        };
        raw.set(wrapped, st);
        return wrapped;
      };
      const counted: D1DatabaseLike = {
        prepare: (sql) => wrap(db.prepare(sql)),
        batch: (statements) => (sent++, db.batch(statements.map((st) => raw.get(st) ?? st))),
      };
      return { open: () => new D1Store({ db: counted, table, clock: clock.fn }), io: () => sent, cleanup: () => {} };
    },
  },
  {
    name: "DenoKvStore",
    costs: { plain: 0, read: 1, refresh: 3, write: 2, new: 2, login: 5, logout: 3, always: 1, preload: 1 },
    skip: typeof deno?.openKv !== "function" ? "Deno KV exists only in Deno (with --unstable-kv)" : undefined,
    make: async (clock) => {
      const tmp = tempDir("satchel-lazy-kv-");
      const opened: Kv[] = [];
      let sent = 0;
      return {
        open: async () => {
          const kv = await deno!.openKv!(tmp.file("kv.sqlite"));
          opened.push(kv);
          // Every call on the handle is one round trip: get, getMany, list, and atomic() (for its commit).
          const counted = new Proxy(kv, {
            get(target, prop) {
              const value = Reflect.get(target, prop, target);
              if (typeof value !== "function") return value;
              return (...args: unknown[]) => (sent++, value.apply(target, args));
            },
          });
          return new DenoKvStore({ kv: counted, clock: clock.fn });
        },
        io: () => sent,
        cleanup: () => {
          for (const kv of opened) kv.close();
          tmp.cleanup();
        },
      };
    },
  },
];

/** The methods of the store contract, each a call the middleware makes. */
const STORE_METHODS = new Set([
  "get",
  "set",
  "delete",
  "touch",
  "update",
  "deleteExpired",
  "deleteByUser",
  "listByUser",
]);

/** A real store behind a proxy that counts the calls made to each method of the store contract. */
class Counted {
  readonly calls = new Map<string, number>();
  /** Make the next `get` fail as an unreachable store would. */
  failNextGet = false;
  readonly store: SessionStore;
  constructor(inner: SessionStore) {
    const calls = this.calls;
    this.store = new Proxy(inner, {
      get: (target, prop) => {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        if (typeof prop !== "string" || !STORE_METHODS.has(prop)) return value.bind(target);
        return (...args: unknown[]) => {
          calls.set(prop, (calls.get(prop) ?? 0) + 1);
          if (prop === "get" && this.failNextGet) {
            this.failNextGet = false;
            throw new StoreUnavailableError("Cannot read session: the store is unreachable (test)");
          }
          return value.apply(target, args);
        };
      },
    });
  }
  count(method: string): number {
    return this.calls.get(method) ?? 0;
  }
  get total(): number {
    return [...this.calls.values()].reduce((a, b) => a + b, 0);
  }
  get writes(): number {
    return this.count("set") + this.count("delete") + this.count("touch") + this.count("update");
  }
}

/** The routes: each that uses the session loads it first, as portable code does, except /sync. */
function makeApp(store: SessionStore, clock: FakeClock, extra: Partial<SessionOptions> = {}) {
  const app = new Hono<SessionEnv<Data>>();
  const errors: Error[] = [];
  app.use(session({ secret: SECRET, store, clock: clock.fn, ...extra }));
  app.get("/plain", (c) => c.text("plain"));
  app.get("/loaded", async (c) => (await c.get("session").load(), c.text("loaded")));
  app.get("/read", async (c) => c.text(String((await c.get("session").load()).get("count") ?? "none")));
  app.get("/inc", async (c) => c.text(String((await c.get("session").load()).update("count", (n) => (n ?? 0) + 1))));
  app.get("/whoami", async (c) => c.text((await c.get("session").load()).get("user") ?? "nobody"));
  app.get("/login/:user", async (c) => {
    const s = await c.get("session").load();
    s.regenerate();
    s.setUser(c.req.param("user"));
    s.set("user", c.req.param("user"));
    return c.text("ok");
  });
  app.get("/new", async (c) => {
    (await c.get("session").load()).set("seen", 1);
    return c.text("new");
  });
  app.get("/logout", async (c) => {
    (await c.get("session").load()).destroy();
    return c.text("bye");
  });
  app.get("/fail", async (c) => {
    (await c.get("session").load()).update("count", (n) => (n ?? 0) + 100);
    throw new Error("the handler crashed after its write");
  });
  app.get("/twice", async (c) => {
    const s = c.get("session");
    const [a, b] = await Promise.all([s.load(), s.load()]);
    assert.ok(a === s && b === s, "load() resolves to the session itself");
    await s.load();
    return c.text(String(s.get("count") ?? "none"));
  });
  app.get("/retry", async (c) => {
    const s = c.get("session");
    await assert.rejects(s.load(), StoreUnavailableError);
    return c.text(String((await s.load()).get("count") ?? "none"));
  });
  // The synchronous API without load(): works on stores that answer synchronously, refused on the others.
  app.get("/sync", (c) => c.text(String(c.get("session").get("count") ?? "none")));
  app.get("/everywhere", async (c) => c.text(String(await c.get("session").destroyUserSessions())));
  app.onError((err, c) => {
    errors.push(err);
    return err instanceof HTTPException ? err.getResponse() : c.text("internal error", 500);
  });
  return Object.assign(app, { errors });
}

const get = (app: { request: Hono["request"] }, path: string, headers: Record<string, string> = {}) =>
  Promise.resolve(app.request(`http://localhost${path}`, { headers }));

for (const kase of CASES) {
  /** A test on a fresh backend of this store, cleaned up after. */
  const storeTest = (name: string, fn: (backend: Backend, clock: FakeClock) => Promise<void>) =>
    test(`${name} (${kase.name})`, { skip: kase.skip, timeout: 60_000 }, async () => {
      // The real time: RedisStore hands Redis relative TTLs, and D1 and Deno KV compare with it too.
      const clock = new FakeClock(Date.now());
      const backend = await kase.make(clock);
      try {
        await fn(backend, clock);
      } finally {
        await backend.cleanup();
      }
    });

  storeTest(
    "session() makes no store call for a signed-in request whose handler never touches the session",
    async (backend, clock) => {
      const counted = new Counted(await backend.open());
      const app = makeApp(counted.store, clock);
      const jar = new CookieJar(app);
      assert.equal(await jar.text("/login/alice"), "ok");
      assert.equal(await jar.text("/inc"), "1");
      const [calls, io] = [counted.total, backend.io()];
      clock.advance(3590); // a refresh would be due, were an untouched request activity
      for (let i = 0; i < 10; i++) {
        const res = await jar.fetch("/plain");
        assert.equal(await res.text(), "plain");
        assert.deepEqual(setCookies(res), []);
      }
      const [id, sig] = jar.cookies.get("sid")!.split(".");
      for (const cookie of [`sid=${id}.${sig}x`, "sid=garbage", ""]) {
        const res = await get(app, "/plain", cookie === "" ? {} : { cookie });
        assert.deepEqual([res.status, setCookies(res)], [200, []], cookie);
      }
      assert.equal(counted.total - calls, 0, "no call to the store");
      assert.equal(backend.io() - io, 0, "nothing sent to the backend");
      assert.equal(await jar.text("/read"), "1", "the session is still there, and a touched request still reads it");
    },
  );

  if (kase.costs !== undefined) {
    const costs = kase.costs;
    storeTest(
      "session() costs the round trips docs/stores.md says, for each kind of request",
      async (backend, clock) => {
        const store = await backend.open();
        const apps = {
          lazy: makeApp(store, clock),
          always: makeApp(store, clock, { touch: "always" }),
          preload: makeApp(store, clock, { preload: true }),
        };
        const measured: Partial<Costs> = {};
        // Twice: the first pass loads the store's scripts (Redis answers NOSCRIPT once), the second is measured.
        for (let pass = 0; pass < 2; pass++) {
          const jar = new CookieJar(apps.lazy);
          const step = async (kind: keyof Costs, path: string, app: Hono<SessionEnv<Data>> = apps.lazy) => {
            const before = backend.io();
            const res = await get(app, path, { cookie: jar.header() });
            assert.ok(res.status < 400, `${kind}: ${res.status}`);
            jar.take(res);
            measured[kind] = backend.io() - before;
          };
          await step("new", "/inc");
          await step("plain", "/plain");
          await step("read", "/read");
          await step("write", "/inc");
          await step("always", "/plain", apps.always);
          await step("preload", "/plain", apps.preload);
          clock.advance(61); // past the default refreshThreshold (expires - 60 s)
          await step("refresh", "/read");
          await step("login", "/login/alice");
          await step("logout", "/logout");
        }
        assert.deepEqual(measured, costs);
      },
    );
  }

  storeTest(
    "Session.load() loads once for concurrent and repeated calls, then read, inc, new and logout work",
    async (backend, clock) => {
      const counted = new Counted(await backend.open());
      const jar = new CookieJar(makeApp(counted.store, clock));
      assert.equal(await jar.text("/twice"), "none");
      assert.equal(counted.count("get"), 0, "no token: nothing to get");
      assert.equal(await jar.text("/new"), "new");
      assert.equal(await jar.text("/inc"), "1");
      const gets = counted.count("get");
      assert.equal(await jar.text("/twice"), "1");
      assert.equal(counted.count("get") - gets, 1, "three load() calls, one store.get");
      assert.equal(await jar.text("/inc"), "2");
      assert.equal(await jar.text("/read"), "2");
      assert.equal(await jar.text("/logout"), "bye");
      assert.deepEqual([...jar.cookies.keys()], [], "logout cleared the cookie");
      assert.equal(await jar.text("/read"), "none");
    },
  );

  storeTest(
    "Session.load() alone is not a use: the request writes nothing and does not slide the expiry",
    async (backend, clock) => {
      const counted = new Counted(await backend.open());
      const jar = new CookieJar(makeApp(counted.store, clock));
      assert.equal(await jar.text("/inc"), "1");
      const [gets, writes] = [counted.count("get"), counted.writes];
      clock.advance(3590); // a refresh would be due, were loading a use
      const res = await jar.fetch("/loaded");
      assert.deepEqual([await res.text(), setCookies(res)], ["loaded", []]);
      assert.deepEqual([counted.count("get") - gets, counted.writes - writes], [1, 0], "one read, no write");
      clock.advance(11);
      assert.equal(await jar.text("/read"), "none", "the idle expiry did not move");
    },
  );

  storeTest("Session.load() rejects when the store fails, and a later load() tries again", async (backend, clock) => {
    const counted = new Counted(await backend.open());
    const jar = new CookieJar(makeApp(counted.store, clock));
    assert.equal(await jar.text("/inc"), "1");
    counted.failNextGet = true;
    assert.equal(await jar.text("/retry"), "1");
  });

  storeTest(
    "session() without load() or preload: the synchronous API answers synchronous stores, and a SessionError naming load() otherwise",
    async (backend, clock) => {
      const inner = await backend.open();
      const counted = new Counted(inner);
      const app = makeApp(counted.store, clock);
      const jar = new CookieJar(app);
      assert.equal(await jar.text("/inc"), "1");
      const writes = counted.writes;
      const res = await jar.fetch("/sync");
      if (isSynchronousStore(inner)) {
        assert.equal(await res.text(), "1");
        return;
      }
      assert.equal(res.status, 500);
      assert.deepEqual(setCookies(res), []);
      const [err] = app.errors;
      assert.ok(err instanceof SessionError, String(err));
      assert.match(err.message, /^Cannot use the session before it is loaded: /);
      assert.ok(err.message.includes('await c.get("session").load()'), err.message);
      assert.ok(err.message.includes("preload: true"), err.message);
      assert.equal(counted.writes, writes, "the refused request committed nothing");
      // Without a token too: the rule does not depend on who is asking.
      assert.equal((await get(app, "/sync")).status, 500);
    },
  );

  storeTest(
    "session({ preload: true }) loads before the handler on an asynchronous store, so the synchronous API works",
    async (backend, clock) => {
      const inner = await backend.open();
      const counted = new Counted(inner);
      const jar = new CookieJar(makeApp(counted.store, clock, { preload: true }));
      assert.equal(await jar.text("/inc"), "1");
      assert.equal(await jar.text("/sync"), "1");
      const [gets, writes] = [counted.count("get"), counted.writes];
      assert.equal(await jar.text("/plain"), "plain");
      // Preloading costs one read on an asynchronous store; synchronous ones load on first use regardless.
      assert.equal(counted.count("get") - gets, isSynchronousStore(inner) ? 0 : 1);
      assert.equal(counted.writes, writes, "a preloaded session nobody used writes nothing");
    },
  );

  storeTest(
    "session() keeps every increment of concurrent requests spread over two app instances",
    async (backend, clock) => {
      const a = makeApp(await backend.open(), clock);
      const b = makeApp(await backend.open(), clock);
      const jar = new CookieJar(a);
      assert.equal(await jar.text("/inc"), "1");
      const cookie = jar.header();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => get(i % 2 === 0 ? a : b, "/inc", { cookie })),
      );
      assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
      assert.equal(await jar.text("/read"), "21");
      assert.equal(await (await get(b, "/read", { cookie })).text(), "21");
    },
  );

  storeTest("session() commits nothing from a request that failed after load() and a write", async (backend, clock) => {
    const counted = new Counted(await backend.open());
    const jar = new CookieJar(makeApp(counted.store, clock));
    assert.equal(await jar.text("/inc"), "1");
    const writes = counted.writes;
    const res = await jar.fetch("/fail");
    assert.equal(res.status, 500);
    assert.deepEqual(setCookies(res), []);
    assert.equal(counted.writes, writes);
    assert.equal(await jar.text("/read"), "1");
  });

  storeTest(
    "session() on another app instance treats a token destroyed on the first as a fresh session",
    async (backend, clock) => {
      const a = makeApp(await backend.open(), clock);
      const b = makeApp(await backend.open(), clock, { touch: "always" });
      const jar = new CookieJar(a);
      assert.equal(await jar.text("/login/alice"), "ok");
      assert.equal(await jar.text("/inc"), "1");
      const old = jar.header();
      assert.equal(await (await get(b, "/whoami", { cookie: old })).text(), "alice");
      assert.equal(await jar.text("/logout"), "bye");
      for (const app of [a, b]) {
        assert.equal(await (await get(app, "/plain", { cookie: old })).text(), "plain");
        assert.equal(await (await get(app, "/whoami", { cookie: old })).text(), "nobody");
        assert.equal(await (await get(app, "/read", { cookie: old })).text(), "none");
      }
      const res = await get(b, "/inc", { cookie: old });
      assert.equal(await res.text(), "1", "a write starts a new session");
      assert.ok(!setCookies(res)[0]!.startsWith(old), "under a new id");
      assert.equal(await (await get(a, "/whoami", { cookie: old })).text(), "nobody");
    },
  );

  storeTest("Session.destroyUserSessions() loads the session itself", async (backend, clock) => {
    const app = makeApp(await backend.open(), clock);
    const [one, two] = [new CookieJar(app), new CookieJar(app)];
    assert.equal(await one.text("/login/alice"), "ok");
    assert.equal(await two.text("/login/alice"), "ok");
    assert.equal(await one.text("/everywhere"), "2");
    assert.equal(await one.text("/whoami"), "nobody");
    assert.equal(await two.text("/whoami"), "nobody");
  });

  storeTest(
    'session({ touch: "always" }) slides the expiry of a request that never touches the session',
    async (backend, clock) => {
      const counted = new Counted(await backend.open());
      const jar = new CookieJar(makeApp(counted.store, clock, { touch: "always" }));
      assert.equal(await jar.text("/inc"), "1");
      clock.advance(3590);
      assert.equal(await jar.text("/plain"), "plain");
      assert.equal(counted.count("touch"), 1, "the commit loaded the session and refreshed it");
      clock.advance(3590);
      assert.equal(await jar.text("/read"), "1", "alive 7180 s after its last write");
    },
  );

  storeTest(
    'session() with bind checks the binding only when the session loads: at first use, or at commit with touch: "always"',
    async (backend, clock) => {
      const reasons: InvalidTokenReason[] = [];
      const options: Partial<SessionOptions> = {
        bind: { userAgent: true },
        onInvalidToken: (_c, reason) => void reasons.push(reason),
      };
      const store = await backend.open();
      const lazy = makeApp(store, clock, options);
      const always = makeApp(store, clock, { ...options, touch: "always" });
      const jar = new CookieJar(lazy);
      assert.equal(await jar.text("/inc", { headers: { "user-agent": "A" } }), "1");
      const cookie = jar.header();
      const thief = { cookie, "user-agent": "B" };
      assert.equal(await (await get(lazy, "/plain", thief)).text(), "plain");
      assert.deepEqual(reasons, [], "an untouched request never verifies the token");
      assert.equal(await (await get(lazy, "/read", { cookie, "user-agent": "A" })).text(), "1");
      const res = await get(always, "/plain", thief);
      assert.equal(await res.text(), "plain");
      assert.deepEqual(reasons, ["binding"]);
      assert.equal(
        await (await get(lazy, "/read", { cookie, "user-agent": "A" })).text(),
        "none",
        "the bound session ended",
      );
    },
  );
}

test("session() refuses a preload that is not a boolean, at setup", () => {
  for (const preload of ["yes", 1, null]) {
    assert.throws(() => session({ secret: SECRET, store: new MemoryStore(), preload: preload as never }), {
      name: "TypeError",
      message: /^Cannot create session middleware: preload must be true or false: received /,
    });
  }
});
