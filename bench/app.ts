/**
 * The benchmark app (shared/DESIGN.md, "Benchmark app contract"): the same six
 * routes Satchel's peers implement in bench/peers/, so wrk can drive them all
 * under the same load.
 *
 *   bun bench/app.ts            deno run -A bench/app.ts          node bench/app.ts
 *
 * Environment:
 * - `PORT` (default 3000; 0 picks a free one), on 127.0.0.1.
 * - `SATCHEL_DB`: the SQLite file (default `<os temp dir>/satchel-bench.sqlite`).
 * - `STORE=sqlite|memory|redis|redis-min|postgres|postgres-min` (default sqlite); `REDIS_URL` for redis and
 *   redis-min (bench/redis-minimal.ts, the hand-written floor, on Bun), and
 *   `REDIS_CLIENT=bun|ioredis|node-redis` (default: Bun's own client on Bun, ioredis on Deno, node-redis on Node);
 *   `NEAR_CACHE=1` turns on RedisStore's near cache (a second connection of the same client subscribes);
 *   `PG_URL` for postgres (PostgresStore) and postgres-min (bench/pg-minimal.ts, the
 *   hand-written floor), each through Bun's SQL on Bun and postgres.js elsewhere
 *   (`PG_POOL`, default 10 connections a process); `PG_TABLE` (default satchel_sessions).
 * - `WORKERS=n`: n server processes on one port (Bun and Deno `reusePort`, Linux; not on Node).
 * - `NO_SESSION=1`: the same routes without the middleware (the bare-Hono floor);
 *   with `EMPTY_MIDDLEWARE=1` also, one empty async middleware in front (what
 *   any middleware costs in Hono, the floor for Satchel's `/plain`).
 * - `CACHE=0`: turn the verified-token cache off (every request pays the HMAC verify).
 * - `BATCH=0`: hide `SqliteStore.batch`, so each request commits on its own (no group commit).
 * - `SERIALIZER=json`: plain JSON instead of the default superjson.
 * - `BENCH_STATS=<file>`: on SIGTERM each process appends how many `/inc`
 *   requests it answered with 200, so bench/http.sh can check that the stored
 *   counts add up (no lost updates).
 *
 * Prints `listening on <port>` once it accepts connections; SIGTERM stops it cleanly.
 * @module
 */
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { jsonSerializer, MemoryStore, session, type SessionEnv, SqliteStore } from "../mod.ts";
import type { SessionStore } from "../src/store/contract.ts";
import { type BenchData, sessionRoutes } from "./routes.ts";

const env = process.env;
const port = Number(env.PORT ?? 3000);
const workers = Math.max(1, Number(env.WORKERS ?? 1));
const storeKind = env.STORE ?? "sqlite";
const noSession = env.NO_SESSION === "1";
const isChild = env.BENCH_WORKER_CHILD === "1";
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";

/** /inc requests answered 200 by this process (after the session was committed). */
let incOk = 0;

async function makeStore(): Promise<SessionStore> {
  if (storeKind === "memory") return new MemoryStore();
  if (storeKind === "sqlite") {
    const sqlite = new SqliteStore({
      path: env.SATCHEL_DB ?? join(tmpdir(), "satchel-bench.sqlite"),
    });
    // The middleware commits through batch when the store has one: shadow it to measure without.
    if (env.BATCH === "0") {
      Object.defineProperty(sqlite, "batch", { value: undefined });
    }
    return sqlite;
  }
  if (storeKind === "redis") return await redisStore();
  if (storeKind === "redis-min") return await minimalRedisStore();
  if (storeKind === "postgres" || storeKind === "postgres-min") {
    return await makePgStore();
  }
  throw new Error(
    `Cannot start bench app: STORE must be sqlite, memory, redis, redis-min, postgres or postgres-min: received ${storeKind}`,
  );
}

/** PostgresStore, or the hand-written minimum, on the runtime's fastest driver. */
async function makePgStore(): Promise<SessionStore> {
  const url = env.PG_URL;
  if (url === undefined) {
    throw new Error(
      "Cannot start bench app: STORE=postgres needs PG_URL (postgres://user@127.0.0.1:<port>/db)",
    );
  }
  const max = Number(env.PG_POOL ?? 10);
  const table = env.PG_TABLE ?? "satchel_sessions";
  const g = globalThis as {
    Bun?: { SQL: new (url: string, o: object) => object };
  };
  const client = g.Bun !== undefined
    ? new g.Bun.SQL(url, { max })
    : (await import("postgres")).default(url, { max, onnotice: () => {} });
  const { PostgresStore } = await import("../src/store/postgres.ts");
  const store = new PostgresStore({ client, table });
  await store.ready(); // the minimum uses the same table
  if (storeKind === "postgres") return store;
  const { MinimalPgStore } = await import("./pg-minimal.ts");
  const sql = client as {
    unsafe(text: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  };
  return new MinimalPgStore(
    async (text, params) => [...await sql.unsafe(text, params)],
    table,
  );
}

/** The hand-written minimum on Redis (bench/redis-minimal.ts), over Bun's client. */
async function minimalRedisStore(): Promise<SessionStore> {
  const g = globalThis as {
    Bun?: {
      RedisClient: new (url: string) => { connect(): Promise<void>; send(n: string, a: string[]): Promise<unknown> };
    };
  };
  if (g.Bun === undefined || env.REDIS_URL === undefined) {
    throw new Error("Cannot start bench app: STORE=redis-min needs Bun and REDIS_URL");
  }
  const client = new g.Bun.RedisClient(env.REDIS_URL);
  await client.connect();
  const { MinimalRedisStore } = await import("./redis-minimal.ts");
  return new MinimalRedisStore((name, args) => client.send(name, args));
}

/** RedisStore over the client REDIS_CLIENT names, set up as docs/stores.md recommends for production. */
async function redisStore(): Promise<SessionStore> {
  const url = env.REDIS_URL;
  if (url === undefined) {
    throw new Error(
      "Cannot start bench app: STORE=redis needs REDIS_URL (redis://127.0.0.1:<port>)",
    );
  }
  const g = globalThis as {
    Bun?: {
      RedisClient: new (url: string, o: object) => { connect(): Promise<void>; duplicate(): Promise<object> };
    };
    Deno?: unknown;
  };
  const kind = env.REDIS_CLIENT ??
    (g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "ioredis" : "node-redis");
  const { RedisStore } = await import("../src/store/redis.ts");
  if (kind === "bun") {
    if (g.Bun === undefined) {
      throw new Error("Cannot start bench app: REDIS_CLIENT=bun needs Bun");
    }
    const client = new g.Bun.RedisClient(url, { enableOfflineQueue: false });
    await client.connect();
    const near = env.NEAR_CACHE === "1" ? { nearCache: { subscriber: await client.duplicate() } } : {};
    return new RedisStore({ client, ...near });
  }
  if (kind === "ioredis") {
    const { Redis } = await import("ioredis");
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    const near = env.NEAR_CACHE === "1" ? { nearCache: { subscriber: client.duplicate() } } : {};
    return new RedisStore({ client, ...near });
  }
  if (kind === "node-redis") {
    const { createClient } = await import("redis");
    const client = createClient({ url, disableOfflineQueue: true });
    client.on("error", (e: unknown) => console.error(`redis: ${e}`));
    await client.connect();
    const near = env.NEAR_CACHE === "1"
      ? { nearCache: { subscriber: await client.duplicate().on("error", () => {}).connect() } }
      : {};
    return new RedisStore({ client, ...near });
  }
  throw new Error(
    `Cannot start bench app: REDIS_CLIENT must be bun, ioredis or node-redis: received ${kind}`,
  );
}

const store = noSession ? undefined : await makeStore();
const app = new Hono<SessionEnv<BenchData>>();

// Counts committed /inc answers: it runs outside the session middleware, so
// it sees the response only after the session was written.
app.use("/inc", async (c, next) => {
  await next();
  if (c.res.status === 200) incOk++;
});

if (noSession) {
  if (env.EMPTY_MIDDLEWARE === "1") {
    app.use(async (_c, next) => {
      await next();
    });
  }
  app.get("/login", (c) => c.text("ok"));
  app.get("/inc", (c) => c.text("1"));
  app.get("/read", (c) => c.text("0"));
  app.get("/plain", (c) => c.text("plain"));
  app.get("/new", (c) => c.text("new"));
  app.get("/logout", (c) => c.text("bye"));
} else {
  app.use(session<BenchData>({
    secret: SECRET,
    store,
    expires: 3600,
    serializer: env.SERIALIZER === "json" ? jsonSerializer : undefined,
    verifiedTokenCache: env.CACHE === "0" ? 0 : undefined,
  }));
  sessionRoutes(app);
}

type Server = { port: number; stop(): Promise<void> | void };
type BunLike = {
  serve(
    o: {
      port: number;
      hostname: string;
      reusePort: boolean;
      fetch: typeof app.fetch;
    },
  ): { port: number; stop(): void };
};
type DenoLike = {
  serve(
    o: {
      port: number;
      hostname: string;
      reusePort: boolean;
      onListen?: () => void;
    },
    h: typeof app.fetch,
  ): { addr: { port: number }; shutdown(): Promise<void> };
};

async function serve(): Promise<Server> {
  const g = globalThis as { Bun?: BunLike; Deno?: DenoLike };
  const reusePort = workers > 1;
  if (g.Bun !== undefined) {
    const s = g.Bun.serve({
      port,
      hostname: "127.0.0.1",
      reusePort,
      fetch: app.fetch,
    });
    return { port: s.port, stop: () => s.stop() };
  }
  if (g.Deno !== undefined) {
    const s = g.Deno.serve({
      port,
      hostname: "127.0.0.1",
      reusePort,
      onListen: () => {},
    }, app.fetch);
    return { port: s.addr.port, stop: () => s.shutdown() };
  }
  // Node 24: one process (WORKERS is for Bun and Deno).
  if (workers > 1) {
    throw new Error(
      "Cannot start bench app: WORKERS needs Bun or Deno (reusePort); run one process on Node",
    );
  }
  const { serve: nodeServe } = await import("@hono/node-server");
  return await new Promise((resolve) => {
    const s = nodeServe(
      { fetch: app.fetch, port, hostname: "127.0.0.1" },
      (info) => {
        resolve({
          port: info.port,
          stop: () => new Promise<void>((done) => s.close(() => done())),
        });
      },
    );
  });
}

// Deno's reusePort needs --unstable-net: with WORKERS there, this process only
// supervises, and every worker is a child started with the flag.
const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined;
const supervisor = !isBun &&
  (globalThis as { Deno?: unknown }).Deno !== undefined && workers > 1 &&
  !isChild;
const server = supervisor ? undefined : await serve();
const self = fileURLToPath(import.meta.url);
const children = isChild ? [] : Array.from({ length: supervisor ? workers : workers - 1 }, () =>
  spawn(
    process.execPath,
    isBun ? [self] : ["run", "-A", "--unstable-net", self],
    {
      env: { ...env, BENCH_WORKER_CHILD: "1" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  ));
/** Resolves once every child accepts connections (each prints "listening on"). */
const childrenUp = Promise.all(
  children.map((child) =>
    new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("listening on")) resolve();
      });
      child.once("exit", (code) =>
        reject(
          new Error(`Cannot start bench app: a worker exited with ${code}`),
        ));
    })
  ),
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(
    children.map((child) =>
      child.exitCode !== null ? undefined : new Promise((resolve) => child.once("exit", resolve))
    ),
  );
  await server?.stop();
  if (env.BENCH_STATS !== undefined) {
    appendFileSync(env.BENCH_STATS, `${incOk}\n`);
  }
  await store?.close?.();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

await childrenUp;
console.log(`listening on ${server?.port ?? port}`);
