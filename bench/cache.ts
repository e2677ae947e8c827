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
import { Signer } from "../src/crypto/sign.ts";

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
  {
    name: "rolling (persistent, refreshThreshold = expires)",
    options: {
      expires: 3600,
      refreshThreshold: 3600,
      cookie: { persistent: true },
    },
    ua: "bench",
  },
  {
    name: "bind userAgent",
    options: { bind: { userAgent: true } },
    ua: "Mozilla/5.0 (X11; Linux x86_64) bench",
  },
  {
    name: "bind userAgent, 16 KB User-Agent",
    options: { bind: { userAgent: true } },
    ua: LONG_UA,
  },
  {
    name: "no bind, 16 KB User-Agent (the floor of the row above)",
    options: {},
    ua: LONG_UA,
  },
];

function app(s: Scenario, cache: number): Hono<SessionEnv<Data>> {
  const a = new Hono<SessionEnv<Data>>();
  a.use(
    session<Data>({
      secret: SECRET,
      store: new MemoryStore(),
      verifiedTokenCache: cache,
      ...s.options,
    }),
  );
  a.get("/login", (c) => c.text(String(c.get("session").set("count", 0))));
  a.get("/read", (c) => c.text(String(c.get("session").get("count") ?? 0)));
  return a;
}

async function perRequest(
  a: Hono<SessionEnv<Data>>,
  cookies: string[],
  ua: string,
): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const headers = { cookie: cookies[i % cookies.length]!, "user-agent": ua };
    const res = await a.fetch(
      new Request("http://localhost/read", { headers }),
    );
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await res.text();
  }
  return ((performance.now() - start) * 1000) / N;
}

/** An app with its sessions logged in, ready to measure. */
async function prepare(
  s: Scenario,
  cache: number,
): Promise<{ a: Hono<SessionEnv<Data>>; cookies: string[] }> {
  const a = app(s, cache);
  const cookies: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const res = await a.fetch(
      new Request("http://localhost/login", {
        headers: { "user-agent": s.ua },
      }),
    );
    cookies.push(res.headers.get("set-cookie")!.split(";")[0]!);
  }
  return { a, cookies };
}

/** Best of 5 rounds each, cache on and off interleaved (the order flips every round), so drift hits both alike. */
async function measure(s: Scenario): Promise<[number, number]> {
  const on = await prepare(s, 10_000);
  const off = await prepare(s, 0);
  const best = [Infinity, Infinity];
  for (let round = 0; round < 5; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      const x = i === 0 ? on : off;
      best[i] = Math.min(best[i]!, await perRequest(x.a, x.cookies, s.ua));
    }
  }
  return [best[0]!, best[1]!];
}

const runtime = "Bun" in globalThis ? "Bun" : "Deno" in globalThis ? "Deno" : "Node";
console.log(
  `${runtime}: µs per /read through app.fetch() on MemoryStore, ${SESSIONS} sessions, best of 5 rounds of ${N}`,
);
console.log(
  "| scenario | cache 10 000 | cache off | cache / off |\n|---|---:|---:|---:|",
);
for (const s of SCENARIOS) {
  const [on, off] = await measure(s);
  console.log(
    `| ${s.name} | ${on.toFixed(2)} | ${off.toFixed(2)} | ${(on / off).toFixed(2)}× |`,
  );
}

// The binding check alone (no cache: a client changing its user agent every request).
const signer = new Signer(SECRET, 0);
console.log(
  "\n| Signer.checkBindTag(), no cache | µs | vs 100 characters |\n|---|---:|---:|",
);
let base = 0;
for (const size of [100, 1024, 16 * 1024]) {
  const values = JSON.stringify(["x".repeat(size), null]);
  const tag = signer.bindTag(values);
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    for (let i = 0; i < N; i++) signer.checkBindTag(values, tag);
    best = Math.min(best, ((performance.now() - start) * 1000) / N);
  }
  base ||= best;
  console.log(
    `| ${size} characters | ${best.toFixed(2)} | ${(best / base).toFixed(2)}× |`,
  );
}
