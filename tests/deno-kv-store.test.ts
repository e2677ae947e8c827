/**
 * DenoKvStore on a real Deno KV file (SQLite under the Deno CLI): the
 * conformance suite, the limits, the user index, the middleware through
 * app.request(), and two Deno processes updating one session on one file.
 * Deno KV exists only in Deno: on Bun and Node one skipped test says so.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { SessionDataError, SessionTooLargeError, StoreUnavailableError } from "../src/errors.ts";
import { generateId } from "../src/id.ts";
import { type DenoKvLike, DenoKvStore } from "../src/store/deno-kv.ts";
import { canListUserSessions, isSynchronousStore, type StoredSession } from "../src/store/types.ts";
import { HttpJar } from "./example-server.ts";
import { FakeClock, SECRET, tempDir } from "./helpers.ts";
import { countLoginLogout } from "./fixtures/count-login-logout.ts";
import { storeConformance } from "./store-conformance.ts";

type Kv = DenoKvLike & { close(): void };
const deno = (globalThis as { Deno?: { openKv?: (path: string) => Promise<Kv> } }).Deno;
const SKIP = deno === undefined
  ? "Deno KV is built into Deno only (Deno.openKv): run this file with `npm test -- deno`"
  : typeof deno.openKv !== "function"
  ? 'Deno.openKv is missing: run deno with --unstable-kv (deno.json has "unstable": ["kv"])'
  : undefined;

/** A fresh KV file in a temp dir, closed and removed by `cleanup()`. */
async function openTempKv(): Promise<{ kv: Kv; path: string; cleanup: () => void }> {
  const tmp = tempDir("satchel-kv-");
  const path = tmp.file("kv.sqlite");
  const kv = await deno!.openKv!(path);
  return { kv, path, cleanup: () => (kv.close(), tmp.cleanup()) };
}

function stored(clock: FakeClock, payload: string, ttlSeconds = 3600, userId: string | null = null): StoredSession {
  return { payload, expiresAt: clock.now + ttlSeconds * 1000, createdAt: clock.now, userId };
}

async function withStore(fn: (store: DenoKvStore, kv: Kv, clock: FakeClock) => Promise<void>): Promise<void> {
  const clock = new FakeClock();
  const { kv, cleanup } = await openTempKv();
  try {
    await fn(new DenoKvStore({ kv, clock: clock.fn }), kv, clock);
  } finally {
    cleanup();
  }
}

if (SKIP !== undefined) {
  test("DenoKvStore tests (skipped: Deno KV exists only in Deno)", { skip: SKIP }, () => {});
} else {
  storeConformance("DenoKvStore", async (clock) => {
    const { kv, cleanup } = await openTempKv();
    return { store: new DenoKvStore({ kv, clock: clock.fn }), cleanup };
  }, { maxPayloadBytes: 60 * 1024 });

  test("DenoKvStore is asynchronous and lists user sessions", () =>
    withStore(async (store) => {
      assert.equal(isSynchronousStore(store), false);
      assert.equal(canListUserSessions(store), true);
      assert.equal(store.maxPayloadBytes, 61440);
    }));

  test("new DenoKvStore() rejects a missing kv, unknown options and a limit over what a KV value holds", async () => {
    const { kv, cleanup } = await openTempKv();
    try {
      assert.throws(
        () => new DenoKvStore({} as never),
        /Cannot create DenoKvStore: kv is required: pass \{ kv: await Deno.openKv\(\) \}/,
      );
      assert.throws(() => new DenoKvStore({ kv: {} } as never), /Cannot create DenoKvStore: kv must be a Deno\.Kv/);
      assert.throws(
        () => new DenoKvStore({ kv, ttl: 5 } as never),
        (e) => e instanceof TypeError && /unknown option "ttl"/.test(e.message),
      );
      assert.throws(
        () => new DenoKvStore({ kv, maxPayloadBytes: 64 * 1024 }),
        (e) => e instanceof RangeError && /maxPayloadBytes must be an integer from 1 to 61440/.test(e.message),
      );
      assert.throws(() => new DenoKvStore({ kv, prefix: "" }), RangeError);
      assert.throws(() => new DenoKvStore({ kv, maxUpdateRetries: 0 }), RangeError);
      const options = Object.freeze({ kv, prefix: "app" });
      assert.equal(new DenoKvStore(options).prefix, "app");
    } finally {
      cleanup();
    }
  });

  test("DenoKvStore.set() fits a full-size two-byte payload with a 1 KiB non-Latin-1 user id in one KV value", () =>
    withStore(async (store, _kv, clock) => {
      const id = generateId();
      const userId = "é".repeat(512); // 1024 UTF-8 bytes, stored by V8 as two-byte
      const payload = "🎒".repeat(store.maxPayloadBytes / 4);
      await store.set(id, stored(clock, payload, 3600, userId));
      assert.equal((await store.get(id))?.payload, payload);
      assert.deepEqual((await store.listByUser(userId)).map((e) => e.id), [id]);
    }));

  test("DenoKvStore.set() refuses a payload over maxPayloadBytes and a user id over 1 KiB, writing nothing", () =>
    withStore(async (store, _kv, clock) => {
      const id = generateId();
      await assert.rejects(
        store.set(id, stored(clock, "x".repeat(store.maxPayloadBytes + 1))),
        (e) => e instanceof SessionTooLargeError && e.size === 61441 && e.limit === 61440,
      );
      await assert.rejects(store.set(id, stored(clock, "p", 60, "u".repeat(1025))), SessionDataError);
      assert.equal(await store.get(id), null);
    }));

  test("DenoKvStore writes the user index in the same atomic operation as the session, and moves it with the user", () =>
    withStore(async (store, kv, clock) => {
      const id = generateId();
      const indexKeys = async () => {
        const keys: string[] = [];
        for await (const e of kv.list({ prefix: ["satchel", "u"] })) keys.push(e.key.slice(2).join("/"));
        return keys;
      };
      await store.set(id, stored(clock, "p", 60, "alice"));
      assert.deepEqual(await indexKeys(), [`alice/${id}`]);
      await store.update(id, (cur) => ({ ...cur!, userId: "bob" }));
      assert.deepEqual(await indexKeys(), [`bob/${id}`]);
      await store.touch(id, clock.now + 120_000);
      assert.deepEqual(await indexKeys(), [`bob/${id}`]);
      await store.delete(id);
      assert.deepEqual(await indexKeys(), []);
    }));

  test("DenoKvStore.update() of the session get() returned reads nothing more, and still sees a write in between", () =>
    withStore(async (_store, kv, clock) => {
      let gets = 0;
      const spy: DenoKvLike = {
        get: (k) => (gets++, kv.get(k)),
        list: (s, o) => kv.list(s, o),
        atomic: () => kv.atomic(),
      };
      const s = new DenoKvStore({ kv: spy, clock: clock.fn });
      const id = generateId();
      await s.set(id, stored(clock, "0"));
      let loaded = (await s.get(id))!;
      gets = 0;
      await s.update(id, (cur) => ({ ...cur!, payload: String(Number(cur!.payload) + 1) }), loaded);
      assert.equal(gets, 0, "the load's read stood in for the update's");
      loaded = (await s.get(id))!;
      await new DenoKvStore({ kv, clock: clock.fn }).update(id, (cur) => ({ ...cur!, payload: "10" }));
      await s.update(id, (cur) => ({ ...cur!, payload: String(Number(cur!.payload) + 1) }), loaded);
      assert.equal((await s.get(id))?.payload, "11");
    }));

  test("DenoKvStore sets expireIn on the session and its index key, so KV drops them itself", () =>
    withStore(async (_store, kv, clock) => {
      const expireIns: (number | undefined)[] = [];
      const spy: DenoKvLike = {
        get: (k) => kv.get(k),
        list: (s, o) => kv.list(s, o),
        atomic() {
          const op = kv.atomic();
          const set = op.set.bind(op);
          op.set = (key, value, options) => (expireIns.push(options?.expireIn), set(key, value, options));
          return op;
        },
      };
      const s = new DenoKvStore({ kv: spy, clock: clock.fn });
      const id = generateId();
      await s.set(id, stored(clock, "p", 60, "alice"));
      await s.touch(id, clock.now + 90_000);
      assert.deepEqual(expireIns, [60_000, 60_000, 90_000, 90_000]);
    }));

  test("DenoKvStore.deleteExpired() deletes expired sessions and their index keys in batches, and counts them", () =>
    withStore(async (store, kv, clock) => {
      const dead = Array.from({ length: 25 }, () => generateId());
      for (const id of dead) await store.set(id, stored(clock, "d", 10, "alice"));
      const live = generateId();
      await store.set(live, stored(clock, "l", 1000, "alice"));
      clock.advance(20);
      assert.equal(await store.deleteExpired(), 25);
      let indexed = 0;
      for await (const _ of kv.list({ prefix: ["satchel", "u", "alice"] })) indexed++;
      assert.equal(indexed, 1);
      assert.equal((await store.get(live))?.payload, "l");
    }));

  test("DenoKvStore retries a commit that failed with 'database is locked'", () =>
    withStore(async (_store, kv, clock) => {
      let failures = 2;
      const flaky: DenoKvLike = {
        get: (k) => kv.get(k),
        list: (s, o) => kv.list(s, o),
        atomic() {
          const op = kv.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => failures-- > 0 ? Promise.reject(new TypeError("database is locked")) : commit();
          return op;
        },
      };
      const store = new DenoKvStore({ kv: flaky, clock: clock.fn });
      const id = generateId();
      await store.set(id, stored(clock, "p"));
      assert.equal(failures, -1);
      assert.equal((await store.get(id))?.payload, "p");
    }));

  test("DenoKvStore.update() gives up with StoreUnavailableError after maxUpdateRetries lost checks", () =>
    withStore(async (store, kv, clock) => {
      const id = generateId();
      await store.set(id, stored(clock, "0"));
      // Before each of this store's commits, another writer rewrites the session, so every check fails.
      const raced: DenoKvLike = {
        get: (k) => kv.get(k),
        list: (s, o) => kv.list(s, o),
        atomic() {
          const op = kv.atomic();
          const commit = op.commit.bind(op);
          op.commit = async () => (await store.touch(id, clock.now + 60_000), commit());
          return op;
        },
      };
      const loser = new DenoKvStore({ kv: raced, clock: clock.fn, maxUpdateRetries: 3 });
      let calls = 0;
      await assert.rejects(
        loser.update(id, (cur) => (calls++, { ...cur!, payload: "mine" })),
        (e) => e instanceof StoreUnavailableError && /changed it 3 times in a row/.test(e.message),
      );
      assert.equal(calls, 3);
      assert.equal((await store.get(id))?.payload, "0");
    }));

  test("DenoKvStore.get() throws StoreUnavailableError once closed", () =>
    withStore(async (store) => {
      store.close();
      await assert.rejects(store.get(generateId()), StoreUnavailableError);
    }));

  test("session() on a DenoKvStore counts, regenerates on login, ends sessions by user and destroys on logout", () =>
    withStore((store) => countLoginLogout(store)));

  test(
    "DenoKvStore.update() from two Deno processes on one KV file never loses an increment",
    { timeout: 120_000 },
    async () => {
      const { kv, path, cleanup } = await openTempKv();
      try {
        const id = generateId();
        const clock = new FakeClock(Date.now());
        const store = new DenoKvStore({ kv });
        await store.set(id, stored(clock, "0"));
        const script = fileURLToPath(new URL("./fixtures/deno-kv-writer.ts", import.meta.url));
        const perProcess = 150;
        const children = [0, 1].map(() => {
          const child = spawn(process.execPath, [
            "run",
            "-A",
            "--unstable-kv",
            script,
            path,
            id,
            String(perProcess),
            "3",
          ], {
            stdio: ["pipe", "pipe", "pipe"],
          });
          let out = "";
          child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
          child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
          const ready = new Promise<void>((resolve, reject) => {
            child.stdout!.on("data", () => out.includes("ready") && resolve());
            child.once("close", () => reject(new Error(`writer exited before ready: ${out}`)));
          });
          const closed = new Promise<number | null>((resolve) => child.once("close", resolve));
          return { child, ready, closed, output: () => out };
        });
        await Promise.all(children.map((c) => c.ready));
        for (const c of children) c.child.stdin!.end("go\n");
        const codes = await Promise.all(children.map((c) => c.closed));
        assert.deepEqual(codes, [0, 0], children.map((c) => c.output()).join("\n"));
        assert.equal((await store.get(id))?.payload, String(2 * perProcess));
        const stats = children.map((c) =>
          JSON.parse(c.output().trim().split("\n").at(-1)!) as { conflicts: number; locked: number }
        );
        console.log(`two processes: ${JSON.stringify(stats)} (lost checks and lock errors, all retried)`);
      } finally {
        cleanup();
      }
    },
  );

  test("examples/deno-deploy under `deno serve`: counts, regenerates on login, lists devices, signs out everywhere", {
    timeout: 60_000,
  }, async () => {
    const tmp = tempDir("satchel-kv-example-");
    const script = fileURLToPath(new URL("../examples/deno-deploy/main.ts", import.meta.url));
    const child = spawn(process.execPath, ["serve", "-A", "--host", "127.0.0.1", "--port", "0", script], {
      env: { ...process.env, SESSION_SECRET: SECRET, KV_PATH: tmp.file("kv.sqlite"), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    try {
      const origin = await new Promise<string>((resolve, reject) => {
        const check = () => {
          const m = /Listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
          if (m) resolve(m[1]!);
        };
        child.stdout!.on("data", check);
        child.stderr!.on("data", check);
        void closed.then(() => reject(new Error(`deno serve exited: ${out}`)));
      });
      const a = new HttpJar(origin);
      const b = new HttpJar(origin);
      assert.equal(await a.text("/"), "count: 1\n");
      assert.equal(await a.text("/"), "count: 2\n");
      const anonymous = a.cookies.get("sid");
      assert.equal(await (await a.fetch("/login?user=alice", { method: "POST" })).text(), "hello alice\n");
      assert.notEqual(a.cookies.get("sid"), anonymous);
      assert.equal(await a.text("/"), "count: 3\n");
      assert.equal(await (await b.fetch("/login?user=alice", { method: "POST" })).text(), "hello alice\n");
      assert.equal(await a.text("/devices"), "2 sessions\n");
      assert.equal(await (await b.fetch("/logout-everywhere", { method: "POST" })).text(), "bye everywhere\n");
      assert.equal(await a.text("/devices"), "nobody\n");
      assert.equal(await a.text("/"), "count: 1\n");
    } finally {
      child.kill("SIGTERM");
      await closed;
      tmp.cleanup();
    }
  });
}
