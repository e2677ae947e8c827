/**
 * Expiry through a real Hono app (app.request + CookieJar) on real stores:
 * idle vs absolute timeouts, refresh only past the threshold (writes counted
 * by a wrapper around a real store), Max-Age of persistent cookies, a store
 * of 200,000 live sessions, and a sweep while requests run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Context, Hono } from "hono";
import { MemoryStore, session, type SessionEnv, type SessionOptions, SqliteStore } from "../mod.ts";
import { RedisStore } from "../src/store/redis.ts";
import { CookieStore } from "../src/store/cookie.ts";
import { generateId, ID_LENGTH } from "../src/id.ts";
import { openSqlite } from "../src/store/sqlite/driver.ts";
import {
  type DeleteExpired,
  isRequestBound,
  type RequestBound,
  type SessionStore,
  type StoredSession,
  type Touch,
  type UpdateFn,
} from "../src/store/types.ts";
import { connect, dropPrefix, REDIS_URL } from "./fixtures/redis-clients.ts";
import { CookieJar, FakeClock, parseSetCookie, SECRET, setCookies, tempDir } from "./helpers.ts";

type Data = { count: number };

/** A real store that counts the calls the middleware makes (through per-request views too). */
class Counting implements SessionStore {
  calls = { get: 0, set: 0, delete: 0, touch: 0, update: 0 };
  inner: SessionStore | RequestBound;
  constructor(inner: SessionStore | RequestBound, calls?: Counting["calls"]) {
    this.inner = inner;
    if (calls !== undefined) this.calls = calls;
  }
  get maxPayloadBytes() {
    return this.inner.maxPayloadBytes;
  }
  forRequest(c: Context): SessionStore {
    return isRequestBound(this.inner) ? new Counting(this.inner.forRequest(c), this.calls) : this;
  }
  get writes(): number {
    return this.calls.set + this.calls.delete + this.calls.touch + this.calls.update;
  }
  reset(): void {
    for (const k of Object.keys(this.calls) as (keyof Counting["calls"])[]) this.calls[k] = 0;
  }
  get(id: string) {
    this.calls.get++;
    return (this.inner as SessionStore).get(id);
  }
  set(id: string, s: StoredSession) {
    this.calls.set++;
    return (this.inner as SessionStore).set(id, s);
  }
  delete(id: string) {
    this.calls.delete++;
    return (this.inner as SessionStore).delete(id);
  }
  touch(id: string, expiresAt: number) {
    this.calls.touch++;
    return (this.inner as SessionStore & Touch).touch(id, expiresAt);
  }
  update(id: string, fn: UpdateFn) {
    this.calls.update++;
    return (this.inner as SessionStore).update(id, fn);
  }
  deleteExpired(now?: number) {
    return (this.inner as SessionStore & DeleteExpired).deleteExpired(now);
  }
}

/** A store under test. */
interface Fixture {
  store: SessionStore | RequestBound;
  /** How many rows it holds, expired ones included ("deleted" means gone); absent where the engine expires rows itself or the data lives in the client. */
  rows?: () => number | Promise<number>;
  /** Whether `store.get(id)` can be called outside a request (not for CookieStore). */
  inspectable: boolean;
  cleanup(): void | Promise<void>;
}

function sqliteRows(path: string, table = "satchel_sessions"): number {
  const db = openSqlite(path, { readonly: true });
  try {
    return Number(Object.values(db.prepare(`SELECT count(*) FROM ${table}`).get()!)[0]);
  } finally {
    db.close();
  }
}

/**
 * Every store whose expiry follows the injected clock. NullStore keeps
 * nothing, so there is no expiry to test. RedisStore runs when the suite
 * started a redis-server (npm test): its clock starts at the real time,
 * because the TTLs it gives Redis are relative, and Redis itself removes
 * a key at its TTL, so no row count is asserted for it.
 */
const STORES: [string, (clock: FakeClock) => Fixture | Promise<Fixture>][] = [
  ["SqliteStore", (clock) => {
    const tmp = tempDir();
    const path = tmp.file("s.sqlite");
    const store = new SqliteStore({ path, clock: clock.fn });
    return { store, rows: () => sqliteRows(path), inspectable: true, cleanup: () => (store.close(), tmp.cleanup()) };
  }],
  ["MemoryStore", (clock) => {
    const store = new MemoryStore({ clock: clock.fn });
    return { store, rows: () => store.size, inspectable: true, cleanup: () => store.close() };
  }],
  ["CookieStore", (clock) => {
    const store = new CookieStore({ secret: `${SECRET}-data`, clock: clock.fn });
    return { store, inspectable: false, cleanup: () => {} };
  }],
];
if (REDIS_URL !== undefined) {
  const url = REDIS_URL;
  STORES.push(["RedisStore", async (clock) => {
    clock.now = Date.now();
    const c = await connect("ioredis", url);
    const prefix = `satchel-expiry-${crypto.randomUUID()}:`;
    const store = new RedisStore({ client: c.client, prefix, clock: clock.fn });
    return { store, inspectable: true, cleanup: async () => (await dropPrefix(c, prefix), await c.close()) };
  }]);
}

function makeApp(store: SessionStore | RequestBound, clock: FakeClock, extra: Partial<SessionOptions> = {}) {
  const app = new Hono<SessionEnv<Data>>();
  app.use(session({ secret: SECRET, store, clock: clock.fn, ...extra }));
  // load() first: the Counting wrapper (and RedisStore) answer asynchronously; on the others it resolves at once.
  app.get("/inc", async (c) => c.text(String((await c.get("session").load()).update("count", (n) => (n ?? 0) + 1))));
  app.get("/read", async (c) => c.text(String((await c.get("session").load()).get("count") ?? "none")));
  app.get("/id", async (c) => c.text((await c.get("session").load()).id));
  return app;
}

/** The session cookie a response set, parsed, or undefined. */
function sessionCookie(res: Response) {
  const line = setCookies(res).find((l) => l.startsWith("sid="));
  return line === undefined ? undefined : parseSetCookie(line);
}

for (const [name, make] of STORES) {
  test(`session() ends a session idle for expires seconds: a new empty one, the old row deleted (${name})`, async () => {
    const clock = new FakeClock();
    const { store, rows, cleanup } = await make(clock);
    try {
      const jar = new CookieJar(makeApp(store, clock, { expires: 60 }));
      assert.equal(await jar.text("/inc"), "1");
      clock.advance(59);
      assert.equal(await jar.text("/read"), "1");
      clock.advance(59); // 118 s after creation, 59 s after the last request: the read slid the expiry
      assert.equal(await jar.text("/read"), "1");
      if (rows) assert.equal(await rows(), 1);
      clock.advance(60); // idle exactly `expires`
      const res = await jar.fetch("/read");
      assert.equal(await res.text(), "none");
      assert.equal(
        sessionCookie(res),
        undefined,
        "the dead token is left alone (never cleared for a session that is gone)",
      );
      if (rows) assert.equal(await rows(), 0, "the expired row is deleted when seen, not left for the sweep");
      assert.equal(await jar.text("/inc"), "1", "a new session starts empty");
    } finally {
      await cleanup();
    }
  });

  test(`session() ends a session absoluteTimeout seconds after creation however active, and deletes its row (${name})`, async () => {
    const clock = new FakeClock();
    const { store, rows, cleanup } = await make(clock);
    try {
      const jar = new CookieJar(makeApp(store, clock, { expires: 60, absoluteTimeout: 300 }));
      assert.equal(await jar.text("/inc"), "1");
      const firstId = await jar.text("/id");
      for (let i = 2; i <= 6; i++) {
        clock.advance(50);
        assert.equal(await jar.text("/inc"), String(i));
      }
      clock.advance(40); // 290 s: idle 40 s, before the absolute deadline
      assert.equal(await jar.text("/read"), "6");
      clock.advance(10); // 300 s
      assert.equal(await jar.text("/read"), "none");
      if (rows) assert.equal(await rows(), 0);
      assert.equal(await jar.text("/inc"), "1");
      assert.notEqual(await jar.text("/id"), firstId);
    } finally {
      await cleanup();
    }
  });

  test(`session() enforces absoluteTimeout on a session stored before it was configured (${name})`, async () => {
    const clock = new FakeClock();
    const { store, rows, cleanup } = await make(clock);
    try {
      const before = new CookieJar(makeApp(store, clock, { expires: 60 }));
      assert.equal(await before.text("/inc"), "1");
      for (let i = 0; i < 8; i++) {
        clock.advance(50);
        await before.text("/inc");
      }
      assert.equal(await before.text("/read"), "9", "400 s old, alive without an absolute timeout");
      const after = new CookieJar(makeApp(store, clock, { expires: 60, absoluteTimeout: 300 }));
      after.cookies = new Map(before.cookies);
      assert.equal(await after.text("/read"), "none");
      if (rows) assert.equal(await rows(), 0);
    } finally {
      await cleanup();
    }
  });

  test(`session() refreshes the idle expiry with one touch past refreshThreshold and writes nothing before (${name})`, async () => {
    const clock = new FakeClock();
    const { store, inspectable, cleanup } = await make(clock);
    const counting = new Counting(store);
    try {
      const jar = new CookieJar(makeApp(counting, clock)); // expires 3600, default threshold: a touch a minute at most
      assert.equal(await jar.text("/inc"), "1");
      const id = await jar.text("/id");
      assert.deepEqual([counting.calls.set, counting.writes], [1, 1]);
      const payload = inspectable ? (await (store as SessionStore).get(id))!.payload : undefined;
      counting.reset();
      clock.advance(30);
      for (let i = 0; i < 3; i++) assert.equal(await jar.text("/read"), "1");
      clock.advance(29); // 59 s idle
      assert.equal(await jar.text("/read"), "1");
      assert.equal(counting.writes, 0, "no write within the first minute");
      clock.advance(2); // 61 s idle
      assert.equal(await jar.text("/read"), "1");
      assert.deepEqual(counting.calls, { get: 5, set: 0, delete: 0, touch: 1, update: 0 });
      if (inspectable) {
        const after = (await (store as SessionStore).get(id))!;
        assert.equal(after.payload, payload, "a refresh never rewrites the payload");
        assert.equal(after.expiresAt, clock.now + 3600_000);
      }
      assert.equal(await jar.text("/read"), "1");
      assert.equal(counting.writes, 1, "the refreshed session is not touched again at once");
      clock.advance(61);
      assert.equal(await jar.text("/read"), "1");
      assert.deepEqual([counting.calls.touch, counting.writes], [2, 2]);
    } finally {
      await cleanup();
    }
  });

  test(`session() with refreshThreshold: 600 writes nothing until less than 600 s remain (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = await make(clock);
    const counting = new Counting(store);
    try {
      const jar = new CookieJar(makeApp(counting, clock, { expires: 3600, refreshThreshold: 600 }));
      await jar.text("/inc");
      counting.reset();
      clock.advance(1500);
      assert.equal(await jar.text("/read"), "1");
      clock.advance(1499); // 2999 s idle: 601 s remain
      assert.equal(await jar.text("/read"), "1");
      assert.equal(counting.writes, 0);
      clock.advance(2); // 599 s remain
      assert.equal(await jar.text("/read"), "1");
      assert.deepEqual([counting.calls.touch, counting.writes], [1, 1]);
    } finally {
      await cleanup();
    }
  });

  test(`session() slides a short idle expiry by default: expires 30 refreshes after 15 idle seconds (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = await make(clock);
    const counting = new Counting(store);
    try {
      const jar = new CookieJar(makeApp(counting, clock, { expires: 30 }));
      await jar.text("/inc");
      counting.reset();
      for (let i = 0; i < 10; i++) {
        clock.advance(20);
        assert.equal(await jar.text("/read"), "1", `alive after ${(i + 1) * 20} s of reads every 20 s`);
      }
      assert.equal(counting.calls.touch, 10);
      clock.advance(30);
      assert.equal(await jar.text("/read"), "none");
    } finally {
      await cleanup();
    }
  });

  test(`session() never moves the idle expiry past the absolute deadline, nor touches in vain (${name})`, async () => {
    const clock = new FakeClock();
    const { store, inspectable, cleanup } = await make(clock);
    const counting = new Counting(store);
    try {
      const created = clock.now;
      const jar = new CookieJar(makeApp(counting, clock, { expires: 60, absoluteTimeout: 100 }));
      await jar.text("/inc");
      const id = await jar.text("/id");
      clock.advance(50);
      assert.equal(await jar.text("/read"), "1");
      if (inspectable) {
        assert.equal(
          (await (store as SessionStore).get(id))!.expiresAt,
          created + 100_000,
          "touched to the deadline, not to now + 60 s",
        );
      }
      counting.reset();
      clock.advance(40); // 10 s left, below the threshold, but the expiry cannot move
      assert.equal(await jar.text("/read"), "1");
      assert.equal(counting.writes, 0);
      clock.advance(5);
      assert.equal(await jar.text("/inc"), "2");
      if (inspectable) {
        assert.equal(
          (await (store as SessionStore).get(id))!.expiresAt,
          created + 100_000,
          "a data write is capped too",
        );
      }
      clock.advance(5);
      assert.equal(await jar.text("/read"), "none", "gone at the absolute deadline");
    } finally {
      await cleanup();
    }
  });
}

test("session() re-sends a persistent cookie with Max-Age on each refresh, and only then", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(makeApp(store, clock, { cookie: { persistent: true } }));
  const first = sessionCookie(await jar.fetch("/inc"));
  assert.equal(first?.attrs["max-age"], "3600");
  clock.advance(30);
  assert.equal(sessionCookie(await jar.fetch("/read")), undefined, "no refresh, no cookie");
  clock.advance(31);
  const refreshed = sessionCookie(await jar.fetch("/read"));
  assert.equal(refreshed?.attrs["max-age"], "3600");
  assert.equal(refreshed?.value, first?.value, "same session, same token");
  assert.equal(sessionCookie(await jar.fetch("/read")), undefined);
});

test("session() sends no Set-Cookie for a refresh of a browser-session cookie, but still touches", async () => {
  const clock = new FakeClock();
  const counting = new Counting(new MemoryStore({ clock: clock.fn }));
  const jar = new CookieJar(makeApp(counting, clock));
  const first = sessionCookie(await jar.fetch("/inc"));
  assert.equal(first?.attrs["max-age"], undefined);
  clock.advance(61);
  const res = await jar.fetch("/read");
  assert.equal(await res.text(), "1");
  assert.equal(sessionCookie(res), undefined);
  assert.equal(counting.calls.touch, 1);
});

test("session() caps a persistent cookie's Max-Age at what remains of the absolute timeout", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(makeApp(store, clock, { cookie: { persistent: true }, absoluteTimeout: 5400 }));
  assert.equal(sessionCookie(await jar.fetch("/inc"))?.attrs["max-age"], "3600");
  clock.advance(3000);
  assert.equal(sessionCookie(await jar.fetch("/read"))?.attrs["max-age"], "2400");
  clock.advance(2000);
  // The cookie sent at 3000 s already ends at the deadline (5400 s): a write now has nothing new to send.
  const write = await jar.fetch("/inc");
  assert.equal(await write.text(), "2");
  assert.equal(sessionCookie(write), undefined);
  clock.advance(401);
  assert.equal(await jar.text("/read"), "none", "past the absolute deadline: a new session");
});

test("SqliteStore: a refresh through session() writes expires_at and never the payload column", async () => {
  const tmp = tempDir();
  const clock = new FakeClock();
  const path = tmp.file("s.sqlite");
  const store = new SqliteStore({ path, clock: clock.fn });
  const spy = openSqlite(path);
  try {
    spy.exec(`CREATE TABLE log (col TEXT);
      CREATE TRIGGER payload_write AFTER UPDATE OF payload ON satchel_sessions BEGIN INSERT INTO log VALUES ('payload'); END;
      CREATE TRIGGER expiry_write AFTER UPDATE OF expires_at ON satchel_sessions BEGIN INSERT INTO log VALUES ('expires_at'); END;`);
    const log = () => spy.prepare("SELECT col FROM log").all().map((r) => r.col);
    const jar = new CookieJar(makeApp(store, clock));
    await jar.text("/inc");
    clock.advance(61);
    assert.equal(await jar.text("/read"), "1");
    assert.deepEqual(log(), ["expires_at"]);
    assert.equal(await jar.text("/inc"), "2");
    // A data write within the refresh threshold keeps the expiry: only the payload column is written.
    assert.deepEqual(log().sort(), ["expires_at", "payload"], "the trigger does see a data write");
  } finally {
    spy.close();
    store.close();
    tmp.cleanup();
  }
});

/**
 * `n` distinct ids of the real shape, in sorted order: a random prefix and a
 * counter (stores treat ids as opaque; sorted, the B-tree fills in order and
 * seeding stays fast; one `generateId()` each would cost ~8 µs on Node).
 */
function sortedIds(n: number): string[] {
  const prefix = generateId().slice(0, ID_LENGTH - 12);
  return Array.from({ length: n }, (_, i) => prefix + i.toString(36).padStart(12, "0"));
}

test("SqliteStore returns every one of 200,000 live sessions: nothing is ever evicted", async () => {
  const tmp = tempDir();
  const clock = new FakeClock();
  const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn });
  try {
    const N = 200_000;
    const ids = sortedIds(N);
    const payload = (i: number) => `{"json":{"d":{"i":${i}}}}`;
    for (let start = 0; start < N; start += 20_000) {
      const chunk: [string, StoredSession][] = [];
      for (let i = start; i < start + 20_000; i++) {
        chunk.push([ids[i]!, { payload: payload(i), expiresAt: clock.now + 3600_000, createdAt: clock.now }]);
      }
      store.setMany(chunk);
    }
    clock.advance(3599);
    assert.equal(await store.deleteExpired(), 0);
    let found = 0;
    for (let i = 0; i < N; i++) if (store.get(ids[i]!)?.payload === payload(i)) found++;
    assert.equal(found, N);
  } finally {
    store.close();
    tmp.cleanup();
  }
});

test("MemoryStore returns every one of 200,000 live sessions: nothing is ever evicted", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const N = 200_000;
  const ids = sortedIds(N);
  for (let i = 0; i < N; i++) {
    store.set(ids[i]!, { payload: String(i), expiresAt: clock.now + 3600_000, createdAt: clock.now });
  }
  clock.advance(3599);
  assert.equal(store.deleteExpired(), 0);
  let found = 0;
  for (let i = 0; i < N; i++) if (store.get(ids[i]!)?.payload === String(i)) found++;
  assert.equal(found, N);
});

test("SqliteStore.setMany() writes all or nothing", () => {
  const clock = new FakeClock();
  const store = new SqliteStore({ path: ":memory:", clock: clock.fn });
  try {
    const s = { payload: "p", expiresAt: clock.now + 1000, createdAt: clock.now };
    const boom = new Error("boom");
    const entries = function* (): Generator<[string, StoredSession]> {
      yield ["a".repeat(22), s];
      throw boom;
    };
    assert.throws(() => store.setMany(entries()), (e) => e === boom);
    assert.equal(store.get("a".repeat(22)), null);
    store.setMany([["a".repeat(22), s], ["b".repeat(22), s]]);
    assert.equal(store.get("b".repeat(22))?.payload, "p");
  } finally {
    store.close();
  }
});

test("SqliteStore.deleteExpired() under concurrent requests: every live session stays readable and writable", async () => {
  const tmp = tempDir();
  const clock = new FakeClock();
  const path = tmp.file("s.sqlite");
  const store = new SqliteStore({ path, clock: clock.fn, sweepBatchSize: 100 });
  try {
    const app = makeApp(store, clock);
    const jars = Array.from({ length: 40 }, () => new CookieJar(app));
    const expected: number[] = [];
    for (const [i, jar] of jars.entries()) {
      for (let k = 0; k <= i % 3; k++) await jar.text("/inc");
      expected.push((i % 3) + 1);
    }
    const EXPIRED = 10_000;
    const dead = sortedIds(EXPIRED).map((
      id,
    ): [string, StoredSession] => [id, { payload: "{}", expiresAt: clock.now - 1, createdAt: clock.now - 3600_000 }]);
    store.setMany(dead);

    let batches = 0;
    let done = false;
    const sweep = store.deleteExpired(clock.now, () => batches++).finally(() => (done = true));
    const seenDuring = new Set<number>();
    let requests = 0;
    while (!done) {
      // Requests arrive as events, between the sweep's batches, the way a server's do.
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (const [i, jar] of jars.entries()) {
        if (requests % 7 === 0) expected[i] = Number(await jar.text("/inc"));
        assert.equal(await jar.text("/read"), String(expected[i]), `session ${i} during the sweep`);
        requests++;
        if (!done) seenDuring.add(batches);
      }
    }
    assert.equal(await sweep, EXPIRED);
    assert.ok(
      [...seenDuring].some((b) => b > 0 && b < EXPIRED / 100),
      "requests ran between batches, not only before or after",
    );
    assert.equal(sqliteRows(path), jars.length);
    for (const [i, jar] of jars.entries()) assert.equal(await jar.text("/read"), String(expected[i]));
  } finally {
    store.close();
    tmp.cleanup();
  }
});
