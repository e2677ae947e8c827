/**
 * The middleware's own cost, without the network: `app.fetch()` called in a
 * loop on the benchmark routes, µs per request (best of 5 rounds), for bare
 * Hono, Hono with one empty async middleware (the floor under any
 * middleware), and Satchel on MemoryStore and SqliteStore. "/plain signed
 * in" is a route that never touches the session, sent with a valid session
 * cookie (sessions load lazily, so it should cost what /plain does). Requests run one
 * after another, so a store's group commit waits one event-loop turn per
 * write here; under concurrent load (bench/http.sh) those turns are shared.
 *
 *   bun bench/inprocess.ts       deno run -A bench/inprocess.ts       node bench/inprocess.ts
 *
 * Environment: `N` requests per round (default 20000).
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Hono } from "hono";
import { MemoryStore, session, type SessionEnv, SqliteStore } from "../mod.ts";

type Data = { user: string; count: number; profile: string; seen: number };
const N = Number(process.env.N ?? 20_000);
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
/** Each column: the route, and whether its requests carry a session cookie ("signed in"). */
const COLUMNS = [["/plain", false], ["/plain", true], ["/read", true], ["/inc", true], ["/new", false]] as const;
const dir = mkdtempSync(join(tmpdir(), "satchel-inprocess-"));

function app(mode: "bare" | "empty" | "memory" | "sqlite"): Hono<SessionEnv<Data>> {
  const a = new Hono<SessionEnv<Data>>();
  const withSession = mode === "memory" || mode === "sqlite";
  if (mode === "empty") a.use(async (_c, next) => void (await next()));
  if (withSession) {
    const store = mode === "memory" ? new MemoryStore() : new SqliteStore({ path: join(dir, "s.sqlite") });
    a.use(session<Data>({ secret: SECRET, store }));
  }
  a.get("/login", (c) => {
    const s = c.get("session");
    s.set("user", "u");
    s.set("count", 0);
    s.set("profile", "x".repeat(400));
    return c.text("ok");
  });
  a.get("/plain", (c) => c.text("plain"));
  a.get("/read", (c) => c.text(String(withSession ? c.get("session").get("count") ?? 0 : 0)));
  a.get("/inc", (c) => c.text(String(withSession ? c.get("session").update("count", (n) => (n ?? 0) + 1) : 1)));
  a.get("/new", (c) => {
    if (withSession) c.get("session").set("seen", 1);
    return c.text("new");
  });
  return a;
}

async function perRequest(a: Hono<SessionEnv<Data>>, path: string, cookies: string[]): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const headers: Record<string, string> = cookies.length > 0 ? { cookie: cookies[i % cookies.length]! } : {};
    await (await a.fetch(new Request(`http://localhost${path}`, { headers }))).text();
  }
  return ((performance.now() - start) * 1000) / N;
}

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "Bun"
  : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
  ? "Deno"
  : "Node";
console.log(`${runtime}: µs per request through app.fetch(), best of 5 rounds of ${N}`);
console.log("| app | /plain | /plain signed in | /read | /inc | /new |\n|---|---:|---:|---:|---:|---:|");
for (const mode of ["bare", "empty", "memory", "sqlite"] as const) {
  const a = app(mode);
  const cookies: string[] = [];
  if (mode === "memory" || mode === "sqlite") {
    for (let i = 0; i < 1000; i++) cookies.push((await a.fetch(new Request("http://localhost/login"))).headers.get("set-cookie")!.split(";")[0]!);
  }
  const cells: string[] = [];
  for (const [route, signedIn] of COLUMNS) {
    const jar = signedIn ? cookies : [];
    let best = Infinity;
    for (let round = 0; round < 5; round++) best = Math.min(best, await perRequest(a, route, jar));
    cells.push(best.toFixed(2));
  }
  const name = { bare: "bare Hono", empty: "Hono + one empty middleware", memory: "Satchel MemoryStore", sqlite: "Satchel SqliteStore" }[mode];
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
rmSync(dir, { recursive: true, force: true });
