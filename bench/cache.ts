/**
 * The verified-token cache and `bind` under the scenarios of issue 15:
 * µs per request through `app.fetch()` on MemoryStore, with the cache on
 * (10 000 entries) and off, and their ratio, all from one run. Each scenario
 * cycles through `SESSIONS` sessions (default 5000: all of them fit).
 *
 * - `read`: `/read` with plain cookies (the cache's own case).
 * - `rolling`: `/read` with a persistent cookie and `refreshThreshold =
 *   expires`, so every response re-signs and re-sends the cookie.
 * - `bind`: `/read` with `bind: { userAgent: true }`.
 * - `bind, 16 KB UA`: the same with a 16 KB User-Agent (CPU amplification).
 *
 *   bun bench/cache.ts       deno run -A bench/cache.ts       node bench/cache.ts
 *
 * Environment: `N` requests per round (default 20000), best of 5 rounds;
 * `SESSIONS` as above (past 10 000 every request misses the cache).
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import { MemoryStore, session, type SessionEnv, type SessionOptions } from "../mod.ts";

type Data = { count: number };
const N = Number(process.env.N ?? 20_000);
const SESSIONS = Number(process.env.SESSIONS ?? 5000);
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
const LONG_UA = "Mozilla/5.0 " + "x".repeat(16 * 1024);

interface Scenario {
  name: string;
  options: Partial<SessionOptions>;
  ua: string;
}

const SCENARIOS: Scenario[] = [
  { name: "read", options: {}, ua: "bench" },
  { name: "rolling (persistent, refreshThreshold = expires)", options: { expires: 3600, refreshThreshold: 3600, cookie: { persistent: true } }, ua: "bench" },
  { name: "bind userAgent", options: { bind: { userAgent: true } }, ua: "Mozilla/5.0 (X11; Linux x86_64) bench" },
  { name: "bind userAgent, 16 KB User-Agent", options: { bind: { userAgent: true } }, ua: LONG_UA },
  { name: "no bind, 16 KB User-Agent (the floor of the row above)", options: {}, ua: LONG_UA },
];

function app(s: Scenario, cache: number): Hono<SessionEnv<Data>> {
  const a = new Hono<SessionEnv<Data>>();
  a.use(session<Data>({ secret: SECRET, store: new MemoryStore(), verifiedTokenCache: cache, ...s.options }));
  a.get("/login", (c) => c.text(String(c.get("session").set("count", 0))));
  a.get("/read", (c) => c.text(String(c.get("session").get("count") ?? 0)));
  return a;
}

async function perRequest(a: Hono<SessionEnv<Data>>, cookies: string[], ua: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const headers = { cookie: cookies[i % cookies.length]!, "user-agent": ua };
    const res = await a.fetch(new Request("http://localhost/read", { headers }));
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await res.text();
  }
  return ((performance.now() - start) * 1000) / N;
}

async function measure(s: Scenario, cache: number): Promise<number> {
  const a = app(s, cache);
  const cookies: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const res = await a.fetch(new Request("http://localhost/login", { headers: { "user-agent": s.ua } }));
    cookies.push(res.headers.get("set-cookie")!.split(";")[0]!);
  }
  let best = Infinity;
  for (let round = 0; round < 5; round++) best = Math.min(best, await perRequest(a, cookies, s.ua));
  return best;
}

const runtime = "Bun" in globalThis ? "Bun" : "Deno" in globalThis ? "Deno" : "Node";
console.log(`${runtime}: µs per /read through app.fetch() on MemoryStore, ${SESSIONS} sessions, best of 5 rounds of ${N}`);
console.log("| scenario | cache 10 000 | cache off | cache / off |\n|---|---:|---:|---:|");
for (const s of SCENARIOS) {
  const on = await measure(s, 10_000);
  const off = await measure(s, 0);
  console.log(`| ${s.name} | ${on.toFixed(2)} | ${off.toFixed(2)} | ${(on / off).toFixed(2)}× |`);
}
