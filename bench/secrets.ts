/**
 * Secrets on Cloudflare Workers live in `c.env`, which a Worker sees only
 * once a request comes. Three ways to build the middleware, µs per request
 * of `app.fetch()` on /inc (read and write one counter, CookieStore: two
 * cookies, a seal and an unseal) with the client's cookies, CPU time, best
 * of 5 interleaved rounds:
 *
 * - **once**: built at startup (what a Node or Bun server does), the floor;
 * - **lazy**: built on the first request and kept (`sessions ??= session(…)`,
 *   examples/workers/app.ts), what the README recommends on Workers;
 * - **per request**: `session({ secret: c.env.X, store: new CookieStore(…) })`
 *   inside the handler, every request (new HMAC keys, new AES keys derived
 *   by HKDF, an empty verified-token cache each time).
 *
 *   bun bench/secrets.ts      deno run -A bench/secrets.ts      node bench/secrets.ts
 *
 * Environment: `N` requests per round (default 5000).
 * @module
 */
import process from "node:process";
import { Hono, type MiddlewareHandler } from "hono";
import { session, type SessionEnv } from "../mod.ts";
import { CookieStore } from "../src/store/cookie.ts";

type Data = { count: number };
type Env = SessionEnv<Data>;
const N = Number(process.env.N ?? 5000);
const env = {
  SESSION_SECRET: "satchel-bench-secret-satchel-bench-secret-0123456789",
  SESSION_DATA_SECRET: "satchel-bench-data-secret-satchel-bench-0123456789",
};
const make = () =>
  session<Data>({
    secret: env.SESSION_SECRET,
    store: new CookieStore({ secret: env.SESSION_DATA_SECRET }),
  });

function app(mode: "once" | "lazy" | "per request"): Hono<Env> {
  const a = new Hono<Env>();
  if (mode === "once") a.use(make());
  else if (mode === "lazy") {
    let sessions: MiddlewareHandler<Env> | undefined;
    a.use((c, next) => (sessions ??= make())(c, next));
  } else a.use((c, next) => make()(c, next));
  a.get(
    "/inc",
    (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))),
  );
  return a;
}

/** The client's cookies after its first request, as one Cookie header. */
async function cookiesOf(a: Hono<Env>): Promise<string> {
  const res = await a.fetch(new Request("http://localhost/inc"), env);
  return res.headers.getSetCookie().map((l) => l.split(";")[0]).join("; ");
}

const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

/** CPU µs per request of one round (CPU, not wall: the machine is shared). */
async function round(a: Hono<Env>, cookie: string): Promise<number> {
  const start = cpu();
  for (let i = 0; i < N; i++) {
    await (await a.fetch(
      new Request("http://localhost/inc", { headers: { cookie } }),
      env,
    )).text();
  }
  return (cpu() - start) / N;
}

const MODES = ["once", "lazy", "per request"] as const;
const runtime = process.versions.bun
  ? `Bun ${process.versions.bun}`
  : process.versions.deno
  ? `Deno ${process.versions.deno}`
  : `Node ${process.versions.node}`;
console.log(
  `${runtime}, ${N} requests per round, rounds interleaved, best of 5 (CPU µs per request; ratio against "once")`,
);
const apps = await Promise.all(MODES.map(async (mode) => {
  const a = app(mode);
  return { mode, a, cookie: await cookiesOf(a), best: Infinity };
}));
for (let r = 0; r < 5; r++) {
  for (const x of apps) x.best = Math.min(x.best, await round(x.a, x.cookie));
}
for (const x of apps) {
  console.log(
    `${x.mode.padEnd(12)} ${x.best.toFixed(1).padStart(7)} µs  ${(x.best / apps[0]!.best).toFixed(2)}×`,
  );
}
