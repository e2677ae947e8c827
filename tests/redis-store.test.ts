/**
 * RedisStore against a real redis-server: the conformance suite with every
 * client that runs on this runtime, the middleware through app.request(),
 * 4 OS processes writing one session, and a Redis killed and restarted.
 * scripts/test-all.sh starts a private server and exports SATCHEL_REDIS_URL.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Socket } from "node:net";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { StoreFullError, StoreUnavailableError } from "../src/errors.ts";
import { generateId } from "../src/id.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { type RedisCommander, toCommander } from "../src/store/redis/commander.ts";
import { RedisStore } from "../src/store/redis.ts";
import type { StoredSession } from "../src/store/types.ts";
import {
  canRunSentinel,
  type ClientName,
  CLIENTS,
  connect,
  dropPrefix,
  freePort,
  isBun,
  REDIS_URL,
  startCluster,
  startRedis,
  startSentinel,
  stopRedis,
  uniquePrefix,
} from "./fixtures/redis-clients.ts";
import { HttpJar, startExample } from "./example-server.ts";
import { CookieJar, FakeClock, SECRET, tempDir } from "./helpers.ts";
import { storeConformance } from "./store-conformance.ts";
import { startSweeper } from "../src/store/sweeper.ts";

const SKIP = "SATCHEL_REDIS_URL is not set: run the suite with `npm test`, which starts a private redis-server";

function stored(payload: string, ttlMs = 60_000, userId: string | null = null, now = Date.now()): StoredSession {
  return { payload, expiresAt: now + ttlMs, createdAt: now, userId };
}

/** A client and a store on a fresh prefix, removed by `done()`. */
async function fixture(
  url: string,
  name: ClientName = CLIENTS[0]!,
  options: {
    commander?: (inner: RedisCommander) => RedisCommander;
    commandTimeout?: number;
    maxUpdateRetries?: number;
  } = {},
) {
  const c = await connect(name, url);
  const prefix = uniquePrefix();
  const inner = toCommander(c.client)!;
  const store = new RedisStore({
    client: options.commander ? options.commander(inner) : c.client,
    prefix,
    commandTimeout: options.commandTimeout,
    maxUpdateRetries: options.maxUpdateRetries,
  });
  return {
    c,
    store,
    prefix,
    async done() {
      await dropPrefix(c, prefix);
      await c.close();
    },
  };
}

function counterApp(store: RedisStore) {
  const app = new Hono<SessionEnv<{ count: number }>>();
  app.use(session({ secret: SECRET, store }));
  app.get("/inc", async (c) => c.text(String((await c.get("session").load()).update("count", (n) => (n ?? 0) + 1))));
  app.get("/read", async (c) => c.text(String((await c.get("session").load()).get("count") ?? 0)));
  app.get("/login/:user", async (c) => {
    const s = await c.get("session").load();
    s.regenerate();
    s.setUser(c.req.param("user"));
    return c.text("ok");
  });
  return app;
}

/** Retries `fn` until it succeeds or `ms` pass (waiting on a real server to come back). */
async function eventually<T>(fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

if (REDIS_URL === undefined) {
  if (process.env.CI) {
    test("RedisStore tests have a Redis server (SATCHEL_REDIS_URL)", () => {
      assert.fail(
        "SATCHEL_REDIS_URL is not set; in CI a missing Redis is a failure: run the suite through scripts/test-all.sh (npm test), which starts redis-server",
      );
    });
  } else {
    console.warn(`note: RedisStore tests skipped: ${SKIP}`);
    test("RedisStore tests (skipped: SATCHEL_REDIS_URL is not set)", { skip: SKIP }, () => {});
  }
} else {
  const url = REDIS_URL;

  for (const name of CLIENTS) {
    storeConformance(`RedisStore (${name})`, async (clock) => {
      const c = await connect(name, url);
      const prefix = uniquePrefix();
      return {
        store: new RedisStore({ client: c.client, prefix, clock: clock.fn }),
        cleanup: async () => {
          await dropPrefix(c, prefix);
          await c.close();
        },
      };
    }, { selfExpiring: true });
  }

  test("RedisStore rejects a client it cannot use, at setup", () => {
    assert.throws(() => new RedisStore({ client: {} }), {
      name: "TypeError",
      message:
        /Cannot create RedisStore: client must be an ioredis Redis\/Cluster, a node-redis client\/cluster, Bun's RedisClient/,
    });
    assert.throws(() => new RedisStore({ client: { command: async () => null }, commandTimeout: 0 }), {
      name: "RangeError",
      message: /commandTimeout must be a positive integer: received 0/,
    });
    assert.throws(() => new RedisStore({ client: { command: async () => null }, ttl: 60 } as never), {
      name: "TypeError",
      message:
        /^Cannot create RedisStore: unknown option "ttl" \(the session's lifetime is the session option expires; Redis's TTL follows it\); known options are client, prefix/,
    });
  });

  test("RedisStore has no deleteExpired (Redis expires keys itself), and a sweeper on it fails at setup saying so", async () => {
    const f = await fixture(url);
    try {
      assert.equal("deleteExpired" in f.store, false);
      assert.throws(() => startSweeper("RedisStore", f.store, 60), {
        name: "TypeError",
        message: "Cannot sweep RedisStore: it expires sessions itself and has no deleteExpired; drop sweepInterval",
      });
    } finally {
      await f.done();
    }
  });

  test("RedisStore.deleteAll() ends every session and user index under its prefix, and nothing under another", async () => {
    const f = await fixture(url);
    const other = await fixture(url);
    try {
      for (let i = 0; i < 1200; i++) await f.store.set(generateId(), stored("p", 60_000, i % 3 === 0 ? "alice" : null));
      const kept = generateId();
      await other.store.set(kept, stored("other", 60_000, "alice"));
      assert.equal(await f.store.deleteAll(), 1200);
      assert.deepEqual(await f.c.cmd(["KEYS", `${f.store.prefix}*`]), []);
      assert.deepEqual(await f.store.listByUser("alice"), []);
      assert.equal((await other.store.get(kept))?.payload, "other");
      assert.equal((await other.store.listByUser("alice")).length, 1);
    } finally {
      await f.done();
      await other.done();
    }
  });

  test("RedisStore.set() writes one hash under <prefix>s:{id} with a PX TTL of the idle expiry", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      await f.store.set(id, stored("data", 60_000));
      assert.deepEqual(await f.c.cmd(["KEYS", `${f.prefix}*`]), [`${f.prefix}s:{${id}}`]);
      const pttl = Number(await f.c.cmd(["PTTL", `${f.prefix}s:{${id}}`]));
      assert.ok(pttl > 55_000 && pttl <= 60_000, `PTTL ${pttl}`);
      assert.equal(await f.c.cmd(["HGET", `${f.prefix}s:{${id}}`, "p"]), "data");
    } finally {
      await f.done();
    }
  });

  test("RedisStore.set() over a session rewrites every field (a binding removed) and tells the near caches; a new one (set or update) tells none", async () => {
    const f = await fixture(url);
    const { Redis } = await import("ioredis");
    const sub = new Redis(url);
    const messages: string[] = [];
    try {
      sub.on("message", (_channel: string, message: string) => messages.push(message));
      await sub.subscribe(`${f.prefix}inv`);
      const id = generateId();
      const key = f.store.sessionKey(id);
      await f.store.set(id, stored("bound", 60_000, "alice"));
      await f.store.set(id, stored("unbound"));
      assert.deepEqual(await f.c.cmd(["HMGET", key, "p", "u"]), ["unbound", null]);
      assert.equal(await f.store.deleteByUser("alice"), 0, "no longer alice's");
      await f.store.set(id, stored("bob's", 60_000, "bob"));
      assert.deepEqual(await f.c.cmd(["HMGET", key, "p", "u"]), ["bob's", "bob"]);
      await f.store.set(generateId(), stored("another new one"));
      const created = generateId();
      assert.equal((await f.store.update(created, () => stored("created by update")))?.payload, "created by update");
      await sub.ping(); // answered after every message published before it
      assert.equal(messages.length, 2, messages.join("\n"));
      const version = String(await f.c.cmd(["HGET", key, "v"]));
      assert.equal(messages[1], `${id} ${version}|${await f.c.cmd(["HGET", key, "e"])}`);
      assert.ok(messages.every((m) => m.startsWith(`${id} `)));
    } finally {
      sub.disconnect();
      await f.done();
    }
  });

  test("RedisStore.set() of a session already past its expiry stores nothing", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      await f.store.set(id, stored("live"));
      await f.store.set(id, stored("dead", -1));
      assert.equal(await f.c.cmd(["EXISTS", f.store.sessionKey(id)]), 0);
    } finally {
      await f.done();
    }
  });

  test("RedisStore.touch() moves the key's TTL and expiry field and never rewrites the payload", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      const key = f.store.sessionKey(id);
      await f.store.set(id, stored("data", 60_000));
      const version = await f.c.cmd(["HGET", key, "v"]);
      const expiresAt = Date.now() + 600_000;
      await f.store.touch(id, expiresAt);
      const pttl = Number(await f.c.cmd(["PTTL", key]));
      assert.ok(pttl > 590_000, `PTTL ${pttl}`);
      assert.equal(await f.c.cmd(["HGET", key, "v"]), version, "the write version is unchanged");
      const got = await f.store.get(id);
      assert.equal(got?.payload, "data");
      assert.equal(got?.expiresAt, expiresAt);
    } finally {
      await f.done();
    }
  });

  test("RedisStore.touch() never creates a missing key", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      await f.store.touch(id, Date.now() + 60_000);
      assert.equal(await f.c.cmd(["EXISTS", f.store.sessionKey(id)]), 0);
    } finally {
      await f.done();
    }
  });

  test("RedisStore keeps a bound session in its user's index at least until the session expires", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      const ukey = f.store.userKey("alice");
      const first = stored("p", 60_000, "alice");
      await f.store.set(id, first);
      assert.ok(Number(await f.c.cmd(["ZSCORE", ukey, id])) >= first.expiresAt);
      // Touch far past what the index covers: the index must move first.
      const later = Date.now() + 3_600_000;
      await f.store.touch(id, later);
      assert.equal((await f.store.get(id))?.expiresAt, later);
      assert.ok(Number(await f.c.cmd(["ZSCORE", ukey, id])) >= later);
      assert.ok(Number(await f.c.cmd(["HGET", f.store.sessionKey(id), "i"])) >= later);
      assert.ok(
        Number(await f.c.cmd(["PTTL", ukey])) >= later - Date.now() - 1000,
        "the index key lives as long as its entries",
      );
      // An update that moves the expiry further does the same.
      const latest = Date.now() + 7_200_000;
      await f.store.update(id, (cur) => ({ ...cur!, payload: "q", expiresAt: latest }));
      assert.ok(Number(await f.c.cmd(["ZSCORE", ukey, id])) >= latest);
      assert.equal(await f.store.deleteByUser("alice"), 1);
      assert.equal(await f.store.get(id), null);
    } finally {
      await f.done();
    }
  });

  test("RedisStore.deleteByUser() spares a session that moved to another user", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      await f.store.set(id, stored("p", 60_000, "alice"));
      await f.store.update(id, (cur) => ({ ...cur!, userId: "bob" }));
      assert.equal(await f.store.deleteByUser("alice"), 0);
      assert.equal((await f.store.get(id))?.userId, "bob");
      assert.equal(await f.store.deleteByUser("bob"), 1);
      assert.equal(await f.store.get(id), null);
    } finally {
      await f.done();
    }
  });

  test("RedisStore.update() re-reads and re-applies when another process wrote between its read and its write", async () => {
    const other = await fixture(url);
    let commands = 0;
    const id = generateId();
    // Store A's second command is its compare-and-set: let store B write first, for real, on its own connection.
    const f = await fixture(url, CLIENTS[0], {
      commander: (inner) => ({
        async command(args, key) {
          if (++commands === 2) await otherStore.update(id, (cur) => ({ ...cur!, payload: "10" }));
          return await inner.command(args, key);
        },
      }),
    });
    const otherStore = new RedisStore({ client: other.c.client, prefix: f.prefix });
    try {
      await otherStore.set(id, stored("0"));
      const seen: string[] = [];
      const result = await f.store.update(id, (cur) => {
        seen.push(cur!.payload);
        return { ...cur!, payload: String(Number(cur!.payload) + 1) };
      });
      assert.deepEqual(seen, ["0", "10"]);
      assert.equal(result?.payload, "11");
      assert.equal((await otherStore.get(id))?.payload, "11");
    } finally {
      await other.c.close();
      await f.done();
    }
  });

  test("RedisStore.update() right after get() writes in one round trip", async () => {
    const sent: string[] = [];
    const f = await fixture(url, CLIENTS[0], {
      commander: (inner) => ({ command: (args, key) => (sent.push(args[0]!), inner.command(args, key)) }),
    });
    try {
      const id = generateId();
      await f.store.set(id, stored("0"));
      sent.length = 0;
      const cur = await f.store.get(id);
      // The session get() returned, handed back as the middleware does: its read stands in for the update's.
      await f.store.update(id, (c) => ({ ...c!, payload: String(Number(c!.payload) + 1) }), cur!);
      assert.equal(cur?.payload, "0");
      assert.deepEqual(sent, ["HMGET", "EVALSHA"]);
      // Without it, the update reads first.
      sent.length = 0;
      await f.store.get(id);
      await f.store.update(id, (c) => ({ ...c!, payload: "2" }));
      assert.deepEqual(sent, ["HMGET", "HMGET", "EVALSHA"]);
      assert.equal((await f.store.get(id))?.payload, "2");
    } finally {
      await f.done();
    }
  });

  test("RedisStore.update() after get() re-reads when another process moved the expiry in between", async () => {
    const clock = new FakeClock(Date.now());
    const a = await fixture(url);
    const b = new RedisStore({ client: a.c.client, prefix: a.prefix, clock: clock.fn });
    const store = new RedisStore({ client: a.c.client, prefix: a.prefix, clock: clock.fn });
    try {
      const id = generateId();
      await store.set(id, stored("p", 60_000, null, clock.now));
      const loaded = (await store.get(id))!;
      await b.touch(id, clock.now + 5_000); // another process shortens it...
      clock.advance(10); // ...and it has expired since
      const seen: (string | null)[] = [];
      const result = await store.update(
        id,
        (cur) => (seen.push(cur?.payload ?? null), cur === null ? null : { ...cur, payload: "revived" }),
        loaded,
      );
      assert.deepEqual(
        seen,
        ["p", null],
        "the remembered read failed the compare-and-set and was replaced by a fresh one",
      );
      assert.equal(result, null);
      assert.equal(await store.get(id), null);
    } finally {
      await a.done();
    }
  });

  test("RedisStore.update() gives up after maxUpdateRetries lost races with a clear error, keeping the other write", async () => {
    const other = await fixture(url);
    const id = generateId();
    let n = 0;
    const f = await fixture(url, CLIENTS[0], {
      maxUpdateRetries: 3,
      commander: (inner) => ({
        async command(args, key) {
          if (args[0]!.startsWith("EVAL")) await otherStore.set(id, stored(`other ${++n}`));
          return await inner.command(args, key);
        },
      }),
    });
    const otherStore = new RedisStore({ client: other.c.client, prefix: f.prefix });
    try {
      await otherStore.set(id, stored("0"));
      await assert.rejects(f.store.update(id, (cur) => ({ ...cur!, payload: "mine" })), (e) => {
        assert.ok(e instanceof StoreUnavailableError);
        assert.match(
          e.message,
          /Cannot update session: other writers changed it 3 times in a row; raise maxUpdateRetries/,
        );
        return true;
      });
      assert.equal((await otherStore.get(id))?.payload, `other ${n}`);
    } finally {
      await other.c.close();
      await f.done();
    }
  });

  test("RedisStore fails with StoreUnavailableError after commandTimeout when Redis accepts but never answers", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => void sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const { Redis } = await import("ioredis");
    const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    try {
      const store = new RedisStore({ client, commandTimeout: 100 });
      await assert.rejects(store.get(generateId()), {
        name: "StoreUnavailableError",
        message: "Cannot load session: Redis did not answer within 100 ms (commandTimeout)",
      });
    } finally {
      client.disconnect();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  test("RedisStore.update(): with Redis paused (SIGSTOP), each of 8 queued updates of one session fails within its own commandTimeout", async () => {
    const port = await freePort();
    const server = await startRedis(port);
    const c = await connect(CLIENTS[0]!, `redis://127.0.0.1:${port}`);
    const timeout = 400;
    try {
      const store = new RedisStore({ client: c.client, commandTimeout: timeout });
      const id = generateId();
      await store.set(id, stored("0"));
      const loaded = (await store.get(id))!; // the middleware's load: the first update then sends its write at once
      // process.kill, not server.kill: Deno's ChildProcess.kill does not deliver SIGCONT.
      process.kill(server.pid!, "SIGSTOP");
      const start = performance.now();
      const settled = await Promise.all(
        Array.from(
          { length: 8 },
          (_, i) =>
            store.update(id, (cur) => ({ ...cur!, payload: String(i + 1) }), loaded).then(
              () => ({ ok: true, ms: performance.now() - start, e: undefined as unknown }),
              (e: unknown) => ({ ok: false, ms: performance.now() - start, e }),
            ),
        ),
      );
      for (const r of settled) {
        assert.equal(r.ok, false);
        assert.ok(r.e instanceof StoreUnavailableError, String(r.e));
        assert.match(
          (r.e as Error).message,
          /^Cannot update session: Redis did not answer within 400 ms \(commandTimeout\); the outcome is unknown/,
        );
      }
      // Before the fix the k-th failed after k × timeout (3.2 s for the 8th).
      const slowest = Math.max(...settled.map((r) => r.ms));
      assert.ok(slowest < 3 * timeout, `the slowest update failed after ${Math.round(slowest)} ms`);
      process.kill(server.pid!, "SIGCONT");
      // The first update was already sent: Redis applies it when it resumes (the 503 did not undo it);
      // the others never left the process.
      const after = await eventually(async () => {
        const s = await store.get(id);
        if (s?.payload === "0") throw new Error("not applied yet");
        return s;
      });
      assert.equal(after?.payload, "1");
    } finally {
      process.kill(server.pid!, "SIGCONT");
      await c.close();
      await stopRedis(server);
    }
  });

  test("session() counts through app.request() on RedisStore, and concurrent requests lose nothing", async () => {
    const f = await fixture(url);
    try {
      const app = counterApp(f.store);
      const jar = new CookieJar(app);
      for (let i = 1; i <= 3; i++) assert.equal(await jar.text("/inc"), String(i));
      const other = new CookieJar(app);
      assert.equal(await other.text("/inc"), "1");
      await Promise.all(Array.from({ length: 20 }, () => jar.fetch("/inc")));
      assert.equal(await jar.text("/read"), "23");
      const keys = (await f.c.cmd(["KEYS", `${f.prefix}s:*`])) as string[];
      assert.equal(keys.length, 2);
      const pttl = Number(await f.c.cmd(["PTTL", keys[0]!]));
      assert.ok(pttl > 3_500_000 && pttl <= 3_600_000, `PTTL ${pttl}`);
    } finally {
      await f.done();
    }
  });

  test("session() on RedisStore: a writing request costs two Redis commands, a reading one one, an untouched or anonymous one none", async () => {
    const sent: string[] = [];
    const f = await fixture(url, CLIENTS[0], {
      commander: (inner) => ({ command: (args, key) => (sent.push(args[0]!), inner.command(args, key)) }),
    });
    try {
      const app = counterApp(f.store);
      app.get("/plain", (c) => c.text("plain"));
      const jar = new CookieJar(app);
      await jar.text("/inc");
      sent.length = 0;
      assert.equal(await jar.text("/inc"), "2");
      assert.deepEqual(sent.splice(0), ["HMGET", "EVALSHA"]);
      assert.equal(await jar.text("/read"), "2");
      assert.deepEqual(sent.splice(0), ["HMGET"]);
      assert.equal(await jar.text("/plain"), "plain");
      assert.deepEqual(sent.splice(0), [], "a signed-in request that never loads the session does no Redis I/O");
      assert.equal(await (await app.request("http://localhost/plain")).text(), "plain");
      assert.equal(await (await app.request("http://localhost/read")).text(), "0");
      assert.deepEqual(sent.splice(0), [], "a request without a session cookie that writes nothing does no Redis I/O");
    } finally {
      await f.done();
    }
  });

  test("RedisStore.deleteByUser() signs a user out of every browser through the middleware", async () => {
    const f = await fixture(url);
    try {
      const app = counterApp(f.store);
      const [a, b, c] = [new CookieJar(app), new CookieJar(app), new CookieJar(app)];
      await a.text("/login/alice");
      await b.text("/login/alice");
      await c.text("/login/carol");
      for (const jar of [a, b, c]) assert.equal(await jar.text("/inc"), "1");
      assert.equal(await f.store.deleteByUser("alice"), 2);
      assert.equal(await a.text("/read"), "0");
      assert.equal(await b.text("/read"), "0");
      assert.equal(await c.text("/read"), "1");
    } finally {
      await f.done();
    }
  });

  test("RedisStore.update() loses no increment with 4 OS processes writing one session", async () => {
    const f = await fixture(url);
    const id = generateId();
    const perProcess = 100;
    const worker = fileURLToPath(new URL("./fixtures/redis-worker.ts", import.meta.url));
    const runtimeArgs = "Deno" in globalThis ? ["run", "-A", worker] : [worker];
    try {
      await f.store.set(id, stored("0", 600_000));
      const children = Array.from({ length: 4 }, (_, i) => {
        const client = CLIENTS[i % CLIENTS.length]!;
        const child = spawn(process.execPath, [...runtimeArgs, url, f.prefix, id, String(perProcess), client], {
          stdio: ["pipe", "pipe", "inherit"],
        });
        let out = "";
        child.stdout!.on("data", (d) => (out += String(d)));
        const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
        const ready = new Promise<void>((resolve, reject) => {
          child.stdout!.on("data", () => out.includes("ready") && resolve());
          void exited.then((code) =>
            reject(new Error(`worker ${i} (${client}) exited ${code} before it was ready: ${out}`))
          );
        });
        return { child, ready, exited, out: () => out };
      });
      await Promise.all(children.map((w) => w.ready));
      for (const w of children) w.child.stdin!.end("go\n");
      const codes = await Promise.all(children.map((w) => w.exited));
      assert.deepEqual(codes, [0, 0, 0, 0], children.map((w) => w.out()).join("\n"));
      assert.equal((await f.store.get(id))?.payload, String(4 * perProcess));
      const calls = children.reduce((sum, w) => sum + Number(/calls=(\d+)/.exec(w.out())?.[1] ?? NaN), 0);
      assert.ok(calls >= 4 * perProcess, `update functions ran ${calls} times`);
    } finally {
      await f.done();
    }
  });

  test("RedisStore throws StoreFullError when Redis is out of memory and the stored session stays intact", async () => {
    const port = await freePort();
    const server = await startRedis(port);
    const c = await connect(CLIENTS[0]!, `redis://127.0.0.1:${port}`);
    try {
      const store = new RedisStore({ client: c.client });
      const id = generateId();
      await store.set(id, stored("kept"));
      await c.cmd(["CONFIG", "SET", "maxmemory", "1"]);
      await assert.rejects(store.update(id, (cur) => ({ ...cur!, payload: "x".repeat(100_000) })), (e) => {
        assert.ok(e instanceof StoreFullError, String(e));
        assert.match(e.message, /Cannot update session: Redis is out of memory/);
        // Never advice to evict: an evicting policy drops user indexes first, and sign-out-everywhere then ends nothing.
        assert.doesNotMatch(e.message, /use an eviction policy/);
        assert.match(e.message, /keep maxmemory-policy noeviction/);
        return true;
      });
      await c.cmd(["CONFIG", "SET", "maxmemory", "0"]);
      assert.equal((await store.get(id))?.payload, "kept");
    } finally {
      await c.close();
      await stopRedis(server);
    }
  });

  test(
    "examples/redis/app.ts: two instances share one visitor's session over real HTTP",
    { timeout: 60_000 },
    async () => {
      const [a, b] = await Promise.all([
        startExample("redis/app.ts", { REDIS_URL: url }),
        startExample("redis/app.ts", { REDIS_URL: url }),
      ]);
      const f = await fixture(url);
      try {
        const jar = new HttpJar(a.origin);
        assert.match(await jar.text("/"), /^count: 1 \(anonymous/);
        const other = new HttpJar(b.origin);
        for (const [k, v] of jar.cookies) other.cookies.set(k, v);
        assert.match(await other.text("/"), /^count: 2 \(anonymous, served by :\d+/);
        assert.equal(await other.text("/login/ada"), "signed in as ada\n");
        for (const [k, v] of other.cookies) jar.cookies.set(k, v);
        assert.match(await jar.text("/"), /^count: 3 \(ada,/);
        assert.equal(await jar.text("/logout-everywhere"), "ended 1 sessions of ada\n");
        assert.match(await other.text("/"), /^count: 1 \(anonymous/);
      } finally {
        await dropPrefix(f.c, "satchel-example:");
        await f.done();
        assert.ok(await a.stop(), a.output());
        assert.ok(await b.stop(), b.output());
      }
    },
  );

  test("RedisStore runs on a 3-shard Redis Cluster through ioredis Cluster and node-redis createCluster", {
    timeout: 60_000,
  }, async () => {
    const tmp = tempDir("satchel-cluster-");
    const cluster = await startCluster(tmp.dir);
    const nodes = await Promise.all(cluster.ports.map((p) => connect("ioredis", `redis://127.0.0.1:${p}`)));
    try {
      for (const kind of ["ioredis Cluster", "node-redis createCluster"]) {
        let client: object;
        let close: () => Promise<void>;
        if (kind === "ioredis Cluster") {
          const { Cluster } = await import("ioredis");
          const c = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })), {
            redisOptions: { maxRetriesPerRequest: 1 },
          });
          c.on("error", () => {});
          client = c;
          close = async () => void c.disconnect();
        } else {
          const { createCluster } = await import("redis");
          const c = createCluster({ rootNodes: cluster.ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })) });
          c.on("error", () => {});
          await c.connect();
          client = c;
          close = async () => void c.destroy();
        }
        try {
          const prefix = uniquePrefix();
          const store = new RedisStore({ client, prefix });
          const ids = Array.from({ length: 30 }, () => generateId());
          for (const [i, id] of ids.entries()) {
            await store.set(id, stored(`p${i}`, 60_000, i % 2 === 0 ? "alice" : "bob"));
          }
          for (const [i, id] of ids.entries()) assert.equal((await store.get(id))?.payload, `p${i}`);
          const perShard = await Promise.all(
            nodes.map(async (n) => ((await n.cmd(["KEYS", `${prefix}s:*`])) as string[]).length),
          );
          assert.equal(perShard.reduce((a, b) => a + b, 0), 30);
          assert.ok(perShard.filter((n) => n > 0).length >= 2, `sessions spread over the shards: ${perShard}`);
          await store.update(ids[0]!, (cur) => ({ ...cur!, payload: "0" }));
          await Promise.all(
            Array.from(
              { length: 50 },
              () => store.update(ids[0]!, (cur) => ({ ...cur!, payload: String(Number(cur!.payload) + 1) })),
            ),
          );
          assert.equal((await store.get(ids[0]!))?.payload, "50");
          await store.touch(ids[2]!, Date.now() + 3_600_000); // past the index cover: extends alice's index on its own shard first
          assert.equal(await store.deleteByUser("alice"), 15);
          for (const [i, id] of ids.entries()) {
            assert.equal((await store.get(id)) === null, i % 2 === 0, `session ${i}`);
          }
          // deleteAll() reaches every primary: bob's 15 sessions and both user indexes go.
          assert.equal(await store.deleteAll(), 15, kind);
          for (const id of ids) assert.equal(await store.get(id), null);
          const left = await Promise.all(nodes.map((n) => n.cmd(["KEYS", `${prefix}*`]) as Promise<string[]>));
          assert.deepEqual(left.flat(), [], `${kind}: nothing left under the prefix`);
        } finally {
          await close();
        }
      }
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
      await cluster.stop();
      tmp.cleanup();
    }
  });

  test(
    "RedisStore runs on Sentinel (1 primary, 1 replica, 3 sentinels) through node-redis createSentinel and ioredis, and across a failover",
    { timeout: 90_000 },
    async (t) => {
      if (!(await canRunSentinel())) {
        return t.skip("redis-server cannot run as a sentinel (redis-server --sentinel, Redis 6+)");
      }
      const tmp = tempDir("satchel-sentinel-");
      const setup = await startSentinel(tmp.dir);
      const sentinels = setup.sentinels.map((port) => ({ host: "127.0.0.1", port }));
      const clients: { kind: string; client: object; close: () => Promise<void> }[] = [];
      try {
        const { createSentinel } = await import("redis");
        const nr = createSentinel({ name: "satchel", sentinelRootNodes: sentinels });
        nr.on("error", () => {});
        await nr.connect();
        clients.push({ kind: "node-redis createSentinel", client: nr, close: async () => void (await nr.destroy()) });
        const { Redis } = await import("ioredis");
        const io = new Redis({ sentinels, name: "satchel", maxRetriesPerRequest: 1 });
        io.on("error", () => {});
        clients.push({ kind: "ioredis (sentinels)", client: io, close: async () => void io.disconnect() });

        const kept: [RedisStore, string, string][] = [];
        for (const { kind, client } of clients) {
          const store = new RedisStore({ client, prefix: uniquePrefix(), commandTimeout: 2000 });
          const ids = [generateId(), generateId(), generateId()];
          for (const [i, id] of ids.entries()) await store.set(id, stored(`p${i}`, 60_000, i < 2 ? "ada" : "bob"));
          assert.equal((await store.get(ids[0]!))?.payload, "p0", kind);
          await Promise.all(
            Array.from(
              { length: 10 },
              () => store.update(ids[0]!, (cur) => ({ ...cur!, payload: cur!.payload + "+" })),
            ),
          );
          assert.equal((await store.get(ids[0]!))?.payload, "p0" + "+".repeat(10), kind);
          assert.deepEqual((await store.listByUser("ada")).map((e) => e.id).sort(), ids.slice(0, 2).sort(), kind);
          assert.equal(await store.deleteByUser("ada"), 2, kind);
          assert.equal(await store.get(ids[0]!), null, kind);
          kept.push([store, ids[2]!, kind]);
        }

        // Failover: the replica (in sync: WAIT) becomes primary; both clients follow it.
        const primary = await connect("ioredis", `redis://127.0.0.1:${setup.primary}`);
        assert.equal(await primary.cmd(["WAIT", "1", "5000"]), 1);
        await primary.close();
        const sentinel = await connect("ioredis", `redis://127.0.0.1:${setup.sentinels[0]}`);
        await sentinel.cmd(["SENTINEL", "FAILOVER", "satchel"]);
        await eventually(async () => {
          const [, port] = (await sentinel.cmd(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "satchel"])) as string[];
          assert.equal(Number(port), setup.replica);
        }, 30_000);
        await sentinel.close();
        for (const [store, id, kind] of kept) {
          // Writes reach the new primary once the client has switched (a 503 meanwhile is expected).
          await eventually(() => store.update(id, (cur) => ({ ...cur!, payload: "after failover" })), 30_000);
          assert.equal((await store.get(id))?.payload, "after failover", kind);
        }
        const replica = await connect("ioredis", `redis://127.0.0.1:${setup.replica}`);
        assert.match(String(await replica.cmd(["INFO", "replication"])), /role:master/);
        await replica.close();
      } finally {
        for (const c of clients) await c.close().catch(() => {});
        await setup.stop();
        tmp.cleanup();
      }
    },
  );

  test("RedisStore refuses Bun's RedisClient on a cluster or sentinel node with a message naming the clients that work", async () => {
    // A stand-in with the shape of Bun's client (the real one, on Bun, is tested against a real cluster below).
    for (const mode of ["cluster", "sentinel"]) {
      const sent: string[][] = [];
      const fake = {
        connected: true,
        hmget() {},
        async connect() {},
        async send(command: string, args: string[]) {
          sent.push([command, ...args]);
          return command === "INFO" ? `# Server\r\nredis_version:7.0.15\r\nredis_mode:${mode}\r\n` : null;
        },
      };
      const store = new RedisStore({ client: fake });
      for (let i = 0; i < 2; i++) {
        await assert.rejects(store.get(generateId()), {
          name: "StoreUnavailableError",
          message:
            `Cannot use RedisStore: Bun's RedisClient does not support Redis Cluster or Sentinel (the server runs in ${mode} mode); ` +
            "use ioredis (new Cluster(nodes), or new Redis({ sentinels, name })) or node-redis (createCluster(), createSentinel())",
        });
      }
      assert.deepEqual(sent, [["INFO", "server"]]); // asked once, and no session command was sent
    }
  });

  if (isBun) {
    test(
      "RedisStore refuses Bun's own RedisClient connected to a real Redis Cluster node",
      { timeout: 60_000 },
      async () => {
        const tmp = tempDir("satchel-cluster-bun-");
        const cluster = await startCluster(tmp.dir);
        const c = await connect("bun", `redis://127.0.0.1:${cluster.ports[0]}`);
        try {
          const store = new RedisStore({ client: c.client });
          await assert.rejects(store.set(generateId(), stored("x", 60_000, "ada")), {
            name: "StoreUnavailableError",
            message:
              /^Cannot use RedisStore: Bun's RedisClient does not support Redis Cluster or Sentinel \(the server runs in cluster mode\)/,
          });
        } finally {
          await c.close();
          await cluster.stop();
          tmp.cleanup();
        }
      },
    );
  }

  for (const name of CLIENTS) {
    test(`RedisStore (${name}) throws StoreUnavailableError while Redis is down and works again after it restarts`, async () => {
      const port = await freePort();
      let server = await startRedis(port);
      const c = await connect(name, `redis://127.0.0.1:${port}`);
      try {
        const store = new RedisStore({ client: c.client, commandTimeout: 2000 });
        const app = counterApp(store);
        const jar = new CookieJar(app);
        assert.equal(await jar.text("/inc"), "1");
        const id = generateId();
        await store.set(id, stored("before"));

        await stopRedis(server);
        await assert.rejects(store.get(id), StoreUnavailableError);
        await assert.rejects(store.update(id, (cur) => cur), StoreUnavailableError);
        await assert.rejects(store.set(generateId(), stored("x")), StoreUnavailableError);
        const down = await jar.fetch("/inc");
        assert.equal(down.status, 503);

        server = await startRedis(port);
        await eventually(() => store.get(id)); // the client reconnects on its own
        // The new server started empty (no persistence): the old session is unknown, a new one starts.
        assert.equal(await jar.text("/inc"), "1");
        // Scripts are gone from the restarted server too: EVALSHA answers NOSCRIPT and the store reloads them.
        assert.equal(await jar.text("/inc"), "2");
        const again = generateId();
        await store.set(again, stored("after"));
        assert.equal((await store.update(again, (cur) => ({ ...cur!, payload: "updated" })))?.payload, "updated");
        assert.equal((await store.get(again))?.payload, "updated");
      } finally {
        await c.close();
        await stopRedis(server);
      }
    });
  }
}
