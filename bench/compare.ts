/**
 * This checkout against another one (BASELINE, a path to its mod.ts's folder)
 * in one process, rounds interleaved: µs per request through app.fetch() on
 * the benchmark routes, for SqliteStore and MemoryStore.
 *
 *   BASELINE=/tmp/base bun bench/compare.ts      (also deno run -A, node)
 *
 * Environment: N requests per round (default 5000), ROUNDS (default 7).
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Hono } from "hono";
import * as current from "../mod.ts";

type Mod = typeof current;
const N = Number(process.env.N ?? 5000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const BASELINE = process.env.BASELINE;
if (!BASELINE) throw new Error("set BASELINE to another checkout's folder");
const baseline = (await import(join(BASELINE, "mod.ts"))) as Mod;
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
const dir = mkdtempSync(join(tmpdir(), "satchel-compare-"));
const COLUMNS = [["/plain", false], ["/plain", true], ["/read", true], [
  "/inc",
  true,
], ["/new", false]] as const;

// deno-lint-ignore no-explicit-any
function app(mod: Mod, store: "sqlite" | "memory", tag: string): Hono<any> {
  // deno-lint-ignore no-explicit-any
  const a = new Hono<any>();
  const s = store === "memory" ? new mod.MemoryStore() : new mod.SqliteStore({ path: join(dir, `${tag}.sqlite`) });
  a.use(mod.session({ secret: SECRET, store: s }));
  a.get("/login", (c) => {
    const s = c.get("session");
    s.set("user", "u");
    s.set("count", 0);
    s.set("profile", "x".repeat(400));
    return c.text("ok");
  });
  a.get("/plain", (c) => c.text("plain"));
  a.get("/read", (c) => c.text(String(c.get("session").get("count") ?? 0)));
  a.get(
    "/inc",
    (c) =>
      c.text(String(
        c.get("session").update(
          "count",
          (n: number | undefined) => (n ?? 0) + 1,
        ),
      )),
  );
  a.get("/new", (c) => (c.get("session").set("seen", 1), c.text("new")));
  return a;
}

async function perRequest(
  // deno-lint-ignore no-explicit-any
  a: Hono<any>,
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

const apps: [string, ReturnType<typeof app>, string[]][] = [];
for (const store of ["sqlite", "memory"] as const) {
  for (
    const [name, mod] of [["this", current], ["baseline", baseline]] as const
  ) {
    const a = app(mod, store, `${name}-${store}`);
    const cookies: string[] = [];
    for (let i = 0; i < 500; i++) {
      cookies.push(
        (await a.fetch(new Request("http://localhost/login"))).headers.get(
          "set-cookie",
        )!.split(";")[0]!,
      );
    }
    apps.push([`${store} ${name}`, a, cookies]);
  }
}
const best = apps.map(() => COLUMNS.map(() => Infinity));
for (let round = 0; round < ROUNDS; round++) {
  for (const [c, [route, signed]] of COLUMNS.entries()) {
    for (const [i, [, a, cookies]] of apps.entries()) {
      best[i]![c] = Math.min(
        best[i]![c]!,
        await perRequest(a, route, signed ? cookies : []),
      );
    }
  }
}
console.log(
  `| µs per request | /plain | /plain signed in | /read | /inc | /new |\n|---|---:|---:|---:|---:|---:|`,
);
for (const [i, [name]] of apps.entries()) {
  console.log(`| ${name} | ${best[i]!.map((v) => v.toFixed(2)).join(" | ")} |`);
}
rmSync(dir, { recursive: true, force: true });
