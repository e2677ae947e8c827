/**
 * The store kit (src/store/kit/): one way to read options for every store,
 * one optimistic-update loop, one error mapping, one listing order.
 * Constructors do no I/O, so the clients given here are never called.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { StoreFullError, StoreUnavailableError } from "../src/errors.ts";
import { CookieStore } from "../src/store/cookie.ts";
import { D1Store } from "../src/store/d1.ts";
import { DenoKvStore } from "../src/store/deno-kv.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { RedisStore } from "../src/store/redis.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import {
  CONFLICT,
  firstVersion,
  KeyedQueue,
  oldestFirst,
  optimistic,
  OptimisticWriter,
  storeError,
  TABLE_NAME_MAX,
} from "../src/store/kit/mod.ts";
import { LoadedReads } from "../src/store/kit/loaded.ts";
import type { StoredSession } from "../src/store/types.ts";

/** Clients for the constructors: never called (a constructor sends nothing). */
const kv = { get() {}, atomic() {}, list() {} } as never;
const db = { prepare() {}, batch() {} } as never;
const client = { command: () => Promise.resolve(null) };
const SECRET = "a data secret of at least 32 bytes!!";

/** Every store, made with `extra` options on top of what it requires. */
const STORES: [string, (extra: object) => object][] = [
  ["MemoryStore", (extra) => new MemoryStore(extra)],
  ["SqliteStore", (extra) => new SqliteStore({ path: ":memory:", ...extra })],
  ["DenoKvStore", (extra) => new DenoKvStore({ kv, ...extra })],
  ["D1Store", (extra) => new D1Store({ db, ...extra })],
  ["RedisStore", (extra) => new RedisStore({ client, ...extra })],
  ["CookieStore", (extra) => new CookieStore({ secret: SECRET, ...extra })],
];

test("every store keeps the default of an option given as undefined (options built from unset variables)", () => {
  const unset = {
    MemoryStore: { clock: undefined, maxPayloadBytes: undefined, sweepInterval: undefined, onSweep: undefined },
    SqliteStore: { table: undefined, clock: undefined, maxPayloadBytes: undefined, mmapSize: undefined },
    DenoKvStore: { prefix: undefined, maxPayloadBytes: undefined, maxUpdateRetries: undefined, clock: undefined },
    D1Store: { table: undefined, maxPayloadBytes: undefined, maxUpdateRetries: undefined, clock: undefined },
    RedisStore: { prefix: undefined, commandTimeout: undefined, maxUpdateRetries: undefined, clock: undefined },
    CookieStore: { cookie: undefined, maxCookies: undefined, clock: undefined },
  } as Record<string, object>;
  for (const [name, make] of STORES) {
    const store = make(unset[name]!) as { prefix?: string; table?: string; maxPayloadBytes?: number; close?(): void };
    assert.equal(store.maxPayloadBytes, (make({}) as { maxPayloadBytes?: number }).maxPayloadBytes, name);
    if (name === "DenoKvStore") assert.equal(store.prefix, "satchel");
    if (name === "RedisStore") assert.equal(store.prefix, "satchel:");
    if (name === "D1Store" || name === "SqliteStore") assert.equal(store.table, "satchel_sessions");
    store.close?.();
  }
});

test("every store refuses options that are not an object with one message", () => {
  const makers: [string, (o: unknown) => unknown][] = [
    ["MemoryStore", (o) => new MemoryStore(o as never)],
    ["SqliteStore", (o) => new SqliteStore(o as never)],
    ["DenoKvStore", (o) => new DenoKvStore(o as never)],
    ["D1Store", (o) => new D1Store(o as never)],
    ["RedisStore", (o) => new RedisStore(o as never)],
    ["CookieStore", (o) => new CookieStore(o as never)],
  ];
  for (const [name, make] of makers) {
    for (const [bad, shown] of [[null, "null"], ["x", '"x"'], [[], "an array"]] as const) {
      assert.throws(() => make(bad), {
        name: "TypeError",
        message: new RegExp(`^Cannot create ${name}: options must be an object: received ${shown.replace(/"/g, '"')}`),
      });
    }
  }
  // A store with a required option says what to pass.
  assert.throws(() => new DenoKvStore(undefined as never), /received undefined; pass \{ kv: await Deno\.openKv\(\) \}/);
  assert.throws(() => new RedisStore({} as never), /^TypeError: Cannot create RedisStore: client is required: pass/);
});

test("every store refuses maxPayloadBytes below 1 with the same RangeError", () => {
  for (const [name, make] of STORES) {
    if (name === "CookieStore") continue; // its limit follows from maxCookies
    assert.throws(() => make({ maxPayloadBytes: 0 }), {
      name: "RangeError",
      message: new RegExp(`^Cannot create ${name}: maxPayloadBytes must be (a positive integer|an integer from 1 to)`),
    });
  }
});

test("SqliteStore and D1Store take the same table names: one rule, at most 63 characters, not starting with a digit", () => {
  assert.equal(TABLE_NAME_MAX, 63);
  const longest = "t".repeat(TABLE_NAME_MAX);
  for (
    const make of [
      (table: string) => new SqliteStore({ path: ":memory:", table }),
      (table: string) => new D1Store({ db, table }),
    ]
  ) {
    const store = make(longest);
    assert.equal(store.table, longest);
    if (store instanceof SqliteStore) store.close();
    for (const bad of [longest + "t", "1st", "a-b", ""]) {
      assert.throws(() => make(bad), {
        name: "TypeError",
        message: /table must be a letter or "_", then letters, digits or "_", at most 63 characters/,
      });
    }
    for (const reserved of ["sqlite_x", "sqlite", "SQLite"]) {
      assert.throws(() => make(reserved), {
        name: "TypeError",
        message: /table names sqlite and sqlite_… are reserved/,
      });
    }
  }
});

test("LoadedReads: the read behind what get() returned is used once, by update() of that id, however many loads came between", () => {
  let now = 1_000;
  const reads = new LoadedReads<{ live: StoredSession | null; n: number }>(() => now);
  const live = (payload = "{}") => ({ payload, createdAt: 0, expiresAt: 5_000, userId: null });
  const mine = reads.hand("mine", { live: live(), n: -1 })!;
  assert.deepEqual(mine, live(), "get() returns a plain copy of the live session");
  // Thousands of other requests load meanwhile (a busy process, a slow handler): the read is still there.
  const others = Array.from({ length: 5000 }, (_, n) => reads.hand(`other${n}`, { live: live(), n }));
  assert.equal(reads.recall("other", others[0]!), undefined, "only for the id it was read for");
  assert.equal(reads.recall("mine", { ...mine }), undefined, "only for the object get() returned, not a copy");
  assert.equal(reads.recall("mine", undefined), undefined);
  assert.equal(reads.recall("mine", mine)?.n, -1);
  assert.equal(reads.recall("mine", mine), undefined, "and used once");
  assert.equal(reads.hand("gone", { live: null, n: 0 }), null, "a missing session is null, nothing remembered");
  const big = reads.hand("big", { live: live("x".repeat(16 * 1024 + 1)), n: 1 })!;
  assert.equal(reads.recall("big", big), undefined, "a payload over 16 KiB is not remembered");
  const expiring = reads.hand("late", { live: live(), n: 2 })!;
  now = 5_000;
  assert.equal(reads.recall("late", expiring), undefined, "never past its expiry by the store's clock");
});

test("optimistic() re-reads after a conflict, uses a read it was given first, and gives up with StoreUnavailableError", async () => {
  let reads = 0;
  let writes = 0;
  const result = await optimistic(
    {
      action: "update",
      first: () => "remembered",
      read: () => Promise.resolve(`read ${++reads}`),
      write: (seen) => Promise.resolve(++writes < 3 ? CONFLICT : seen),
    },
    5,
    "processes",
  );
  assert.equal(result, "read 2", "the remembered read stood in for the first; two fresh reads followed");
  await assert.rejects(
    optimistic(
      { action: "touch", read: () => Promise.resolve(0), write: () => Promise.resolve(CONFLICT) },
      3,
      "isolates",
    ),
    (e) =>
      e instanceof StoreUnavailableError &&
      e.message ===
        "Cannot touch session: other writers changed it 3 times in a row; raise maxUpdateRetries if this many isolates write one session at once",
  );
  const boom = new Error("boom");
  await assert.rejects(
    optimistic({ action: "update", read: () => Promise.resolve(0), write: () => Promise.reject(boom) }, 3, "x"),
    (e) => e === boom,
  );
});

test("OptimisticWriter runs one id's operations in turn, and others' alongside", async () => {
  const writer = new OptimisticWriter(3, "processes");
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const step = (label: string, wait?: Promise<void>) => ({
    action: "update",
    read: () => Promise.resolve(label),
    write: async (seen: string) => {
      order.push(`start ${seen}`);
      await wait;
      order.push(`end ${seen}`);
      return seen;
    },
  });
  const a1 = writer.run("a", step("a1", gate));
  const a2 = writer.run("a", step("a2"));
  const b1 = writer.run("b", step("b1"));
  await b1;
  release();
  await Promise.all([a1, a2]);
  assert.deepEqual(order, ["start a1", "start b1", "end b1", "end a1", "start a2", "end a2"]);
});

test("KeyedQueue.run() with a limit fails at its deadline, its wait included, and never starts the late work", async () => {
  const queue = new KeyedQueue();
  let release!: () => void;
  const first = queue.run("k", () => new Promise<void>((r) => (release = r)));
  let started = false;
  const late = queue.run("k", () => (started = true, Promise.resolve()), {
    ms: 1,
    timeout: () => new Error("timed out"),
  });
  await assert.rejects(late, /timed out/);
  release();
  await first;
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(started, false);
});

test("KeyedQueue.run() leaves an operation that found nothing queued to its caller's own time limits", async () => {
  const queue = new KeyedQueue();
  let release!: (v: string) => void;
  const alone = queue.run("k", () => new Promise<string>((r) => (release = r)), {
    ms: 1,
    timeout: () => new Error("timed out"),
  });
  await new Promise((r) => setTimeout(r, 20));
  release("done");
  assert.equal(await alone, "done");
});

test("RedisStore never sends a command once its call's deadline has passed (an update whose fn outlasts commandTimeout)", async () => {
  const sent: string[] = [];
  const now = Date.now();
  const fake = {
    command(args: string[]) {
      sent.push(args[0]!);
      if (args[0] === "HMGET") return Promise.resolve(["p", String(now), String(now + 60_000), null, "v1", "0"]);
      return Promise.resolve(1);
    },
  };
  const store = new RedisStore({ client: fake, commandTimeout: 20 });
  const id = "x".repeat(32);
  await assert.rejects(
    store.update(id, (cur) => {
      const until = performance.now() + 40; // the event loop is held: no timer can fire meanwhile
      while (performance.now() < until);
      return cur && { ...cur, payload: "late" };
    }),
    (e) => e instanceof StoreUnavailableError && /commandTimeout/.test(e.message),
  );
  assert.deepEqual(sent, ["HMGET"], "the write script was never sent");
});

test("storeError() passes Satchel's errors, and makes a driver's a StoreUnavailableError or StoreFullError with cause", () => {
  const full = new Error("disk full");
  const e = storeError("store", full, (cause) => ({ why: `X failed (${(cause as Error).message})`, full: true }));
  assert.ok(e instanceof StoreFullError);
  assert.equal(e.message, "Cannot store session: X failed (disk full)");
  assert.equal(e.cause, full);
  const down = storeError("load", new Error("down"), () => ({ why: "X is unreachable" }));
  assert.ok(down instanceof StoreUnavailableError && !(down instanceof StoreFullError));
  assert.equal(down.status, 503);
  assert.equal(storeError("load", e, () => ({ why: "never" })), e);
});

test("oldestFirst() orders a user's sessions by creation time, then id", () => {
  const entry = (id: string, createdAt: number) => ({ id, session: { payload: "", expiresAt: 0, createdAt } });
  assert.deepEqual(
    oldestFirst([entry("c", 2), entry("b", 1), entry("a", 2)]).map((e) => e.id),
    ["b", "a", "c"],
  );
});

test("docs/options.md states the table-name rule as the kit enforces it, for every SQL store", () => {
  const options = readFileSync(new URL("../docs/options.md", import.meta.url), "utf8");
  const rows = options.split("\n").filter((l) => l.startsWith("| `table`"));
  assert.ok(rows.length >= 2, "SqliteStore's and D1Store's table rows");
  for (const row of rows) {
    assert.match(
      row,
      new RegExp(`a letter or \`_\`, then letters, digits or \`_\`, at most ${TABLE_NAME_MAX} characters`),
    );
  }
});

test("firstVersion() draws a random start that leaves at least 2^52 updates before 2^53", () => {
  // D1 (and Bun's SQL for a bigint column) hand a version back as a JavaScript number: past 2^53 it reads back
  // rounded, the compare-and-set never matches again and every later update of that session fails.
  const drawn = Array.from({ length: 2000 }, () => firstVersion());
  for (const v of drawn) {
    assert.ok(Number.isSafeInteger(v) && v >= 0 && v < 2 ** 52, `firstVersion() returned ${v}`);
  }
  assert.ok(new Set(drawn).size > 1990, "random, not a constant");
});
