/**
 * The middleware's own cost, without the network: `app.fetch()` called in a
 * loop on the benchmark routes, µs per request (best of `ROUNDS` rounds, interleaved across the apps), for bare
 * Hono, Hono with one empty async middleware (the floor under any
 * middleware), and Satchel on MemoryStore, SqliteStore and CookieStore, then
 * each store's cost as a ratio to MemoryStore's on the same route. A last
 * row seals with Web Crypto AES-GCM (cached key, awaited) instead of
 * CookieStore's synchronous XChaCha20-Poly1305, the alternative it was
 * measured against (bench/cookie-webcrypto.ts). "/plain signed in" is a
 * route that never touches the session, sent with a valid session cookie
 * (sessions load lazily, so it should cost what /plain does). Requests run one
 * after another, so a store's group commit waits one event-loop turn per
 * write here; under concurrent load (bench/http.sh) those turns are shared.
 *
 *   bun bench/inprocess.ts       deno run -A bench/inprocess.ts       node bench/inprocess.ts
 *
 * Environment: `N` requests per round (default 20000), `ROUNDS` (default 5).
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Hono } from "hono";
import { MemoryStore, session, type SessionEnv, SqliteStore } from "../mod.ts";
import { CookieStore } from "../src/store/cookie.ts";
import type { RequestBound, SessionStore } from "../src/store/contract.ts";
import { WebCryptoCookieStore } from "./cookie-webcrypto.ts";

type Data = { user: string; count: number; profile: string; seen: number };
const N = Number(process.env.N ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
/** Each column: its label, the route, and whether its requests carry the session cookies ("signed in"). */
const COLUMNS = [
  ["/plain", "/plain", false],
  ["/plain signed in", "/plain", true],
  ["/read", "/read", true],
  ["/inc", "/inc", true],
  ["/new", "/new", false],
] as const;
const HEADER = `| ${COLUMNS.map(([label]) => label).join(" | ")} |\n|---|${COLUMNS.map(() => "---:").join("|")}|`;
const dir = mkdtempSync(join(tmpdir(), "satchel-inprocess-"));

type Mode = "bare" | "empty" | "memory" | "sqlite" | "cookie" | "webcrypto";
const MODES: readonly Mode[] = [
  "bare",
  "empty",
  "memory",
  "sqlite",
  "cookie",
  "webcrypto",
];

function storeFor(
  mode: "memory" | "sqlite" | "cookie" | "webcrypto",
): SessionStore | RequestBound {
  if (mode === "memory") return new MemoryStore();
  if (mode === "sqlite") {
    return new SqliteStore({ path: join(dir, "s.sqlite") });
  }
  if (mode === "webcrypto") return new WebCryptoCookieStore(`${SECRET}-data`);
  return new CookieStore({ secret: `${SECRET}-data` });
}

function app(mode: Mode): Hono<SessionEnv<Data>> {
  const a = new Hono<SessionEnv<Data>>();
  const withSession = mode !== "bare" && mode !== "empty";
  if (mode === "empty") a.use(async (_c, next) => void (await next()));
  if (withSession) {
    a.use(session<Data>({ secret: SECRET, store: storeFor(mode) }));
  }
  a.get("/login", (c) => {
    const s = c.get("session");
    s.set("user", "u");
    s.set("count", 0);
    s.set("profile", "x".repeat(400));
    return c.text("ok");
  });
  a.get("/plain", (c) => c.text("plain"));
  a.get(
    "/read",
    (c) => c.text(String(withSession ? c.get("session").get("count") ?? 0 : 0)),
  );
  a.get(
    "/inc",
    (c) =>
      c.text(String(
        withSession ? c.get("session").update("count", (n) => (n ?? 0) + 1) : 1,
      )),
  );
  a.get("/new", (c) => {
    if (withSession) c.get("session").set("seen", 1);
    return c.text("new");
  });
  return a;
}

async function perRequest(
  a: Hono<SessionEnv<Data>>,
  path: string,
  cookies: string[],
): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const headers: Record<string, string> = cookies.length > 0 ? { cookie: cookies[i % cookies.length]! } : {};
    await (await a.fetch(new Request(`http://localhost${path}`, { headers })))
      .text();
  }
  return ((performance.now() - start) * 1000) / N;
}

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "Bun"
  : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
  ? "Deno"
  : "Node";
console.log(
  `${runtime}: µs per request through app.fetch(), best of ${ROUNDS} interleaved rounds of ${N}`,
);
console.log(`| app ${HEADER}`);
const NAMES: Record<Mode, string> = {
  bare: "bare Hono",
  empty: "Hono + one empty middleware",
  memory: "Satchel MemoryStore",
  sqlite: "Satchel SqliteStore",
  cookie: "Satchel CookieStore",
  webcrypto: "CookieStore-like, Web Crypto AES-GCM (bench/cookie-webcrypto.ts)",
};
const apps = new Map<
  Mode,
  { app: Hono<SessionEnv<Data>>; cookies: string[] }
>();
for (const mode of MODES) {
  const a = app(mode);
  const cookies: string[] = [];
  if (mode !== "bare" && mode !== "empty") {
    for (let i = 0; i < 1000; i++) {
      const res = await a.fetch(new Request("http://localhost/login"));
      // Every Set-Cookie line: CookieStore sends its data cookie next to the id cookie.
      cookies.push(
        res.headers.getSetCookie().map((l) => l.split(";")[0]).join("; "),
      );
    }
  }
  apps.set(mode, { app: a, cookies });
}
// Rounds interleave the apps, so a change in the machine's load falls on all of them alike.
const results = new Map<Mode, number[]>(
  MODES.map((m) => [m, COLUMNS.map(() => Infinity)]),
);
for (const [r, [, route, signedIn]] of COLUMNS.entries()) {
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const { app: a, cookies } = apps.get(mode)!;
      const us = await perRequest(a, route, signedIn ? cookies : []);
      results.get(mode)![r] = Math.min(results.get(mode)![r]!, us);
    }
  }
}
for (const mode of MODES) {
  console.log(
    `| ${NAMES[mode]} | ${results.get(mode)!.map((v) => v.toFixed(2)).join(" | ")} |`,
  );
}
const memory = results.get("memory")!;
console.log(
  `\nRatio to MemoryStore on the same route (same run):\n\n| store ${HEADER}`,
);
for (const mode of ["sqlite", "cookie", "webcrypto"] as const) {
  console.log(
    `| ${NAMES[mode]} | ${
      results.get(mode)!.map((v, i) => `${(v / memory[i]!).toFixed(2)}×`).join(
        " | ",
      )
    } |`,
  );
}
rmSync(dir, { recursive: true, force: true });
