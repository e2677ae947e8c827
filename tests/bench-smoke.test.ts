/**
 * CI's smoke of the benchmark app (bench/app.ts): started as a real child
 * process on the current runtime, every route of the benchmark app contract
 * answered once over real HTTP, then stopped with SIGTERM, after which it
 * reports how many /inc requests it answered (bench/http.sh's lost-update check).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "./helpers.ts";

const APP = fileURLToPath(new URL("../bench/app.ts", import.meta.url));

function runtimeArgs(): string[] {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return [APP];
  if (g.Deno !== undefined) return ["run", "-A", APP];
  return [APP];
}

test("bench/app.ts serves every route of the benchmark app contract and counts its /inc answers", async () => {
  const tmp = tempDir("satchel-bench-smoke-");
  const stats = tmp.file("stats");
  const child = spawn(process.execPath, runtimeArgs(), {
    env: { ...process.env, PORT: "0", STORE: "sqlite", SATCHEL_DB: tmp.file("bench.sqlite"), BENCH_STATS: stats },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const isDeno = (globalThis as { Deno?: unknown }).Deno !== undefined;
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`bench/app.ts did not start in 15 s: ${stderr}`)), 15_000);
      child.stdout!.on("data", (d) => {
        out += d;
        const m = /listening on (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once("exit", (code) => reject(new Error(`bench/app.ts exited with ${code}: ${stderr}`)));
    });
    const get = async (path: string, cookie?: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, cookie ? { headers: { cookie } } : undefined);
      return {
        status: res.status,
        body: await res.text(),
        setCookie: res.headers.get("set-cookie"),
        type: res.headers.get("content-type"),
      };
    };

    const plain = await get("/plain");
    assert.deepEqual([plain.status, plain.body, plain.setCookie], [200, "plain", null]);

    const login = await get("/login");
    assert.equal(login.body, "ok");
    assert.match(login.setCookie ?? "", /^sid=[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43};/);
    const cookie = login.setCookie!.split(";")[0]!;

    assert.equal((await get("/inc", cookie)).body, "1");
    assert.equal((await get("/inc", cookie)).body, "2");
    assert.equal((await get("/read", cookie)).body, "2");

    const fresh = await get("/new");
    assert.equal(fresh.body, "new");
    assert.match(
      fresh.type ?? "",
      /^text\/plain/i,
      "setting the cookie keeps the body's Content-Type (Bun lost it when Hono copied the response)",
    );
    assert.match(fresh.setCookie ?? "", /^sid=/);
    assert.notEqual(fresh.setCookie!.split(";")[0], cookie);

    const logout = await get("/logout", cookie);
    assert.equal(logout.body, "bye");
    assert.match(logout.setCookie ?? "", /Max-Age=0/);
    assert.equal((await get("/read", cookie)).body, "0", "the session is gone after /logout");

    child.kill("SIGTERM");
    const code = await exited;
    // Deno's node:child_process reports a child that handled SIGTERM and
    // exited 0 as killed by the signal (code null); the stats file below
    // shows the handler ran there too.
    assert.ok(code === 0 || (isDeno && code === null), `bench/app.ts exited with ${code}: ${stderr}`);
    assert.ok(existsSync(stats), "the app writes its /inc count on SIGTERM");
    assert.equal(readFileSync(stats, "utf8"), "2\n");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
    tmp.cleanup();
  }
});
