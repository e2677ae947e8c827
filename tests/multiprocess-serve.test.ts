/**
 * examples/multi-worker/ started the way a user deploys it, with the one
 * command its README gives for the runtime running the tests:
 *   bun:  bun examples/multi-worker/bun.ts              (N processes, reusePort)
 *   deno: deno serve --parallel examples/multi-worker/deno.ts  (N isolates, reusePort)
 *   node: node examples/multi-worker/node.ts            (node:cluster)
 * Four workers, one session file, one session hammered from many connections.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { tempDir } from "./helpers.ts";
import {
  burst,
  freePort,
  get,
  type Proc,
  request,
  ROOT,
  runtime,
  scalar,
  sessionCookie,
  spawnProc,
  tally,
} from "./fixtures/worker-harness.ts";

const WORKERS = 4;
const COMMAND = { bun: "bun.ts (reusePort)", deno: "deno serve --parallel", node: "node:cluster" }[runtime];

async function start(db: string, port: number): Promise<Proc> {
  const file = resolve(ROOT, `examples/multi-worker/${runtime}.ts`);
  const env = { SATCHEL_DB: db, PORT: String(port), WORKERS: String(WORKERS), DENO_JOBS: String(WORKERS) };
  const args = runtime === "deno"
    ? ["serve", "--parallel", "-A", "--host", "127.0.0.1", "--port", String(port), file]
    : [file];
  const p = spawnProc(args, env);
  // Wait until every worker said it is up.
  const deadline = Date.now() + 30_000;
  while ((p.stdout().match(/^.*worker \S+ (listening|ready)/gm) ?? []).length < WORKERS) {
    if (p.child.exitCode !== null || Date.now() > deadline) {
      await p.stop("SIGKILL");
      throw new Error(
        `examples/multi-worker/${runtime}.ts did not start ${WORKERS} workers:\n${p.stdout()}\n${p.stderr()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  // A worker may print its line a moment before its socket listens: probe over
  // fresh connections until at least two different workers have answered.
  const origin = `http://127.0.0.1:${port}`;
  const answered = new Set<string>();
  while (answered.size < 2) {
    if (Date.now() > deadline) {
      await p.stop("SIGKILL");
      throw new Error(`only ${[...answered]} answered:\n${p.stdout()}\n${p.stderr()}`);
    }
    const r = await request(`${origin}/read`, undefined, { connection: "close" }).catch(() => undefined);
    if (r?.status === 200) answered.add(r.header("x-worker")!);
  }
  return p;
}

test(`examples/multi-worker serves one session from ${WORKERS} workers on one file (${COMMAND})`, async () => {
  const tmp = tempDir();
  const db = tmp.file("sessions.sqlite");
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const server = await start(db, port);
  try {
    const first = await get(origin, "/");
    assert.equal(first.status, 200);
    const cookie = sessionCookie(first)!;
    const t = tally();
    const seen = new Set<string>();
    // 400 visits over 64 connections, which the kernel (or the cluster primary) spreads over the workers.
    await burst({
      origin,
      total: 400,
      concurrency: 64,
      path: () => "/",
      cookie: () => cookie,
      into: t,
      onResponse: (r) => void seen.add(r.header("x-worker")!),
    });
    assert.deepEqual([...t.status], [[200, 400]], t.errors.join("\n"));
    assert.ok(seen.size >= 2, `only ${[...seen]} served: the load was not spread`);
    assert.equal((await get(origin, "/read", cookie)).body, "401");

    if (runtime !== "deno") {
      // The supervisor replaces a worker killed with SIGKILL; no acknowledged visit is lost.
      const victim = Number([...seen][0]!.split("-")[0]);
      process.kill(victim, "SIGKILL");
      const deadline = Date.now() + 30_000;
      while ((server.stdout().match(/worker \S+ listening/g) ?? []).length < WORKERS + 1) {
        assert.ok(Date.now() < deadline, `no replacement worker:\n${server.stdout()}\n${server.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(server.stderr(), new RegExp(`exited \\(SIGKILL\\); restarting`));
      const after = tally();
      await burst({ origin, total: 100, concurrency: 32, path: () => "/", cookie: () => cookie, into: after });
      const acked = 401 + (after.status.get(200) ?? 0);
      const count = Number((await get(origin, "/read", cookie)).body);
      assert.ok(count >= acked && count <= acked + after.failed, `count ${count}, acknowledged ${acked}`);
    }
  } finally {
    await server.stop("SIGTERM", 10_000);
  }
  assert.equal(scalar(db, "PRAGMA integrity_check"), "ok");
  tmp.cleanup();
});
