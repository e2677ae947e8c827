/**
 * D1Store against a real local D1 (workerd plus SQLite, through miniflare):
 * the conformance suite and the compare-and-set from this process through
 * `getD1Database()`, then examples/workers-d1 bundled and run as a Worker
 * in workerd, driven over real HTTP.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { SessionTooLargeError, StoreUnavailableError } from "../src/errors.ts";
import { MAX_TIME } from "../src/clock.ts";
import { generateId } from "../src/id.ts";
import { type D1DatabaseLike, type D1PreparedStatementLike, D1Store } from "../src/store/d1.ts";
import { canListUserSessions, isSynchronousStore, type StoredSession } from "../src/store/types.ts";
import { localD1Fixture } from "./fixtures/d1.ts";
import { FakeClock, parseSetCookie, SECRET } from "./helpers.ts";
import { countLoginLogout } from "./fixtures/count-login-logout.ts";
import { storeConformance } from "./store-conformance.ts";

const EXAMPLE = fileURLToPath(new URL("../examples/workers-d1/", import.meta.url));
const TIMEOUT = { timeout: 60_000 };

const localD1 = localD1Fixture();

const freshTable = () => `t_${generateId().replace(/-/g, "_")}`;

function stored(clock: FakeClock, payload: string, ttlSeconds = 3600, userId: string | null = null): StoredSession {
  return { payload, expiresAt: clock.now + ttlSeconds * 1000, createdAt: clock.now, userId };
}

async function withStore(fn: (store: D1Store, db: D1DatabaseLike, clock: FakeClock) => Promise<void>): Promise<void> {
  const clock = new FakeClock();
  const { db } = await localD1();
  await fn(new D1Store({ db, table: freshTable(), clock: clock.fn }), db, clock);
}

/** `db` with hooks around every statement's `run()`. */
function intercept(
  db: D1DatabaseLike,
  hooks: { before?: (sql: string) => Promise<void>; after?: (sql: string, changes: number) => void },
): D1DatabaseLike {
  const inner = new WeakMap<D1PreparedStatementLike, D1PreparedStatementLike>();
  const wrap = (stmt: D1PreparedStatementLike, sql: string): D1PreparedStatementLike => {
    const wrapped: D1PreparedStatementLike = {
      bind: (...values) => wrap(stmt.bind(...values), sql),
      first: () => stmt.first(),
      all: () => stmt.all(),
      async run() {
        await hooks.before?.(sql);
        const result = await stmt.run();
        hooks.after?.(sql, result.meta.changes ?? 0);
        return result as never;
      },
    };
    inner.set(wrapped, stmt);
    return wrapped;
  };
  // batch() gets the binding's own statements: miniflare cannot send wrappers to workerd.
  return {
    prepare: (sql) => wrap(db.prepare(sql), sql),
    batch: (stmts) => db.batch(stmts.map((s) => inner.get(s) ?? s)),
  };
}

/** `db` with a count of the statements run, by their first word, and of compare-and-sets that matched no row. */
function counting(db: D1DatabaseLike): { db: D1DatabaseLike; runs: Map<string, number>; missed: { n: number } } {
  const runs = new Map<string, number>();
  const missed = { n: 0 };
  const after = (sql: string, changes: number) => {
    const verb = sql.trim().split(/\s+/)[0]!;
    runs.set(verb, (runs.get(verb) ?? 0) + 1);
    if (sql.includes("AND version = ?") && changes === 0) missed.n++;
  };
  return { runs, missed, db: intercept(db, { after }) };
}

storeConformance("D1Store", async (clock) => {
  const { db } = await localD1();
  return { store: new D1Store({ db, table: freshTable(), clock: clock.fn }) };
});

test("D1Store is asynchronous and lists user sessions", () =>
  withStore(async (store) => {
    assert.equal(isSynchronousStore(store), false);
    assert.equal(canListUserSessions(store), true);
    assert.equal(store.maxPayloadBytes, 1024 * 1024);
  }));

test("new D1Store() rejects a missing db, unknown options and table names that are not plain identifiers", async () => {
  const { db } = await localD1();
  assert.throws(
    () => new D1Store({} as never),
    /^TypeError: Cannot create D1Store: db is required: pass \{ db: env\.DB \}/,
  );
  assert.throws(() => new D1Store({ db: {} } as never), /Cannot create D1Store: db must be a D1 binding/);
  assert.throws(
    () => new D1Store({ db, ttl: 1 } as never),
    (e) => e instanceof TypeError && /unknown option "ttl"/.test(e.message),
  );
  for (const table of ["", "1abc", "a-b", "x; DROP TABLE y", "sqlite_master", "_cf_KV", "a".repeat(64)]) {
    assert.throws(() => new D1Store({ db, table }), TypeError, table);
  }
  // Their indexes, <table>_expires_at and <table>_user_id, would be reserved names: D1 refused them at the first write.
  for (const table of ["sqlite", "SQLite", "_cf"]) {
    assert.throws(() => new D1Store({ db, table }), {
      name: "TypeError",
      message: /^Cannot create D1Store: table names (sqlite and sqlite_…|_cf and _cf_…) are reserved/,
    });
  }
  for (const table of ["sqlites", "_cfx", "my_sqlite"]) assert.equal(new D1Store({ db, table }).table, table);
  assert.throws(() => D1Store.schema("bad name"), TypeError);
  assert.throws(() => new D1Store({ db, maxPayloadBytes: 2_000_000 }), RangeError);
  assert.throws(() => new D1Store({ db, maxUpdateRetries: 0 }), RangeError);
  assert.equal(new D1Store(Object.freeze({ db, table: "my_sessions" })).table, "my_sessions");
  assert.equal(new D1Store({ db, table: "a".repeat(63) }).table, "a".repeat(63));
});

test("D1Store.schema() is what examples/workers-d1/migrations holds, and running it twice is harmless", async () => {
  const file = readFileSync(`${EXAMPLE}migrations/0001_satchel_sessions.sql`, "utf8");
  const statements = file.split("\n").filter((l) => !l.startsWith("--")).join("\n").split(";").map((s) => s.trim())
    .filter(Boolean);
  assert.deepEqual(statements, D1Store.schema());
  const { db } = await localD1();
  const table = freshTable();
  for (let i = 0; i < 2; i++) await db.batch(D1Store.schema(table).map((sql) => db.prepare(sql)));
  const indexes = await db.prepare(
    `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND name NOT LIKE 'sqlite_%' ORDER BY name`,
  ).bind(table).all<{ name: string; sql: string }>();
  assert.deepEqual(indexes.results!.map((r) => r.name), [`${table}_expires_at`, `${table}_user_id`]);
  assert.match(indexes.results![1]!.sql, /WHERE user_id IS NOT NULL/);
});

test("D1Store creates its table once per instance, on first use", async () => {
  const { db } = await localD1();
  let batches = 0;
  const spy: D1DatabaseLike = { prepare: (sql) => db.prepare(sql), batch: (s) => (batches++, db.batch(s)) };
  const clock = new FakeClock();
  const store = new D1Store({ db: spy, table: freshTable(), clock: clock.fn });
  assert.equal(batches, 0);
  const id = generateId();
  await Promise.all([store.get(id), store.set(id, stored(clock, "p")), store.get(generateId())]);
  await store.get(id);
  assert.equal(batches, 1);
});

test("D1Store starts each new row at a random version, so a deleted id written again is never taken for its first row", async () => {
  const { db } = await localD1();
  const clock = new FakeClock();
  const table = freshTable();
  const store = new D1Store({ db, table, clock: clock.fn });
  const id = generateId();
  const version = async () =>
    (await db.prepare(`SELECT version FROM ${table} WHERE id = ?1`).bind(id).first<{ version: number }>())!.version;
  await store.set(id, stored(clock, "first"));
  const first = await version();
  await store.delete(id);
  await store.update(id, () => stored(clock, "second")); // the insert branch of a compare-and-set
  const second = await version();
  assert.notEqual(first, 1);
  assert.notEqual(second, first, "a compare-and-set against the first row's version must fail on the second");
  assert.ok(Number.isSafeInteger(first) && Number.isSafeInteger(second));
});

test("D1Store.update() of the session get() returned makes one statement (no SELECT of its own), and still sees a write in between", async () => {
  const { db } = await localD1();
  const prepared: string[] = [];
  const spy: D1DatabaseLike = {
    prepare: (sql) => (prepared.push(sql.trim().split(/\s+/)[0]!), db.prepare(sql)),
    batch: (stmts) => db.batch(stmts),
  };
  const clock = new FakeClock();
  const table = freshTable();
  const store = new D1Store({ db: spy, table, clock: clock.fn });
  const id = generateId();
  await store.set(id, stored(clock, "0"));
  let loaded = (await store.get(id))!;
  prepared.length = 0;
  await store.update(id, (s) => ({ ...s!, payload: String(Number(s!.payload) + 1) }), loaded);
  assert.deepEqual(prepared, ["UPDATE"]);
  // Another isolate writes between the load and the write: the compare-and-set notices and reads again.
  loaded = (await store.get(id))!;
  await new D1Store({ db, table, clock: clock.fn }).update(id, (s) => ({ ...s!, payload: "10" }));
  await store.update(id, (s) => ({ ...s!, payload: String(Number(s!.payload) + 1) }), loaded);
  assert.equal((await store.get(id))?.payload, "11");
});

test("D1Store.touch() writes only the expiry: one UPDATE, the payload untouched", async () => {
  const { db } = await localD1();
  const c = counting(db);
  const clock = new FakeClock();
  const table = freshTable();
  const store = new D1Store({ db: c.db, table, clock: clock.fn });
  const id = generateId();
  await store.set(id, stored(clock, "p", 60));
  c.runs.clear();
  await store.touch(id, clock.now + 120_000);
  assert.deepEqual([...c.runs], [["UPDATE", 1]]);
  const row = await db.prepare(`SELECT payload, expires_at FROM ${table} WHERE id = ?1`).bind(id).first<
    { payload: string; expires_at: number }
  >();
  assert.deepEqual(row, { payload: "p", expires_at: clock.now + 120_000 });
});

test(
  "D1Store.update() from 5 store instances, 50 updates of one session at once, never loses one",
  TIMEOUT,
  async () => {
    const { db } = await localD1();
    const c = counting(db);
    const clock = new FakeClock();
    const table = freshTable();
    const stores = Array.from({ length: 5 }, () => new D1Store({ db: c.db, table, clock: clock.fn }));
    const id = generateId();
    await stores[0]!.set(id, stored(clock, "0"));
    await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          stores[i % stores.length]!.update(id, (cur) => ({ ...cur!, payload: String(Number(cur!.payload) + 1) })),
      ),
    );
    assert.equal((await stores[0]!.get(id))?.payload, "50");
    assert.ok(c.missed.n > 0, "the instances raced: some compare-and-sets matched no row and were retried");
  },
);

test("D1Store.update() inserts a new session only once when two instances race to create it", async () => {
  const { db } = await localD1();
  const clock = new FakeClock();
  const table = freshTable();
  const [a, b] = [new D1Store({ db, table, clock: clock.fn }), new D1Store({ db, table, clock: clock.fn })];
  const id = generateId();
  const inc = (cur: StoredSession | null) => stored(clock, String(Number(cur?.payload ?? 0) + 1));
  await Promise.all([a.update(id, inc), b.update(id, inc), a.update(id, inc), b.update(id, inc)]);
  assert.equal((await a.get(id))?.payload, "4");
});

test("D1Store.update() gives up with StoreUnavailableError after maxUpdateRetries lost compare-and-sets", async () => {
  const { db } = await localD1();
  const clock = new FakeClock();
  const table = freshTable();
  const rival = new D1Store({ db, table, clock: clock.fn });
  const id = generateId();
  await rival.set(id, stored(clock, "0"));
  // Before each of this store's writes, another writer touches the session, moving its version.
  const raced = intercept(db, {
    before: async (sql) => {
      if (sql.includes("AND version = ?")) await rival.touch(id, clock.now + 60_000);
    },
  });
  const loser = new D1Store({ db: raced, table, clock: clock.fn, maxUpdateRetries: 3 });
  let calls = 0;
  await assert.rejects(
    loser.update(id, (cur) => (calls++, { ...cur!, payload: "mine" })),
    (e) => e instanceof StoreUnavailableError && /changed it 3 times in a row/.test(e.message),
  );
  assert.equal(calls, 3);
  assert.equal((await rival.get(id))?.payload, "0");
});

test("D1Store.deleteExpired() deletes in batches of 500 and counts every row", TIMEOUT, async () => {
  const { db } = await localD1();
  const c = counting(db);
  const clock = new FakeClock();
  const table = freshTable();
  const store = new D1Store({ db: c.db, table, clock: clock.fn });
  await store.get(generateId()); // creates the table
  const now = clock.now;
  await db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1203)
     INSERT INTO ${table} (id, payload, expires_at, created_at) SELECT 'id' || i, 'p', ?1 + (CASE WHEN i <= 1201 THEN 10 ELSE 10000000 END), ?1 FROM n`,
  ).bind(now).run();
  clock.advance(20);
  c.runs.clear();
  assert.equal(await store.deleteExpired(), 1201);
  assert.deepEqual([...c.runs], [["DELETE", 3]]);
  assert.equal(await store.deleteExpired(), 0);
  const left = await db.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  assert.equal(left?.n, 2);
});

test("D1Store.set() refuses a payload over maxPayloadBytes, writing nothing", () =>
  withStore(async (_store, db, clock) => {
    const store = new D1Store({ db, table: freshTable(), clock: clock.fn, maxPayloadBytes: 100 });
    const id = generateId();
    await assert.rejects(
      store.set(id, stored(clock, "é".repeat(51))),
      (e) => e instanceof SessionTooLargeError && e.size === 102,
    );
    await assert.rejects(store.update(id, () => stored(clock, "x".repeat(101))), SessionTooLargeError);
    assert.equal(await store.get(id), null);
  }));

test("D1Store refuses times no row can hold (NaN, Infinity, negative, past a Date) with a RangeError, writing nothing", () =>
  withStore(async (store, _db, clock) => {
    const id = generateId();
    await store.set(id, stored(clock, "kept"));
    for (const bad of [NaN, Infinity, -1, MAX_TIME + 1]) {
      const s = { ...stored(clock, "bad"), expiresAt: bad };
      await assert.rejects(store.set(generateId(), s), RangeError);
      await assert.rejects(store.set(generateId(), { ...stored(clock, "bad"), createdAt: bad }), RangeError);
      await assert.rejects(store.update(id, () => s), RangeError);
      await assert.rejects(store.touch(id, bad), RangeError);
    }
    assert.equal((await store.get(id))?.payload, "kept");
  }));

test("D1Store turns a D1 failure into StoreUnavailableError, and throws it once closed", async () => {
  const { db } = await localD1();
  const broken: D1DatabaseLike = {
    prepare: (sql) => db.prepare(sql),
    batch: () => Promise.reject(new Error("D1_ERROR: network connection lost")),
  };
  const store = new D1Store({ db: broken, table: freshTable() });
  await assert.rejects(
    store.get(generateId()),
    (e) => e instanceof StoreUnavailableError && /D1 failed \(D1_ERROR: network connection lost\)/.test(e.message),
  );
  const ok = new D1Store({ db, table: freshTable() });
  ok.close();
  await assert.rejects(ok.get(generateId()), StoreUnavailableError);
});

test("session() on a D1Store counts, regenerates on login, ends sessions by user and destroys on logout", () =>
  withStore((store) => countLoginLogout(store)));

// ---- examples/workers-d1 as a Worker in workerd ------------------------------

async function startWorker(): Promise<{ origin: URL; mf: Miniflare }> {
  const bundle = await build({
    entryPoints: [`${EXAMPLE}src/worker.ts`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "import"],
    write: false,
    logLevel: "silent",
  });
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    d1Databases: ["DB"],
    compatibilityDate: "2025-06-01",
    bindings: { SESSION_SECRET: SECRET },
  });
  return { origin: await mf.ready, mf };
}

/** A cookie jar over real HTTP. */
class HttpJar {
  cookie = "";
  readonly origin: URL;
  constructor(origin: URL) {
    this.origin = origin;
  }
  async text(path: string, method = "GET"): Promise<string> {
    const res = await fetch(new URL(path, this.origin), {
      method,
      headers: this.cookie ? { cookie: this.cookie } : {},
    });
    for (const line of res.headers.getSetCookie()) {
      const { name, value, attrs } = parseSetCookie(line);
      this.cookie = attrs["max-age"] === "0" || value === "" ? "" : `${name}=${value}`;
    }
    assert.equal(res.status, 200);
    return await res.text();
  }
}

test(
  "examples/workers-d1 in workerd: counts, keeps 50 concurrent increments, regenerates on login, resets on logout",
  TIMEOUT,
  async () => {
    const { origin, mf } = await startWorker();
    try {
      const jar = new HttpJar(origin);
      assert.equal(await jar.text("/"), "count: 1\n");
      assert.equal(await jar.text("/"), "count: 2\n");
      await Promise.all(
        Array.from(
          { length: 50 },
          () => fetch(new URL("/", origin), { headers: { cookie: jar.cookie } }).then((r) => r.text()),
        ),
      );
      assert.equal(await jar.text("/"), "count: 53\n");

      const anonymous = jar.cookie;
      assert.equal(await jar.text("/login?user=alice", "POST"), "hello alice\n");
      assert.notEqual(jar.cookie, anonymous);
      assert.equal(await jar.text("/whoami"), "alice\n");
      assert.equal(await jar.text("/"), "count: 54\n");

      const db = (await mf.getD1Database("DB")) as unknown as D1DatabaseLike;
      const rows = await db.prepare("SELECT user_id FROM satchel_sessions").all<{ user_id: string | null }>();
      assert.deepEqual(
        rows.results!.map((r) => r.user_id),
        ["alice"],
        "the pre-login row is gone, the new one names the user",
      );

      assert.equal(await jar.text("/logout", "POST"), "bye\n");
      assert.equal(jar.cookie, "");
      assert.equal(await jar.text("/whoami"), "nobody\n");
      assert.equal(await jar.text("/"), "count: 1\n");
    } finally {
      await mf.dispose();
    }
  },
);
