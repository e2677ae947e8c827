/**
 * The in-process sweeper (`sweepInterval`) of SqliteStore and MemoryStore:
 * it sweeps on a timer, never overlaps itself, stops on close(), and never
 * keeps a process alive (proved by a child process that exits on its own).
 * Expiry time comes from a FakeClock; only the sweeper's own short timer is real.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { MemoryStore, SqliteStore } from "../mod.ts";
import { generateId } from "../src/id.ts";
import { startSweeper, type SweepEvent } from "../src/store/sweeper.ts";
import type { SessionStore } from "../src/store/types.ts";
import { FakeClock, tempDir } from "./helpers.ts";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/** Resolves once `predicate` holds, checked on each event; rejects after `ms`. */
function until(predicate: () => boolean, ms = 10_000): { check: () => void; done: Promise<void> } {
  let check = () => {};
  const done = new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`condition not met within ${ms} ms`)), ms);
    check = () => {
      if (predicate()) {
        clearTimeout(timer);
        resolvePromise();
      }
    };
  });
  return { check, done };
}

/** The next macrotask turns, a few times: lets due timers run (no wall-clock assumption about expiry). */
async function turns(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

function seed(store: SessionStore, clock: FakeClock, expired: number, live: string[]): void {
  for (let i = 0; i < expired; i++) {
    store.set(generateId(), { payload: "dead", expiresAt: clock.now + 10, createdAt: clock.now });
  }
  for (const id of live) store.set(id, { payload: "live", expiresAt: clock.now + 3600_000, createdAt: clock.now });
}

const MAKERS: [
  string,
  (clock: FakeClock, onSweep: (e: SweepEvent) => void) => { store: SessionStore; cleanup: () => void },
][] = [
  ["SqliteStore", (clock, onSweep) => {
    const tmp = tempDir();
    const store = new SqliteStore({
      path: tmp.file("s.sqlite"),
      clock: clock.fn,
      sweepInterval: 0.005,
      sweepBatchSize: 10,
      onSweep,
    });
    return { store, cleanup: () => (store.close(), tmp.cleanup()) };
  }],
  ["MemoryStore", (clock, onSweep) => {
    const store = new MemoryStore({ clock: clock.fn, sweepInterval: 0.005, onSweep });
    return { store, cleanup: () => store.close() };
  }],
];

for (const [name, make] of MAKERS) {
  test(`${name} with sweepInterval deletes expired sessions on a timer and reports each sweep`, async () => {
    const clock = new FakeClock();
    const events: SweepEvent[] = [];
    const removed = () => events.reduce((n, e) => n + e.removed, 0);
    const wait = until(() => removed() >= 35);
    const { store, cleanup } = make(clock, (e) => (events.push(e), wait.check()));
    try {
      const live = [generateId(), generateId()];
      seed(store, clock, 35, live);
      clock.advance(1);
      await wait.done;
      assert.equal(removed(), 35);
      for (const e of events) {
        assert.equal(e.error, undefined);
        assert.ok(e.durationMs >= 0);
      }
      for (const id of live) assert.equal((await store.get(id))?.payload, "live");
    } finally {
      cleanup();
    }
  });

  test(`${name}.close() stops the sweeper`, async () => {
    const clock = new FakeClock();
    let sweeps = 0;
    const wait = until(() => sweeps >= 2);
    const { cleanup } = make(clock, () => (sweeps++, wait.check()));
    await wait.done;
    cleanup();
    const after = sweeps;
    await turns(60); // a dozen intervals: a live timer would have swept again
    assert.equal(sweeps, after);
  });
}

test("SqliteStore with sweepInterval reports a failed sweep to onSweep and keeps sweeping", async () => {
  const clock = new FakeClock();
  const tmp = tempDir();
  const events: SweepEvent[] = [];
  let fail = true;
  class Flaky extends SqliteStore {
    override deleteExpired(now?: number) {
      if (fail) {
        fail = false;
        return Promise.reject(new Error("disk on fire"));
      }
      return super.deleteExpired(now);
    }
  }
  const wait = until(() => events.length >= 2);
  const store = new Flaky({
    path: tmp.file("s.sqlite"),
    clock: clock.fn,
    sweepInterval: 0.002,
    onSweep: (e) => (events.push(e), wait.check()),
  });
  try {
    seed(store, clock, 3, []);
    clock.advance(1);
    await wait.done;
    assert.equal((events[0]!.error as Error).message, "disk on fire");
    assert.equal(events[0]!.removed, 0);
    assert.equal(events[1]!.error, undefined);
    assert.equal(events[1]!.removed, 3);
  } finally {
    store.close();
    tmp.cleanup();
  }
});

test("SqliteStore's sweeper never starts a sweep while the previous one runs", async () => {
  const tmp = tempDir();
  let active = 0;
  let maxActive = 0;
  let calls = 0;
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const firstCall = until(() => calls >= 1);
  const more = until(() => calls >= 4);
  class Slow extends SqliteStore {
    override async deleteExpired(now?: number) {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      firstCall.check();
      more.check();
      if (calls === 1) await gate; // the first sweep takes as long as the test says
      const n = await super.deleteExpired(now);
      active--;
      return n;
    }
  }
  const store = new Slow({ path: tmp.file("s.sqlite"), sweepInterval: 0.001 });
  try {
    await firstCall.done;
    await turns(40); // forty intervals pass during the first sweep
    assert.equal(calls, 1, "no second sweep while the first one runs");
    release();
    await more.done;
    assert.equal(maxActive, 1);
  } finally {
    store.close();
    tmp.cleanup();
  }
});

test("SqliteStore.deleteExpired() runs concurrent calls one after the other, never interleaved", async () => {
  const clock = new FakeClock();
  const tmp = tempDir();
  const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn, sweepBatchSize: 10 });
  try {
    seed(store, clock, 30, []);
    clock.advance(1);
    const order: string[] = [];
    const [a, b] = await Promise.all([
      store.deleteExpired(clock.now, (n) => order.push(`a${n}`)),
      store.deleteExpired(clock.now, (n) => order.push(`b${n}`)),
    ]);
    assert.deepEqual([a, b], [30, 0]);
    assert.deepEqual(order, ["a10", "a10", "a10", "a0", "b0"]);
  } finally {
    store.close();
    tmp.cleanup();
  }
});

test("SqliteStore and MemoryStore reject a sweepInterval that is not a positive number of seconds, at setup", () => {
  for (const bad of [0, -1, Number.NaN, Infinity, 30 * 86_400]) {
    assert.throws(() => new SqliteStore({ path: ":memory:", sweepInterval: bad }), {
      name: "RangeError",
      message: /^Cannot create SqliteStore: sweepInterval must be a positive number of seconds/,
    });
    assert.throws(() => new MemoryStore({ sweepInterval: bad }), {
      name: "RangeError",
      message: /^Cannot create MemoryStore: sweepInterval/,
    });
  }
});

test("a process whose stores run sweepers exits on its own once its work is done (the timer is unref'd)", async () => {
  const tmp = tempDir();
  try {
    const script = tmp.file("child.ts");
    const mod = pathToFileURL(join(ROOT, "mod.ts")).href;
    writeFileSync(
      script,
      `import { MemoryStore, SqliteStore } from ${JSON.stringify(mod)};
let sqlite = 0, memory = 0;
const a = new SqliteStore({ path: ${
        JSON.stringify(tmp.file("s.sqlite"))
      }, sweepInterval: 0.01, onSweep: () => sqlite++ });
const b = new MemoryStore({ sweepInterval: 0.01, onSweep: () => memory++ });
// Some work that keeps the process busy for a while; after it, nothing but the sweepers is left.
setTimeout(() => console.log(JSON.stringify({ sqlite, memory })), 300);
`,
    );
    const args = process.versions.deno ? ["run", "-A", "--config", join(ROOT, "deno.json"), script] : [script];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const started = Date.now();
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await new Promise<number | null>((r) => child.once("close", (c) => r(c)));
    clearTimeout(killer);
    assert.equal(code, 0, `the child did not exit on its own within 20 s (stderr: ${err})`);
    assert.ok(Date.now() - started < 20_000);
    const counts = JSON.parse(out.trim()) as { sqlite: number; memory: number };
    assert.ok(counts.sqlite > 0 && counts.memory > 0, `both sweepers ran before the exit: ${out}`);
  } finally {
    tmp.cleanup();
  }
});

test("startSweeper() on a store without deleteExpired (it expires sessions itself) fails at setup, saying so", () => {
  const selfExpiring = { get: () => null, set() {}, delete() {}, update: () => null };
  assert.throws(() => startSweeper("MyStore", selfExpiring, 60), {
    name: "TypeError",
    message: "Cannot sweep MyStore: it expires sessions itself and has no deleteExpired; drop sweepInterval",
  });
  assert.equal(startSweeper("MyStore", selfExpiring, undefined), undefined, "no sweepInterval, no sweeper, no error");
});
