/**
 * RedisStore's cost in the server, without HTTP: `app.request()` on /read,
 * /inc and /new, 32 requests at a time, µs of CPU per request (best of
 * `ROUNDS`), for MemoryStore (no I/O), the hand-written minimum over Bun's
 * client (bench/redis-minimal.ts: GET / SET PX), and RedisStore with and
 * without its near cache, all over one Bun `RedisClient`. What RedisStore
 * adds to a request beyond the commands it must send is its column minus the
 * minimum's.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 bun bench/redis-inprocess.ts
 *
 * Environment: `N` requests per round (default 40000), `ROUNDS` (default 6). Bun only; writes keys under `ipb:`.
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import { MemoryStore, session, type SessionEnv } from "../mod.ts";
import type { SessionStore } from "../src/store/contract.ts";
import { RedisStore } from "../src/store/redis.ts";
import { MinimalRedisStore } from "./redis-minimal.ts";
import { type BenchData, sessionRoutes } from "./routes.ts";

type Bun = {
  RedisClient: new (url: string) => {
    connect(): Promise<void>;
    duplicate(): Promise<object>;
    send(name: string, args: string[]): Promise<unknown>;
    close(): void;
  };
};
const bun = (globalThis as { Bun?: Bun }).Bun;
if (bun === undefined) {
  throw new Error(
    "bench/redis-inprocess.ts runs on Bun (it uses Bun's RedisClient)",
  );
}
const N = Number(process.env.N ?? 40_000);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
const ROUTES = ["/read", "/inc", "/new"] as const;

async function makeApp(store: SessionStore) {
  const app = new Hono<SessionEnv<BenchData>>();
  app.use(session<BenchData>({ secret: SECRET, store, expires: 3600 }));
  sessionRoutes(app);
  const cookies: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const r = await app.request("http://localhost/login");
    cookies.push(r.headers.get("set-cookie")!.split(";")[0]!);
  }
  return { app, cookies };
}

/** µs of CPU per request for `N` requests on `route`, 32 at a time. */
async function cpuPerRequest(
  app: Hono<SessionEnv<BenchData>>,
  cookies: string[],
  route: string,
): Promise<number> {
  let i = 0;
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (i < N) {
      const k = i++;
      const init = route === "/new" ? {} : { headers: { cookie: cookies[k % cookies.length]! } };
      await (await app.request(`http://localhost${route}`, init)).text();
    }
  }));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / N;
}

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const client = new bun.RedisClient(url);
await client.connect();
const stores: [string, () => Promise<SessionStore>][] = [
  ["MemoryStore", () => Promise.resolve(new MemoryStore())],
  [
    "minimum (GET / SET PX)",
    () =>
      Promise.resolve(
        new MinimalRedisStore((name, args) => client.send(name, args)),
      ),
  ],
  [
    "RedisStore",
    () =>
      Promise.resolve(
        new RedisStore({ client: client as never, prefix: "ipb:a:" }),
      ),
  ],
  [
    "RedisStore + near cache",
    async () =>
      new RedisStore({
        client: client as never,
        prefix: "ipb:b:",
        nearCache: { subscriber: await client.duplicate() },
      }),
  ],
];
const apps = [];
for (const [name, make] of stores) {
  apps.push({ name, ...(await makeApp(await make())) });
}
const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const a of apps) {
    for (const route of ROUTES) {
      const key = `${a.name}\t${route}`;
      best.set(
        key,
        Math.min(
          best.get(key) ?? Infinity,
          await cpuPerRequest(a.app, a.cookies, route),
        ),
      );
    }
  }
}
console.log(
  `µs of CPU per request, best of ${ROUNDS} rounds of ${N} (Bun ${process.versions.bun}, 32 concurrent)`,
);
console.log(["store".padEnd(26), ...ROUTES.map((r) => r.padStart(8))].join(""));
for (const a of apps) {
  console.log(
    [
      a.name.padEnd(26),
      ...ROUTES.map((r) => best.get(`${a.name}\t${r}`)!.toFixed(1).padStart(8)),
    ].join(""),
  );
}
process.exit(0);
