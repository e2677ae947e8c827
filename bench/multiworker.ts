/**
 * Multi-worker benchmark: several server processes on ONE SQLite file, driven
 * by wrk on 127.0.0.1. Each worker is tests/fixtures/worker-app.ts on its own
 * port with its own wrk (-t1), so every worker gets the same share of the
 * connections whatever the store; the sessions are created through the
 * worker that then serves them, so the MemoryStore ceiling (nothing shared)
 * does exactly the same work per request as the shared SqliteStore.
 *
 *   bun bench/multiworker.ts                 # all scenarios, prints markdown
 *   bun bench/multiworker.ts throughput      # /inc on 1, 2, 4 workers: sqlite vs memory
 *   bun bench/multiworker.ts durability      # synchronous NORMAL vs FULL, 4 workers
 *   bun bench/multiworker.ts contention      # 8 writers: busy_timeout 5000 / 1000 / 0, write-time histogram
 *   bun bench/multiworker.ts wal             # WAL size over time under load with a long-lived reader
 *   bun bench/multiworker.ts test10          # the 8-process test for the full 10 s
 *
 * Env: DURATION (seconds per wrk run, 10), CONNS (total connections, 32),
 * SESSIONS (1000), RUNTIME (bun | deno | node: what runs the workers, bun).
 * @module
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { openSqlite } from "../src/store/sqlite/driver.ts";

const ROOT = resolve(
  import.meta.dirname ?? new URL(".", import.meta.url).pathname,
  "..",
);
const BIN = join(ROOT, "node_modules/.bin");
const env = process.env;
const DURATION = Number(env.DURATION ?? 10);
const CONNS = Number(env.CONNS ?? 32);
const SESSIONS = Number(env.SESSIONS ?? 1000);
const RUNTIME = env.RUNTIME ?? "bun";
const APP = join(ROOT, "tests/fixtures/worker-app.ts");

// ---------------------------------------------------------------- reader mode
// `bun bench/multiworker.ts reader <db> <delayMs> <holdMs> <everyMs> <holds>`: a
// long-lived reader that keeps a read transaction (a snapshot) open for
// holdMs, every everyMs, `holds` times, starting after delayMs; then idles until killed.
if (process.argv[2] === "reader") {
  const [db, delay, hold, every, holds] = [
    process.argv[3]!,
    ...process.argv.slice(4, 8).map(Number),
  ] as [
    string,
    number,
    number,
    number,
    number,
  ];
  const conn = openSqlite(db);
  conn.exec("PRAGMA busy_timeout = 5000");
  const count = conn.prepare("SELECT count(*) AS n FROM satchel_sessions");
  await new Promise((r) => setTimeout(r, delay));
  for (let i = 0; i < holds; i++) {
    conn.exec("BEGIN");
    count.get();
    await new Promise((r) => setTimeout(r, hold));
    conn.exec("COMMIT");
    if (i < holds - 1) await new Promise((r) => setTimeout(r, every - hold));
  }
  // Stay connected, idle, until killed: closing (Bun checkpoints with TRUNCATE
  // when its process exits) would empty the WAL and hide the policy measured.
  setInterval(() => {}, 1 << 30);
  await new Promise(() => {});
}

// ------------------------------------------------------------------- workers
interface Worker {
  child: ChildProcess;
  port: number;
  out: () => string;
}
interface Fleet {
  workers: Worker[];
  db: string;
  dir: string;
  stats: string;
}

function runtimeArgs(file: string): [string, string[]] {
  return [
    join(BIN, RUNTIME),
    RUNTIME === "deno" ? ["run", "-A", file] : [file],
  ];
}

async function startWorker(extra: Record<string, string>): Promise<Worker> {
  const [bin, args] = runtimeArgs(APP);
  const child = spawn(bin, args, {
    cwd: ROOT,
    env: { ...env, PORT: "0", PROFILE: "400", ...extra },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
  const port = await new Promise<number>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`worker did not start:\n${out}`)),
      30_000,
    );
    child.stdout!.on("data", () => {
      const m = /^ready (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    });
    child.once("exit", () => fail(new Error(`worker exited:\n${out}`)));
  });
  return { child, port, out: () => out };
}

async function startFleet(
  n: number,
  extra: Record<string, string> = {},
): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), "satchel-mw-"));
  const db = join(dir, "s.sqlite");
  const stats = join(dir, "stats.jsonl");
  // One worker first, so the others open an existing file (as after a deploy).
  const first = await startWorker({
    SATCHEL_DB: db,
    STATS_FILE: stats,
    ...extra,
  });
  const rest = await Promise.all(
    Array.from(
      { length: n - 1 },
      () => startWorker({ SATCHEL_DB: db, STATS_FILE: stats, ...extra }),
    ),
  );
  return { workers: [first, ...rest], db, dir, stats };
}

type Stat = {
  pid: number;
  incs: number;
  writes: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
};

async function stopFleet(f: Fleet): Promise<Stat[]> {
  await Promise.all(f.workers.map((w) =>
    new Promise<void>((done) => {
      w.child.once("close", () => done());
      w.child.kill("SIGTERM");
    })
  ));
  const stats = existsSync(f.stats)
    ? readFileSync(f.stats, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Stat)
    : [];
  return stats;
}

/** Create `n` sessions through `port`, written one cookie a line to `file`. */
async function makeSessions(
  port: number,
  n: number,
  file: string,
): Promise<void> {
  const cookies: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) {
      next++;
      // A 503 can only come from the busy_timeout = 0 run, whose point is that it fails: retry.
      for (let attempt = 1;; attempt++) {
        const res = await fetch(`http://127.0.0.1:${port}/login`);
        const body = await res.text();
        const cookie = res.headers.getSetCookie()[0]?.split(";")[0];
        if (res.status === 200 && cookie !== undefined) {
          cookies.push(cookie);
          break;
        }
        if (res.status !== 503 || attempt === 100) {
          throw new Error(`/login answered ${res.status} ${body}`);
        }
      }
    }
  }));
  writeFileSync(file, cookies.join("\n") + "\n");
}

interface WrkResult {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  socketErrors: number;
}

function wrk(
  port: number,
  conns: number,
  cookies: string,
  seconds = DURATION,
): Promise<WrkResult> {
  return new Promise((ok, fail) => {
    const child = spawn("wrk", [
      "-t1",
      `-c${conns}`,
      `-d${seconds}s`,
      "-s",
      join(ROOT, "bench/multiworker.lua"),
      `http://127.0.0.1:${port}/inc`,
    ], {
      env: { ...env, COOKIES: cookies },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.once("close", () => {
      const m = /^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(out);
      if (!m) return fail(new Error(`wrk said:\n${out}`));
      const [requests, us, p50, p99, max, non2xx, socketErrors] = m.slice(1)
        .map(Number) as number[];
      ok({
        requests: requests!,
        seconds: us! / 1e6,
        p50: p50! / 1000,
        p99: p99! / 1000,
        max: max! / 1000,
        non2xx: non2xx!,
        socketErrors: socketErrors!,
      });
    });
  });
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  socketErrors: number;
  stats: Stat[];
  /** What the workers logged for their non-2xx answers, with counts. */
  errors: Record<string, number>;
  /** For sqlite: the stored counts add up to the /inc answered 200. */
  countsAddUp?: boolean;
}

/** n workers, each with SESSIONS/n sessions of its own and CONNS/n connections of one wrk. */
async function measure(
  n: number,
  extra: Record<string, string>,
  seconds = DURATION,
): Promise<Run> {
  const f = await startFleet(n, extra);
  try {
    const files = await Promise.all(f.workers.map(async (w, i) => {
      const file = join(f.dir, `cookies-${i}.txt`);
      await makeSessions(w.port, Math.ceil(SESSIONS / n), file);
      return file;
    }));
    const results = await Promise.all(
      f.workers.map((w, i) => wrk(w.port, Math.max(1, Math.round(CONNS / n)), files[i]!, seconds)),
    );
    const stats = await stopFleet(f);
    const errors: Record<string, number> = {};
    for (const w of f.workers) {
      for (const m of w.out().matchAll(/^error (\w+): (.*)$/gm)) {
        errors[`${m[1]}: ${m[2]}`] = (errors[`${m[1]}: ${m[2]}`] ?? 0) + 1;
      }
    }
    const run: Run = {
      errors,
      rps: results.reduce((s, r) => s + r.requests / r.seconds, 0),
      p50: Math.max(...results.map((r) => r.p50)),
      p99: Math.max(...results.map((r) => r.p99)),
      max: Math.max(...results.map((r) => r.max)),
      non2xx: results.reduce((s, r) => s + r.non2xx, 0),
      socketErrors: results.reduce((s, r) => s + r.socketErrors, 0),
      stats,
    };
    if (extra.STORE !== "memory") {
      const db = openSqlite(f.db);
      const rows = db.prepare("SELECT payload FROM satchel_sessions").all();
      db.close();
      const stored = rows.reduce(
        (s, r) => s + Number(/"count":(\d+)/.exec(String(r.payload))?.[1] ?? 0),
        0,
      );
      run.countsAddUp = stored === stats.reduce((s, x) => s + x.incs, 0);
    }
    return run;
  } finally {
    for (const w of f.workers) {
      if (w.child.exitCode === null) w.child.kill("SIGKILL");
    }
    rmSync(f.dir, { recursive: true, force: true });
  }
}

// ----------------------------------------------------------------- scenarios
const fmt = (n: number, d = 0) => n.toFixed(d);
const lines: string[] = [];
const say = (s = "") => {
  lines.push(s);
  console.log(s);
};

async function throughput(): Promise<void> {
  say(
    `### /inc throughput: shared SqliteStore vs MemoryStore per worker (${RUNTIME} workers)`,
  );
  say();
  say(
    `${SESSIONS} sessions (count + 400-byte profile), ${CONNS} connections in total, ${DURATION} s per run.`,
  );
  say();
  say(
    "| workers | SqliteStore (one file) req/s | p99 ms | MemoryStore (per worker) req/s | p99 ms | SQLite / Memory | non-2xx | counts add up |",
  );
  say("|---:|---:|---:|---:|---:|---:|---:|---|");
  const base: Record<string, number> = {};
  for (const n of [1, 2, 4]) {
    const sq = await measure(n, {});
    const mem = await measure(n, { STORE: "memory" });
    base[`sq${n}`] = sq.rps;
    base[`mem${n}`] = mem.rps;
    say(
      `| ${n} | ${fmt(sq.rps)} | ${fmt(sq.p99, 1)} | ${fmt(mem.rps)} | ${fmt(mem.p99, 1)} | ${
        fmt(sq.rps / mem.rps, 2)
      } | ${sq.non2xx + mem.non2xx} | ${sq.countsAddUp ? "yes" : "NO"} |`,
    );
  }
  say();
  say(
    `Scaling from 1 worker: SqliteStore ×${fmt(base.sq2! / base.sq1!, 2)} (2), ×${
      fmt(base.sq4! / base.sq1!, 2)
    } (4); ` +
      `MemoryStore ×${fmt(base.mem2! / base.mem1!, 2)} (2), ×${fmt(base.mem4! / base.mem1!, 2)} (4).`,
  );
  say();
}

async function durability(): Promise<void> {
  say(`### synchronous = NORMAL vs FULL (4 ${RUNTIME} workers, one file)`);
  say();
  say("| synchronous | req/s | p50 ms | p99 ms | non-2xx | counts add up |");
  say("|---|---:|---:|---:|---:|---|");
  const normal = await measure(4, {});
  const full = await measure(4, { SYNCHRONOUS: "FULL" });
  for (const [name, r] of [["NORMAL", normal], ["FULL", full]] as const) {
    say(
      `| ${name} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 1)} | ${r.non2xx} | ${
        r.countsAddUp ? "yes" : "NO"
      } |`,
    );
  }
  for (const [name, r] of [["NORMAL", normal], ["FULL", full]] as const) {
    for (const [e, n] of Object.entries(r.errors)) {
      say(`- ${name}: ${n} × ${e.replace(/\(\/.*\)/, "(…)")}`);
    }
  }
  say();
  say(
    `FULL / NORMAL: ${fmt(full.rps / normal.rps, 2)} of the throughput (an fsync of the WAL per commit).`,
  );
  say();
}

async function contention(): Promise<void> {
  say(
    `### 8 writer processes on one file: busy_timeout (${RUNTIME} workers, /inc, ${DURATION} s)`,
  );
  say();
  say(
    "Write time = one store write as the worker sees it (lock wait included), over all 8 processes.",
  );
  say();
  say(
    "| busy_timeout | req/s | HTTP p99 ms | non-2xx (503) | write p50 ms | write p99 ms | write p99.9 ms | write max ms | counts add up |",
  );
  say("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const busy of ["5000", "1000", "0"]) {
    const r = await measure(8, { BUSY_TIMEOUT: busy });
    const w = r.stats;
    const maxOf = (k: keyof Stat) => Math.max(...w.map((s) => s[k] as number));
    say(
      `| ${busy} ms | ${fmt(r.rps)} | ${fmt(r.p99, 1)} | ${r.non2xx} | ${fmt(maxOf("p50"), 2)} | ${
        fmt(maxOf("p99"), 2)
      } | ${fmt(maxOf("p999"), 2)} | ${fmt(maxOf("max"), 1)} | ${r.countsAddUp ? "yes" : "NO"} |`,
    );
  }
  say();
}

async function wal(): Promise<void> {
  const seconds = 20;
  say(
    `### WAL size under steady writes with a long-lived reader (4 ${RUNTIME} workers, ${seconds} s)`,
  );
  say();
  say(
    "/inc on 4 workers for 20 s. The reader (another process) holds a read transaction from 2 to 6 s and from 10 to 14 s;",
  );
  say("WAL file size sampled every 100 ms.");
  say();
  say(
    "| journal_size_limit | reader | req/s | WAL max MiB | WAL between holds (7–10 s) min–max MiB | WAL after the reader (16–20 s) min–max MiB |",
  );
  say("|---|---|---:|---:|---:|---:|");
  const cases: [string, Record<string, string>, boolean][] = [
    ["64 MiB (Satchel's default)", {}, false],
    ["64 MiB (Satchel's default)", {}, true],
    ["-1 (SQLite's default: never)", { JOURNAL_SIZE_LIMIT: "-1" }, true],
    ["4 MiB", { JOURNAL_SIZE_LIMIT: String(4 * 1024 * 1024) }, true],
  ];
  const series: string[] = [];
  for (const [policy, extra, withReader] of cases) {
    const f = await startFleet(4, extra);
    let reader: ChildProcess | undefined;
    try {
      const files = await Promise.all(f.workers.map(async (w, i) => {
        const file = join(f.dir, `cookies-${i}.txt`);
        await makeSessions(w.port, SESSIONS / 4, file);
        return file;
      }));
      const args = [
        join(ROOT, "bench/multiworker.ts"),
        "reader",
        f.db,
        "2000",
        "4000",
        "8000",
        "2",
      ];
      if (withReader) {
        reader = spawn(join(BIN, "bun"), args, {
          stdio: ["ignore", "inherit", "inherit"],
        });
      }
      const samples: { t: number; wal: number }[] = [];
      const t0 = Date.now();
      const timer = setInterval(() => {
        samples.push({
          t: Date.now() - t0,
          wal: existsSync(f.db + "-wal") ? statSync(f.db + "-wal").size : 0,
        });
      }, 100);
      const results = await Promise.all(
        f.workers.map((w, i) => wrk(w.port, CONNS / 4, files[i]!, seconds)),
      );
      clearInterval(timer);
      reader?.kill("SIGKILL");
      await stopFleet(f);
      const mib = (b: number) => fmt(b / 1024 / 1024, 1);
      const within = (a: number, b: number) =>
        samples.filter((s) => s.t >= a * 1000 && s.t <= b * 1000).map((s) => s.wal);
      const between = within(7, 10);
      const after = within(16, 20);
      const rps = results.reduce((s, r) => s + r.requests / r.seconds, 0);
      say(
        `| ${policy} | ${withReader ? "2–6 s, 10–14 s" : "none"} | ${fmt(rps)} | ${
          mib(Math.max(...samples.map((s) => s.wal)))
        } | ` +
          `${mib(Math.min(...between))}–${mib(Math.max(...between))} | ${mib(Math.min(...after))}–${
            mib(Math.max(...after))
          } |`,
      );
      // Largest WAL size in each second, in MiB.
      const perSecond = Array.from(
        { length: seconds },
        (_, i) => within(i, i + 1),
      ).map((w) => fmt(Math.max(0, ...w) / 1024 / 1024, 0));
      series.push(
        `${policy}, reader ${withReader ? "2–6 s, 10–14 s" : "none"}: ${perSecond.join(" ")}`,
      );
    } finally {
      reader?.kill("SIGKILL");
      for (const w of f.workers) {
        if (w.child.exitCode === null) w.child.kill("SIGKILL");
      }
      rmSync(f.dir, { recursive: true, force: true });
    }
  }
  say();
  say("Largest WAL size in each second (MiB), second 0 to 19:");
  say();
  say("```");
  for (const line of series) say(line);
  say("```");
  say();
}

function test10(): void {
  say("### The 8-process test for 10 s");
  say();
  const t0 = Date.now();
  const r = spawnSync(join(BIN, "bun"), [
    "test",
    "--timeout",
    "120000",
    "tests/multiprocess-contention.test.ts",
  ], {
    cwd: ROOT,
    env: { ...env, MULTIPROCESS_SECONDS: "10" },
    encoding: "utf8",
  });
  const out = (r.stdout + r.stderr).split("\n").filter((l) => /\((pass|fail)\)/.test(l)).join("\n");
  say("```");
  say(
    `$ MULTIPROCESS_SECONDS=10 bun test tests/multiprocess-contention.test.ts   (${
      fmt((Date.now() - t0) / 1000, 1)
    } s)`,
  );
  say(out);
  say("```");
  say();
}

const which = process.argv[2] ?? "all";
const scenarios: Record<string, () => Promise<void> | void> = {
  throughput,
  durability,
  contention,
  wal,
  test10,
};
if (which !== "all" && !(which in scenarios)) {
  console.error(
    `usage: bun bench/multiworker.ts [all|${Object.keys(scenarios).join("|")}]`,
  );
  process.exit(2);
}
const version = execFileSync(join(BIN, RUNTIME), ["--version"], { encoding: "utf8" }).split(
  "\n",
)[0];
say(
  `<!-- ${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model} · load average at start ${
    loadavg().map((l) => l.toFixed(1)).join(" ")
  } · workers: ${RUNTIME} ${version} · command: bun bench/multiworker.ts ${which} -->`,
);
say();
for (const [name, run] of Object.entries(scenarios)) {
  if (which === "all" || which === name) await run();
}
const out = join(tmpdir(), `satchel-multiworker-${which}.md`);
writeFileSync(out, lines.join("\n") + "\n");
console.error(`(also written to ${out})`);
