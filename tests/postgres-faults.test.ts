/**
 * PostgresStore under faults, with a real server: 8 OS processes writing one
 * session, a private cluster stopped and started under load, an exhausted
 * pool, a statement timeout, a failed login, and PgBouncer in transaction
 * mode. The private clusters come from scripts/pg-cluster.sh.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { StoreUnavailableError } from "../src/errors.ts";
import { generateId } from "../src/id.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { PostgresStore } from "../src/store/postgres.ts";
import type { StoredSession } from "../src/store/types.ts";
import { bouncerReady, CLIENTS, connect, pgBin, startCluster, testServer, uniqueTable } from "./fixtures/pg.ts";
import { CookieJar, SECRET } from "./helpers.ts";

const server = testServer();

let unhandled = 0;
process.on("unhandledRejection", () => void unhandled++);

function stored(payload: string, ttlMs = 600_000, now = Date.now()): StoredSession {
  return { payload, expiresAt: now + ttlMs, createdAt: now, userId: null };
}

function counterApp(store: PostgresStore) {
  const app = new Hono<SessionEnv<{ count: number }>>();
  app.use(session({ secret: SECRET, store }));
  app.get("/inc", async (c) => c.text(String((await c.get("session").load()).update("count", (n) => (n ?? 0) + 1))));
  app.get("/read", async (c) => c.text(String((await c.get("session").load()).get("count") ?? 0)));
  app.get("/login", async (c) => {
    const s = await c.get("session").load();
    s.regenerate();
    s.setUser(c.req.query("user") ?? "u");
    if (c.req.query("fail") === "1") throw new Error("the password check failed after regenerate()");
    return c.text("ok");
  });
  return app;
}

if ("skip" in server) {
  if (process.env.CI) {
    test("PostgresStore fault tests have PostgreSQL", () =>
      assert.fail(`in CI a missing server is a failure: ${server.skip}`));
  } else {
    test(`PostgresStore fault tests (skipped: ${server.skip})`, { skip: server.skip }, () => {});
  }
} else {
  const url = server.url;

  test("PostgresStore.update() loses no increment with 8 OS processes × 500 on one session", async () => {
    const c = await connect("pg", url);
    const table = uniqueTable();
    const store = new PostgresStore({ client: c.client, table });
    const id = generateId();
    const perProcess = 500;
    const worker = fileURLToPath(new URL("./fixtures/pg-worker.ts", import.meta.url));
    const runtimeArgs = "Deno" in globalThis ? ["run", "-A", worker] : [worker];
    try {
      await store.set(id, stored("0"));
      const children = Array.from({ length: 8 }, (_, i) => {
        const client = CLIENTS[i % CLIENTS.length]!;
        const child = spawn(process.execPath, [...runtimeArgs, url, table, id, String(perProcess), client], {
          stdio: ["pipe", "pipe", "inherit"],
        });
        let out = "";
        child.stdout!.on("data", (d) => (out += String(d)));
        const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
        const ready = new Promise<void>((resolve, reject) => {
          child.stdout!.on("data", () => out.includes("ready") && resolve());
          void exited.then((code) => reject(new Error(`worker ${i} (${client}) exited ${code} before ready: ${out}`)));
        });
        return { child, ready, exited, out: () => out };
      });
      await Promise.all(children.map((w) => w.ready));
      for (const w of children) w.child.stdin!.end("go\n");
      const codes = await Promise.all(children.map((w) => w.exited));
      assert.deepEqual(codes, Array(8).fill(0), children.map((w) => w.out()).join("\n"));
      assert.equal((await store.get(id))?.payload, String(8 * perProcess));
      const calls = children.reduce((sum, w) => sum + Number(/calls=(\d+)/.exec(w.out())?.[1] ?? NaN), 0);
      assert.ok(calls >= 8 * perProcess, `update functions ran ${calls} times`);
      console.log(`8 × ${perProcess} increments: exact; update functions ran ${calls} times`);
    } finally {
      await c.exec(`DROP TABLE IF EXISTS ${table}`);
      await c.close();
    }
  });

  test("PostgresStore: a pool with no free connection answers 503 within commandTimeout, then recovers", async () => {
    const c = await connect("pg", url, { max: 1 });
    const table = uniqueTable();
    const store = new PostgresStore({ client: c.client, table, commandTimeout: 300 });
    const app = counterApp(store);
    const jar = new CookieJar(app);
    try {
      assert.equal(await (await jar.fetch("/inc")).text(), "1");
      const pool = c.client as { connect(): Promise<{ release(): void }> };
      const held = await pool.connect(); // the pool's only connection, held elsewhere
      const t0 = performance.now();
      const res = await jar.fetch("/inc");
      const took = performance.now() - t0;
      assert.equal(res.status, 503);
      assert.ok(took < 2000, `took ${took} ms`);
      await assert.rejects(store.get(generateId()), /did not answer within 300 ms \(commandTimeout\)/);
      held.release();
      assert.equal(await (await jar.fetch("/inc")).text(), "2");
    } finally {
      await c.exec(`DROP TABLE IF EXISTS ${table}`);
      await c.close();
    }
  });

  test("PostgresStore: an update whose time ran out while its read waited for a connection never writes", async () => {
    const c = await connect("pg", url, { max: 1 });
    const table = uniqueTable();
    const store = new PostgresStore({ client: c.client, table, commandTimeout: 300 });
    try {
      const id = generateId();
      await store.set(id, stored('{"n":0}'));
      const pool = c.client as { connect(): Promise<{ release(): void }> };
      const held = await pool.connect(); // the pool's only connection, held elsewhere: the update's read waits for it
      let ran = 0;
      const update = store.update(id, (cur) => (ran++, cur && { ...cur, payload: '{"n":1}' }));
      await assert.rejects(update, /did not answer within 300 ms \(commandTimeout\)/);
      held.release(); // the read now goes out, late; what follows it must not
      for (let i = 0; i < 3; i++) await c.exec("SELECT 1"); // the pool serves in order: the late read is done
      assert.equal(ran, 0, "the update function ran after the caller was told the update failed");
      assert.equal((await store.get(id))?.payload, '{"n":0}');
    } finally {
      await c.exec(`DROP TABLE IF EXISTS ${table}`);
      await c.close();
    }
  });

  for (const name of CLIENTS) {
    test(`PostgresStore (${name}) honours statement_timeout: a blocked write answers 503 and writes nothing`, async () => {
      const admin = await connect("pg", url);
      const c = await connect(name, url, { statementTimeout: 200 });
      const table = uniqueTable();
      const store = new PostgresStore({ client: c.client, table, commandTimeout: 10_000 });
      const id = generateId();
      try {
        await store.set(id, stored("kept"));
        const pool = admin.client as {
          connect(): Promise<{ query(t: string, p?: unknown[]): Promise<unknown>; release(): void }>;
        };
        const locker = await pool.connect();
        await locker.query("BEGIN");
        await locker.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id]);
        try {
          const t0 = performance.now();
          await assert.rejects(
            store.update(id, (s) => ({ ...s!, payload: "new" })),
            (e) => e instanceof StoreUnavailableError && /cancelled the statement \(statement_timeout/.test(e.message),
          );
          assert.ok(performance.now() - t0 < 5000);
        } finally {
          await locker.query("ROLLBACK");
          locker.release();
        }
        assert.equal((await store.get(id))?.payload, "kept");
      } finally {
        await admin.exec(`DROP TABLE IF EXISTS ${table}`);
        await c.close();
        await admin.close();
      }
    });
  }

  test("PostgresStore: a failed login keeps the old session", async () => {
    const c = await connect("postgres.js", url);
    const table = uniqueTable();
    const store = new PostgresStore({ client: c.client, table });
    const app = counterApp(store);
    app.onError((_e, ctx) => ctx.text("failed", 500));
    const jar = new CookieJar(app);
    try {
      await jar.fetch("/inc");
      await jar.fetch("/inc");
      const res = await jar.fetch("/login?fail=1");
      assert.equal(res.status, 500);
      assert.equal(await (await jar.fetch("/read")).text(), "2");
      const [row] = await c.exec(`SELECT count(*)::int AS n, max(user_id) AS u FROM ${table}`);
      assert.deepEqual(row, { n: 1, u: null });
    } finally {
      await c.exec(`DROP TABLE IF EXISTS ${table}`);
      await c.close();
    }
  });

  test(
    "PostgresStore: PostgreSQL stopped under load answers 503 quickly, recovers without a restart, loses nothing acknowledged",
    {
      skip: pgBin() === null ? "no PostgreSQL binaries to run a private cluster" : false,
    },
    async () => {
      const cluster = startCluster();
      const clients = await Promise.all(CLIENTS.map((n) => connect(n, cluster.url, { max: 4 })));
      try {
        const stores = clients.map((c) => new PostgresStore({ client: c.client, commandTimeout: 2000 }));
        const apps = stores.map(counterApp);
        const jars = apps.flatMap((app) => Array.from({ length: 4 }, () => new CookieJar(app)));
        const acknowledged = new Map<CookieJar, number>();
        let failures = 0;
        let slowest = 0;
        const load = async (rounds: number) => {
          for (let r = 0; r < rounds; r++) {
            await Promise.all(jars.map(async (jar) => {
              const t0 = performance.now();
              const res = await jar.fetch("/inc");
              slowest = Math.max(slowest, performance.now() - t0);
              if (res.status === 200) acknowledged.set(jar, Number(await res.text()));
              else {
                assert.equal(res.status, 503);
                failures++;
              }
            }));
          }
        };
        await load(5);
        assert.equal(failures, 0);
        cluster.halt();
        slowest = 0;
        await load(3);
        assert.equal(failures, 3 * jars.length, "every request while the server is down answers 503");
        assert.ok(slowest < 2500, `a request took ${Math.round(slowest)} ms while the server was down`);
        cluster.resume();
        // The clients reconnect by themselves; the first requests may still see a dead pooled connection.
        const deadline = Date.now() + 15_000;
        for (;;) {
          const before: number = failures;
          await load(1);
          if (failures === before) break;
          if (Date.now() > deadline) assert.fail("did not recover within 15 s");
          await new Promise((r) => setTimeout(r, 100));
        }
        for (const [jar, n] of acknowledged) {
          assert.ok(Number(await (await jar.fetch("/read")).text()) >= n, "an acknowledged increment was lost");
        }
      } finally {
        await Promise.all(clients.map((c) => c.close().catch(() => {})));
        cluster.stop();
      }
    },
  );

  test("PostgresStore works behind PgBouncer in transaction mode (pg; postgres.js and Bun SQL with prepare: false)", {
    skip: pgBin() === null ? "no PostgreSQL binaries" : false,
  }, async (t) => {
    const cluster = startCluster({ PGBOUNCER: "1" });
    if (cluster.bouncerUrl === undefined) {
      cluster.stop();
      if (process.env.CI) assert.fail("pgbouncer is not installed; CI needs it (apt-get install pgbouncer)");
      return t.skip("pgbouncer is not installed");
    }
    try {
      await bouncerReady({ ...cluster, bouncerUrl: cluster.bouncerUrl });
      for (const name of CLIENTS) {
        const c = await connect(name, cluster.bouncerUrl, { max: 20, noPrepare: true });
        try {
          const store = new PostgresStore({ client: c.client });
          const jar = new CookieJar(counterApp(store));
          // A failed /inc sets no cookie: every answer is checked, or /read answers "0" from an empty jar.
          const inc = async () => {
            const res = await jar.fetch("/inc");
            return res.status === 200 ? "200" : `${res.status} ${await res.text()}`;
          };
          assert.equal(await inc(), "200", name);
          const failed = (await Promise.all(Array.from({ length: 50 }, inc))).filter((s) => s !== "200");
          assert.deepEqual(failed, [], name);
          assert.equal(await (await jar.fetch("/read")).text(), "51", name);
          assert.equal(await store.deleteExpired(Date.now() + 10 * 86400_000), 1);
        } finally {
          await c.close();
        }
      }
    } finally {
      cluster.stop();
    }
  });

  test("PostgresStore fault tests left no unhandled rejection", () => {
    assert.equal(unhandled, 0);
  });
}
