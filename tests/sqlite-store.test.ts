import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { StoreUnavailableError } from "../src/errors.ts";
import { generateId } from "../src/id.ts";
import { openSqlite } from "../src/store/sqlite/driver.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import { APPLICATION_ID } from "../src/store/sqlite/schema.ts";
import { FakeClock, tempDir, truncateWal, walFrames } from "./helpers.ts";
import { storeConformance } from "./store-conformance.ts";

storeConformance("SqliteStore", (clock) => {
  const tmp = tempDir();
  return { store: new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn }), cleanup: tmp.cleanup };
});

storeConformance("SqliteStore (mmap off)", (clock) => {
  const tmp = tempDir();
  return { store: new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn, mmapSize: 0 }), cleanup: tmp.cleanup };
});

function pragma(path: string, name: string): unknown {
  const db = openSqlite(path, { readonly: true });
  try {
    return Object.values(db.prepare(`PRAGMA ${name}`).get()!)[0];
  } finally {
    db.close();
  }
}

test("SqliteStore creates its file with mode 0600 in WAL mode with mmap on", () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    const store = new SqliteStore({ path });
    store.set(generateId(), { payload: "p", expiresAt: Date.now() + 1000, createdAt: Date.now() });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(pragma(path, "journal_mode"), "wal");
    assert.equal(pragma(path, "application_id"), APPLICATION_ID);
    store.close();
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore keeps expiry in its own indexed column", () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    new SqliteStore({ path }).close();
    const db = openSqlite(path, { readonly: true });
    const plan = db.prepare("EXPLAIN QUERY PLAN DELETE FROM satchel_sessions WHERE expires_at <= 5").all();
    db.close();
    assert.match(JSON.stringify(plan), /satchel_sessions_expires_at/);
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore makes a rowid table, and still works on a WITHOUT ROWID table an earlier version made", async () => {
  const tmp = tempDir();
  try {
    const fresh = tmp.file("new.sqlite");
    new SqliteStore({ path: fresh }).close();
    const db = openSqlite(fresh, { readonly: true });
    const sql = String(db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'satchel_sessions'").get()!.sql);
    db.close();
    assert.doesNotMatch(sql, /WITHOUT ROWID/i);

    const old = tmp.file("old.sqlite");
    const legacy = openSqlite(old);
    legacy.exec(`CREATE TABLE satchel_sessions (id TEXT PRIMARY KEY, payload TEXT NOT NULL, expires_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL, user_id TEXT) WITHOUT ROWID`);
    legacy.close();
    const clock = new FakeClock();
    const store = new SqliteStore({ path: old, clock: clock.fn, sweepBatchSize: 2 });
    const [a, b, c] = [generateId(), generateId(), generateId()];
    for (const id of [a, b, c]) store.set(id, { payload: id, expiresAt: clock.now + 1000, createdAt: clock.now });
    store.update(a, (cur) => ({ ...cur!, payload: "changed", expiresAt: clock.now + 10_000 }));
    clock.advance(5);
    assert.equal(await store.deleteExpired(), 2, "b and c are swept, in batches, by id");
    assert.deepEqual([store.get(a)?.payload, store.get(b), store.get(c)], ["changed", null, null]);
    store.close();
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore.update() writes only the payload column when expiry, creation time and user stay the same", () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    const store = new SqliteStore({ path });
    const spy = openSqlite(path);
    spy.exec(`CREATE TABLE log (col TEXT);
      CREATE TRIGGER w_payload AFTER UPDATE OF payload ON satchel_sessions BEGIN INSERT INTO log VALUES ('payload'); END;
      CREATE TRIGGER w_expires AFTER UPDATE OF expires_at ON satchel_sessions BEGIN INSERT INTO log VALUES ('expires_at'); END;
      CREATE TRIGGER w_user AFTER UPDATE OF user_id ON satchel_sessions BEGIN INSERT INTO log VALUES ('user_id'); END;`);
    const log = () => spy.prepare("SELECT col FROM log").all().map((r) => r.col).sort();
    const clear = () => spy.exec("DELETE FROM log");
    const id = generateId();
    const now = Date.now();
    store.set(id, { payload: "a", expiresAt: now + 60_000, createdAt: now });
    clear();
    store.update(id, (cur) => ({ ...cur!, payload: "b" }));
    assert.deepEqual(log(), ["payload"]);
    clear();
    store.update(id, (cur) => ({ ...cur! }));
    assert.deepEqual(log(), [], "nothing changed, nothing written");
    store.update(id, (cur) => ({ ...cur!, payload: "c", expiresAt: now + 120_000 }));
    assert.deepEqual(log(), ["expires_at", "payload", "user_id"], "a moved expiry writes the whole row");
    clear();
    store.update(id, (cur) => ({ ...cur!, userId: "u1" }));
    assert.deepEqual(log(), ["expires_at", "payload", "user_id"]);
    assert.deepEqual(store.get(id), { payload: "c", expiresAt: now + 120_000, createdAt: now, userId: "u1" });
    spy.close();
    store.close();
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore.touch() changes expires_at and never rewrites the payload", () => {
  const tmp = tempDir();
  const clock = new FakeClock();
  try {
    const path = tmp.file("s.sqlite");
    const store = new SqliteStore({ path, clock: clock.fn });
    const id = generateId();
    store.set(id, { payload: "data", expiresAt: clock.now + 1000, createdAt: clock.now });
    // Trigger that records any write to the payload column.
    const db = openSqlite(path);
    db.exec(`CREATE TABLE log (n INTEGER);
      CREATE TRIGGER payload_write AFTER UPDATE OF payload ON satchel_sessions BEGIN INSERT INTO log VALUES (1); END;`);
    store.touch(id, clock.now + 5000);
    assert.equal(Object.values(db.prepare("SELECT count(*) FROM log").get()!)[0], 0);
    assert.equal(store.get(id)?.expiresAt, clock.now + 5000);
    db.close();
    store.close();
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore rejects a table name that is not an identifier, too long, or reserved by SQLite, at setup", () => {
  const cases: [string, RegExp][] = [
    [
      "x; DROP TABLE y",
      /^Cannot create SqliteStore: table must be a letter or "_", then letters, digits or "_", at most 63 characters \(it is put into SQL as is\): received "x; DROP TABLE y"$/,
    ],
    ["1sessions", /table must be a letter or "_"/],
    ["t".repeat(64), /at most 63 characters/],
    [
      "sqlite_sessions",
      /^Cannot create SqliteStore: table names sqlite and sqlite_… are reserved: received "sqlite_sessions"$/,
    ],
    ["SQLite_x", /are reserved/],
    ["SQLITE", /are reserved/],
  ];
  for (const [table, message] of cases) {
    assert.throws(() => new SqliteStore({ path: ":memory:", table }), { name: "TypeError", message }, table);
  }
  for (const table of ["_s", "t".repeat(63), "sqlites", "my_sqlite_"]) {
    new SqliteStore({ path: ":memory:", table }).close();
  }
});

test("SqliteStore rejects an unknown option key and a number option out of range, at setup", () => {
  assert.throws(() => new SqliteStore({ path: ":memory:", file: "x.sqlite" } as never), {
    name: "TypeError",
    message: /^Cannot create SqliteStore: unknown option "file" \(use path\); known options are path, name, table, /,
  });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ sweepBatchSize: 0 }, /sweepBatchSize must be a positive integer: received 0/],
    [{ journalSizeLimit: -2 }, /journalSizeLimit must be an integer of at least -1: received -2/],
    [{ maxSizeBytes: 0 }, /maxSizeBytes must be a positive integer: received 0/],
    [{ busyTimeout: 1.5 }, /busyTimeout must be a non-negative integer: received 1.5/],
    [{ mmapSize: "1" }, /mmapSize must be a non-negative integer: received "1"/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new SqliteStore({ path: ":memory:", ...options }), { name: "RangeError", message });
  }
});

test("SqliteStore throws StoreUnavailableError when its file cannot be opened", () => {
  const tmp = tempDir();
  try {
    // Missing folders are made; a folder that is a file cannot be.
    writeFileSync(tmp.file("plain"), "");
    assert.throws(() => new SqliteStore({ path: tmp.file("plain/x/s.sqlite") }), StoreUnavailableError);
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore throws StoreUnavailableError after close()", () => {
  const store = new SqliteStore({ path: ":memory:" });
  store.close();
  assert.throws(() => store.get(generateId()), StoreUnavailableError);
});

test("SqliteStore.deleteExpired() sweeps in batches and reports each one", async () => {
  const tmp = tempDir();
  const clock = new FakeClock();
  try {
    const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn, sweepBatchSize: 10 });
    for (let i = 0; i < 35; i++) {
      store.set(generateId(), { payload: "x", expiresAt: clock.now + 10, createdAt: clock.now });
    }
    const live = generateId();
    store.set(live, { payload: "live", expiresAt: clock.now + 10_000_000, createdAt: clock.now });
    clock.advance(1);
    const batches: number[] = [];
    assert.equal(await store.deleteExpired(clock.now, (n) => batches.push(n)), 35);
    assert.deepEqual(batches, [10, 10, 10, 5]);
    assert.equal(store.get(live)?.payload, "live");
    store.close();
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore keeps its defaults for options given as undefined (e.g. from unset env vars)", () => {
  const store = new SqliteStore({ path: ":memory:", synchronous: undefined, mmapSize: undefined, table: undefined });
  assert.equal(store.table, "satchel_sessions");
  store.close();
});

const HOUR = 3_600_000;
const fresh = (payload: string) => ({ payload, expiresAt: Date.now() + HOUR, createdAt: Date.now() });

test("SqliteStore.batch() commits the work of concurrent callers in one transaction (group commit)", async () => {
  const tmp = tempDir();
  const path = tmp.file("s.sqlite");
  const store = new SqliteStore({ path });
  try {
    const id = generateId();
    store.set(id, fresh("0"));
    const bump = () => store.update(id, (cur) => ({ ...cur!, payload: String(Number(cur!.payload) + 1) }))!.payload;
    // One at a time: one commit each, and each rewrites the row's page in the WAL.
    truncateWal(path);
    for (let i = 0; i < 20; i++) await store.batch(bump);
    const alone = walFrames(path);
    assert.ok(alone >= 20, `20 separate commits wrote ${alone} WAL frames`);
    // Twenty at once: one transaction, the page written once.
    truncateWal(path);
    const answers = await Promise.all(Array.from({ length: 20 }, () => store.batch(bump)));
    const together = walFrames(path);
    assert.ok(together <= 3, `one shared commit wrote ${together} WAL frames`);
    // Each caller got its own result, in order, and every increment landed.
    assert.deepEqual(answers, Array.from({ length: 20 }, (_, i) => String(21 + i)));
    assert.equal(store.get(id)!.payload, "40");
  } finally {
    store.close();
    tmp.cleanup();
  }
});

test("SqliteStore.batch(): work that throws rolls back only its own writes and rejects only its own promise", async () => {
  const tmp = tempDir();
  const store = new SqliteStore({ path: tmp.file("s.sqlite") });
  try {
    const [a, b, c] = [generateId(), generateId(), generateId()];
    const boom = new Error("handler failed halfway");
    const results = await Promise.allSettled([
      store.batch(() => (store.set(a, fresh("a")), "a done")),
      store.batch(() => {
        store.set(b, fresh("b"));
        store.update(a, (cur) => ({ ...cur!, payload: "changed by the failing work" }));
        throw boom;
      }),
      // A promise is refused: its synchronous writes are rolled back too.
      store.batch(() => (store.set(c, fresh("c")), Promise.resolve("late"))),
      store.batch(() => store.update(a, (cur) => ({ ...cur!, payload: cur!.payload + "+1" }))!.payload),
    ]);
    assert.deepEqual(results[0], { status: "fulfilled", value: "a done" });
    assert.deepEqual(results[1], { status: "rejected", reason: boom });
    assert.equal(results[2]!.status, "rejected");
    assert.match(
      String((results[2] as PromiseRejectedResult).reason),
      /TypeError: SqliteStore.batch\(\): work must be synchronous/,
    );
    assert.deepEqual(results[3], { status: "fulfilled", value: "a+1" });
    assert.equal(store.get(a)!.payload, "a+1");
    assert.equal(store.get(b), null);
    assert.equal(store.get(c), null);
  } finally {
    store.close();
    tmp.cleanup();
  }
});

test("SqliteStore.batch(): when another process holds the write lock past busyTimeout, each work fails on its own and nothing is written", async () => {
  const tmp = tempDir();
  const path = tmp.file("s.sqlite");
  const store = new SqliteStore({ path, busyTimeout: 50 });
  const other = openSqlite(path);
  try {
    const id = generateId();
    store.set(id, fresh("kept"));
    other.exec("BEGIN IMMEDIATE");
    const results = await Promise.allSettled([
      store.batch(() => store.update(id, (cur) => ({ ...cur!, payload: "lost?" }))),
      store.batch(() => store.set(generateId(), fresh("new"))),
    ]);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.ok(
        (r as PromiseRejectedResult).reason instanceof StoreUnavailableError,
        String((r as PromiseRejectedResult).reason),
      );
      assert.match((r as PromiseRejectedResult).reason.message, /held the write lock past busyTimeout/);
    }
    other.exec("ROLLBACK");
    assert.equal(store.get(id)!.payload, "kept");
    // The lock released, batches work again.
    assert.equal((await store.batch(() => store.update(id, (cur) => ({ ...cur!, payload: "now" }))))!.payload, "now");
  } finally {
    other.close();
    store.close();
    tmp.cleanup();
  }
});

test("SqliteStore.batch(): a full database fails only the work that needed room", async () => {
  const tmp = tempDir();
  const path = tmp.file("s.sqlite");
  const store = new SqliteStore({ path, maxSizeBytes: 256 * 1024 });
  try {
    const id = generateId();
    store.set(id, fresh("0"));
    const results = await Promise.allSettled([
      store.batch(() => store.update(id, (cur) => ({ ...cur!, payload: "1" }))!.payload),
      store.batch(() => store.set(generateId(), fresh("x".repeat(512 * 1024)))),
      store.batch(() => store.update(id, (cur) => ({ ...cur!, payload: cur!.payload + "2" }))!.payload),
    ]);
    assert.deepEqual(results[0], { status: "fulfilled", value: "1" });
    assert.equal(results[1]!.status, "rejected");
    assert.equal((results[1] as PromiseRejectedResult).reason.name, "StoreFullError");
    assert.deepEqual(results[2], { status: "fulfilled", value: "12" });
    assert.equal(store.get(id)!.payload, "12");
    assert.equal(pragma(path, "integrity_check"), "ok");
  } finally {
    store.close();
    tmp.cleanup();
  }
});

test("SqliteStore.close() commits work already handed to batch(), and later batches reject", async () => {
  const tmp = tempDir();
  const path = tmp.file("s.sqlite");
  const store = new SqliteStore({ path });
  const id = generateId();
  try {
    const pending = [store.batch(() => store.set(id, fresh("saved on close"))), store.batch(() => "second")];
    store.close();
    assert.deepEqual(await Promise.all(pending), [undefined, "second"]);
    await assert.rejects(store.batch(() => "too late"), StoreUnavailableError);
    const again = new SqliteStore({ path });
    assert.equal(again.get(id)!.payload, "saved on close");
    again.close();
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore.batch(): a lock held past busyTimeout is waited for once per flush, not once per queued work", async () => {
  const tmp = tempDir();
  const path = tmp.file("s.sqlite");
  const store = new SqliteStore({ path, busyTimeout: 300 });
  const other = openSqlite(path);
  try {
    other.exec("BEGIN IMMEDIATE");
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.batch(() => store.set(generateId(), fresh("x")))),
    );
    const waited = performance.now() - started;
    assert.ok(results.every((r) => r.status === "rejected" && r.reason instanceof StoreUnavailableError));
    // One wait of 300 ms for the flush; ten more (3.3 s in all) if each work waited on its own.
    assert.ok(waited < 1500, `the ten works waited ${Math.round(waited)} ms in all`);
  } finally {
    other.exec("ROLLBACK");
    other.close();
    store.close();
    tmp.cleanup();
  }
});
