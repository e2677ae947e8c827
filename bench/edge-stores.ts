/**
 * DenoKvStore and D1Store beside SqliteStore (and RedisStore when REDIS_URL
 * is set), measured in one process: the cost of one `get` and one `update`
 * (a /inc commit: read, bump the count, compare-and-set), then requests per
 * second of the benchmark routes /read and /inc through a Hono app with the
 * session middleware, driven by `app.request()` (no network, 16 at a time).
 *
 *   deno run -A --unstable-kv bench/edge-stores.ts     (all four stores; Deno KV only here)
 *   node bench/edge-stores.ts                          (SqliteStore, D1Store)
 *   OPS=2000 SECONDS=5 REDIS_URL=redis://127.0.0.1:6379 deno run -A bench/edge-stores.ts
 *
 * D1 runs twice: from this process through miniflare's `getD1Database()`
 * (every call crosses a loopback HTTP hop into workerd, as the tests do) and
 * inside a Worker in workerd, which times its own calls on its binding (the
 * path a deployed Worker takes, minus the network to D1's primary). Prints a
 * Markdown table for bench/RESULTS.md.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { build } from "esbuild";
import { Hono } from "hono";
import { Miniflare } from "miniflare";
import { session, type SessionEnv, SqliteStore } from "../mod.ts";
import { type DenoKvLike, DenoKvStore } from "../src/store/deno-kv.ts";
import { type D1DatabaseLike, D1Store } from "../src/store/d1.ts";
import type { SessionStore, StoredSession } from "../src/store/contract.ts";
import { generateId } from "../src/id.ts";
import { superjsonSerializer } from "../src/serializer.ts";

const OPS = Number(process.env.OPS ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 3);
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
const dir = mkdtempSync(join(tmpdir(), "satchel-bench-edge-"));
const deno = (globalThis as {
  Deno?: {
    openKv?: (path: string) => Promise<DenoKvLike & { close(): void }>;
    version: { deno: string };
  };
}).Deno;
const bun = (globalThis as { Bun?: { version: string } }).Bun;
const runtime = bun ? `Bun ${bun.version}` : deno ? `Deno ${deno.version.deno}` : `Node ${process.versions.node}`;

/** What /login stores: a user, a count and a 400-character profile. */
const PAYLOAD = superjsonSerializer.stringify({
  d: { user: "u12345678", count: 0, profile: "x".repeat(400) },
});
const bump = (cur: StoredSession | null): StoredSession | null =>
  cur &&
  {
    ...cur,
    payload: cur.payload.replace(/"count":(\d+)/, (_, n) => `"count":${Number(n) + 1}`),
    expiresAt: Date.now() + 3_600_000,
  };

/** Mean µs per call of `fn` over OPS calls, one at a time, after OPS/10 warm-up calls. */
async function perOp(fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < OPS / 10; i++) await fn(i);
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) await fn(i);
  return ((performance.now() - t0) * 1000) / OPS;
}

async function storeOps(
  store: SessionStore,
): Promise<{ get: number; update: number }> {
  const ids = Array.from({ length: 100 }, () => generateId());
  for (const id of ids) {
    await store.set(id, {
      payload: PAYLOAD,
      expiresAt: Date.now() + 3_600_000,
      createdAt: Date.now(),
      userId: null,
    });
  }
  const get = await perOp((i) => store.get(ids[i % ids.length]!));
  const update = await perOp((i) => store.update(ids[i % ids.length]!, bump));
  return { get, update };
}

/** Requests per second of `path` through the session middleware, 16 in flight, each with its own session. */
async function throughput(
  store: SessionStore,
  path: "/read" | "/inc",
): Promise<number> {
  const app = new Hono<SessionEnv<{ count: number; profile: string }>>();
  app.use(session({ secret: SECRET, store, expires: 3600 }));
  app.get("/login", async (c) => {
    const s = await c.get("session").load();
    s.set("count", 0);
    s.set("profile", "x".repeat(400));
    return c.text("ok");
  });
  app.get(
    "/read",
    async (c) => c.text(String((await c.get("session").load()).get("count") ?? 0)),
  );
  app.get(
    "/inc",
    async (c) =>
      c.text(
        String(
          (await c.get("session").load()).update("count", (n) => (n ?? 0) + 1),
        ),
      ),
  );
  const cookies: string[] = [];
  for (let i = 0; i < 16; i++) {
    const res = await app.request("http://localhost/login");
    cookies.push(res.headers.get("set-cookie")!.split(";")[0]!);
  }
  const drive = async (seconds: number) => {
    let done = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(cookies.map(async (cookie) => {
      while (performance.now() < end) {
        const res = await app.request(`http://localhost${path}`, {
          headers: { cookie },
        });
        if (res.status !== 200) {
          throw new Error(
            `${path} answered ${res.status}: ${await res.text()}`,
          );
        }
        await res.arrayBuffer();
        done++;
      }
    }));
    return done / seconds;
  };
  await drive(Math.min(1, SECONDS / 2)); // warm-up: JIT and the store's caches
  return await drive(SECONDS);
}

/** The D1 calls timed inside workerd: a Worker that runs the same loop on its own binding. */
const WORKER = `
import { D1Store } from "./src/store/d1.ts";
export default {
  async fetch(request, env) {
    const { ops, payload } = await request.json();
    const store = new D1Store({ db: env.DB, table: "bench_in_worker" });
    const ids = Array.from({ length: 100 }, (_, i) => "id" + String(i).padStart(30, "0"));
    for (const id of ids) await store.set(id, { payload, expiresAt: Date.now() + 3600000, createdAt: Date.now(), userId: null });
    const bump = (cur) => cur && { ...cur, payload: cur.payload.replace(/"count":(\\d+)/, (_, n) => '"count":' + (Number(n) + 1)) };
    const time = async (fn) => {
      for (let i = 0; i < ops / 10; i++) await fn(i);
      const t0 = performance.now();
      for (let i = 0; i < ops; i++) await fn(i);
      return ((performance.now() - t0) * 1000) / ops;
    };
    const get = await time((i) => store.get(ids[i % 100]));
    const update = await time((i) => store.update(ids[i % 100], bump));
    return Response.json({ get, update });
  },
};`;

async function d1InWorker(): Promise<{ get: number; update: number }> {
  const bundle = await build({
    stdin: {
      contents: WORKER,
      resolveDir: join(import.meta.dirname ?? ".", ".."),
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    logLevel: "silent",
  });
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    d1Databases: ["DB"],
    compatibilityDate: "2025-06-01",
  });
  try {
    const res = await mf.dispatchFetch("http://localhost/", {
      method: "POST",
      body: JSON.stringify({ ops: OPS, payload: PAYLOAD }),
    });
    return (await res.json()) as { get: number; update: number };
  } finally {
    await mf.dispose();
  }
}

const rows: string[] = [];
const row = (
  name: string,
  ops: { get: number; update: number } | undefined,
  read?: number,
  inc?: number,
) =>
  rows.push(
    `| ${name} | ${ops ? ops.get.toFixed(0) : "–"} | ${ops ? ops.update.toFixed(0) : "–"} | ${
      read?.toFixed(0) ?? "–"
    } | ${inc?.toFixed(0) ?? "–"} |`,
  );

async function measure(
  name: string,
  make: () => Promise<SessionStore> | SessionStore,
): Promise<void> {
  const ops = await storeOps(await make());
  const read = await throughput(await make(), "/read");
  const inc = await throughput(await make(), "/inc");
  row(name, ops, read, inc);
  console.error(`${name}: done`);
}

try {
  await measure(
    "SqliteStore (file, WAL)",
    () => new SqliteStore({ path: join(dir, `s-${generateId()}.sqlite`) }),
  );
  if (process.env.REDIS_URL) {
    const { Redis } = await import("ioredis");
    const { RedisStore } = await import("../src/store/redis.ts");
    await measure(
      "RedisStore (ioredis, loopback)",
      () =>
        new RedisStore({
          client: new Redis(process.env.REDIS_URL!),
          prefix: `bench:${generateId()}:`,
        }),
    );
  }
  if (deno?.openKv) {
    const kv = await deno.openKv(join(dir, "kv.sqlite"));
    await measure(
      "DenoKvStore (local KV file)",
      () => new DenoKvStore({ kv, prefix: generateId() }),
    );
    kv.close();
  } else if (deno) {
    console.error(
      "DenoKvStore skipped: Deno.openKv is missing; run with --unstable-kv",
    );
  }
  // Under Deno, miniflare's synchronous proxy lost track of a reply mid-run once: measure this row on Node or Bun.
  if (!deno) {
    const mf = new Miniflare({
      modules: true,
      script: "export default { fetch() { return new Response('') } }",
      d1Databases: ["DB"],
      compatibilityDate: "2025-06-01",
    });
    const db = (await mf.getD1Database("DB")) as unknown as D1DatabaseLike;
    await measure(
      "D1Store (miniflare binding from this process)",
      () => new D1Store({ db, table: `t_${generateId().replace(/-/g, "_")}` }),
    );
    await mf.dispose();
  }
  row("D1Store (inside the Worker, local D1)", await d1InWorker());
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n${runtime}, OPS=${OPS}, SECONDS=${SECONDS}\n`);
console.log("| store | get µs | update µs | /read req/s | /inc req/s |");
console.log("|---|---:|---:|---:|---:|");
for (const r of rows) console.log(r);
