/**
 * Sweep benchmark (not a test): a SQLite file with 1,000,000 expired sessions
 * mixed with 1,000,000 live ones. Measures
 *
 * 1. the sweep alone (`satchel sweep` as its own process, as cron runs it)
 *    for several batch sizes: total time, rows/s, the longest single batch;
 * 2. the latency of `/read` requests over real HTTP, at a fixed request rate
 *    (open loop: a late answer is counted from when the request was due),
 *    without a sweep, during `satchel sweep` in another process, and during
 *    an in-process sweep (`store.deleteExpired()` in the server, which is
 *    what the `sweepInterval` timer runs).
 *
 *   bun bench/sweep.ts [--rows 1000000] [--batches 100,1000,10000] [--latency-batches 100,1000] [--rate 2000] [--seconds 10]
 *   bun bench/sweep.ts layout [--rows 400000]
 *
 * `layout` compares the store's table (WITHOUT ROWID, clustered by id)
 * with a rowid table plus a UNIQUE id index, rows inserted in creation
 * order and the older half expired: random reads and the sweep.
 *
 * The server is this file in `serve` mode on Bun (Bun.serve + Hono + the
 * session middleware, the bench contract's /read route, expires 3600, refresh
 * only in a session's last 10 minutes so /read stays read-only); the
 * load is this file in `load` mode, a separate process. Files go to the OS
 * temp dir; the numbers are printed as markdown and written as JSON to
 * bench/results/sweep-<stamp>.json.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { SessionEnv } from "../mod.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const SELF = fileURLToPath(import.meta.url);
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
const HOUR = 3600_000;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: "string", default: "1000000" },
    batches: { type: "string", default: "100,300,1000,3000,10000" },
    "latency-batches": { type: "string", default: "100,1000,10000" },
    rate: { type: "string", default: "2000" },
    seconds: { type: "string", default: "10" },
    tokens: { type: "string", default: "10000" },
    dir: { type: "string", default: join(tmpdir(), "satchel-sweep-bench") },
    // serve / load modes
    db: { type: "string" },
    port: { type: "string" },
    batch: { type: "string" },
    out: { type: "string" },
    warm: { type: "boolean", default: false },
  },
});

// ---------------------------------------------------------------- server

/** The app (bench contract's /read and /inc) on Bun.serve, plus /__sweep that runs the store's sweep in this process. */
async function serve(): Promise<void> {
  const { Hono } = await import("hono");
  const { session, SqliteStore } = await import("../mod.ts");
  const store = new SqliteStore({
    path: opts.db!,
    sweepBatchSize: Number(opts.batch ?? 1000),
  });
  // How long the middleware's store calls take (count, longest), read and reset through /__stats.
  let calls: Record<string, { n: number; maxMs: number }> = {};
  const timed = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (!["get", "touch", "update", "set", "delete"].includes(String(prop))) {
        return value.bind(target);
      }
      return (...args: unknown[]) => {
        const start = performance.now();
        try {
          return value.apply(target, args);
        } finally {
          const ms = performance.now() - start;
          const c = (calls[String(prop)] ??= { n: 0, maxMs: 0 });
          c.n++;
          c.maxMs = Math.max(c.maxMs, ms);
        }
      };
    },
  });
  const app = new Hono<SessionEnv<{ count: number }>>();
  app.get("/__stats", (c) => {
    const out = calls;
    calls = {};
    return c.json(out);
  });
  app.post("/__sweep", async (c) => {
    const start = performance.now();
    let batches = 0;
    let longest = 0;
    const removed = await store.deleteExpired(Date.now(), (_n, ms) => {
      batches++;
      longest = Math.max(longest, ms);
    });
    return c.json({
      removed,
      batches,
      ms: performance.now() - start,
      longestBatchMs: longest,
    });
  });
  // refreshThreshold 600: a session is touched only in its last 10 minutes, so during a run /read is the
  // contract's read-only route (with the default, every session read after a minute writes a touch).
  app.use(
    session({
      secret: SECRET,
      store: timed,
      expires: 3600,
      refreshThreshold: 600,
    }),
  );
  app.get("/read", (c) => c.text(String(c.get("session").get("count") ?? 0)));
  app.get(
    "/inc",
    (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))),
  );
  const bun = (globalThis as {
    Bun?: { serve(o: object): { port: number; stop(): void } };
  }).Bun;
  if (bun === undefined) {
    throw new Error("Cannot serve: run bench/sweep.ts with bun");
  }
  const server = bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: app.fetch,
    idleTimeout: 0,
  });
  process.on("SIGTERM", () => {
    server.stop();
    store.close();
    process.exit(0);
  });
  console.log(`listening on ${server.port}`);
}

// ---------------------------------------------------------------- load

/**
 * Fixed-rate GET /read with random tokens until SIGTERM; then writes
 * (due time, latency) pairs as Float64 to --out. With --warm: each token
 * once, 32 at a time, then exit.
 */
async function load(): Promise<void> {
  const tokens = readFileSync(opts.db!, "utf8").trim().split("\n");
  const url = `http://127.0.0.1:${opts.port}/read`;
  const get = async (token: string) => {
    const res = await fetch(url, { headers: { cookie: `sid=${token}` } });
    const body = await res.text();
    if (res.status !== 200 || body !== "0") {
      throw new Error(`GET /read answered ${res.status} ${body}`);
    }
  };
  if (opts.warm) {
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < tokens.length) await get(tokens[next++]!);
    }));
    return;
  }
  const rate = Number(opts.rate);
  const samples: number[] = [];
  let errors = 0;
  const origin = performance.timeOrigin;
  const t0 = performance.now();
  let sent = 0;
  let stop = false;
  process.on("SIGTERM", () => (stop = true));
  while (!stop) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) {
      const dueAt = t0 + (sent / rate) * 1000;
      const token = tokens[(Math.random() * tokens.length) | 0]!;
      get(token).then(
        () => samples.push(origin + dueAt, performance.now() - dueAt),
        () => errors++,
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 200)); // answers in flight
  writeFileSync(opts.out!, new Uint8Array(new Float64Array(samples).buffer));
  writeFileSync(`${opts.out}.errors`, String(errors));
  process.exit(0);
}

// ---------------------------------------------------------------- layout

/** WITHOUT ROWID (the store's table) against a rowid table with a UNIQUE id index. */
async function layout(): Promise<void> {
  const { openSqlite } = await import("../src/store/sqlite/driver.ts");
  const { encodeBase64url: base64url } = await import(
    "../src/_internal/base64url.ts"
  );
  const n = Number(opts.rows === "1000000" ? 400_000 : opts.rows);
  const payload = await payloadFor(0);
  const bytes = new Uint8Array(n * 24);
  for (let i = 0; i < bytes.length; i += 65_536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  }
  const ids = Array.from(
    { length: n },
    (_, i) => base64url(bytes.subarray(i * 24, i * 24 + 24)),
  );
  const now = Date.now();
  const dir = opts.dir!;
  mkdirSync(dir, { recursive: true });
  console.log(
    `| table | insert ${
      n.toLocaleString("en-US")
    } | 100,000 random reads | sweep of the older half | per row | median / longest batch (1000) |`,
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const kind of ["WITHOUT ROWID", "rowid + UNIQUE(id)"]) {
    const path = join(dir, "layout.sqlite");
    removeDb(path);
    const db = openSqlite(path);
    db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 268435456;",
    );
    const cols = "payload TEXT NOT NULL, expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL, user_id TEXT";
    db.exec(
      kind === "WITHOUT ROWID"
        ? `CREATE TABLE t (id TEXT PRIMARY KEY, ${cols}) WITHOUT ROWID; CREATE INDEX t_e ON t (expires_at);`
        : `CREATE TABLE t (id TEXT NOT NULL UNIQUE, ${cols}); CREATE INDEX t_e ON t (expires_at);`,
    );
    const insert = db.prepare(
      "INSERT INTO t (id, payload, expires_at, created_at) VALUES (?, ?, ?, ?)",
    );
    let t = performance.now();
    db.exec("BEGIN");
    // Created over the last two hours, in order; each lives one hour: the older half has expired.
    for (let i = 0; i < n; i++) {
      const created = Math.round(now - 2 * HOUR + (i * 2 * HOUR) / n);
      insert.run(ids[i]!, payload, created + HOUR, created);
    }
    db.exec("COMMIT");
    const build = performance.now() - t;
    const get = db.prepare("SELECT payload FROM t WHERE id = ?");
    t = performance.now();
    for (let i = 0; i < 100_000; i++) get.get(ids[(i * 7919) % n]!);
    const reads = performance.now() - t;
    const sweep = db.prepare(
      "DELETE FROM t WHERE id IN (SELECT id FROM t WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
    );
    const times: number[] = [];
    let removed = 0;
    t = performance.now();
    for (;;) {
      const start = performance.now();
      const c = sweep.run(now, 1000).changes;
      times.push(performance.now() - start);
      removed += c;
      if (c < 1000) break;
    }
    const swept = performance.now() - t;
    times.sort((a, b) => a - b);
    db.close();
    removeDb(path);
    const ms = (x: number) => `${Math.round(x).toLocaleString("en-US")} ms`;
    console.log(
      `| ${kind} | ${ms(build)} | ${ms(reads)} | ${ms(swept)} (${removed.toLocaleString("en-US")} rows) | ${
        ((swept * 1000) / removed).toFixed(1)
      } µs | ` +
        `${times[times.length >> 1]!.toFixed(1)} / ${times.at(-1)!.toFixed(1)} ms |`,
    );
  }
}

// ---------------------------------------------------------------- orchestration

function bunBin(): string {
  const local = join(ROOT, "node_modules", ".bin", "bun");
  return existsSync(local) ? local : "bun";
}

const mode = positionals[0] ?? "run";

/** Children still running, killed if this process ends early. */
const running = new Set<ChildProcess>();

function startChild(args: string[], quiet = false): ChildProcess {
  const child = spawn(bunBin(), args, {
    cwd: ROOT,
    stdio: ["ignore", quiet ? "ignore" : "pipe", "inherit"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once("exit", (code) => r(code)));
}

async function outputOf(child: ChildProcess): Promise<string> {
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  const code = await exited(child);
  if (code !== 0) throw new Error(`child exited ${code}: ${out}`);
  return out;
}

function removeDb(path: string): void {
  for (const s of ["", "-wal", "-shm"]) rmSync(path + s, { force: true });
}

/** The session payload of the bench contract's /login, serialized as the middleware does. */
async function payloadFor(i: number): Promise<string> {
  const { superjsonSerializer } = await import("../src/serializer.ts");
  return superjsonSerializer.stringify({
    d: { user: `u${i.toString(36)}`, count: 0, profile: "x".repeat(400) },
  });
}

/** Builds the base file: `rows` expired sessions (expired over the last hour) and `rows` live ones, ids random, interleaved. */
async function buildBase(
  path: string,
  rows: number,
  tokenCount: number,
  tokensFile: string,
): Promise<void> {
  const { SqliteStore } = await import("../mod.ts");
  const { encodeBase64url: base64url } = await import(
    "../src/_internal/base64url.ts"
  );
  const { Signer } = await import("../src/crypto/sign.ts");
  removeDb(path);
  const store = new SqliteStore({ path });
  const now = Date.now();
  const total = rows * 2;
  // Random 24-byte ids, sorted before insertion so the B-tree fills in order (fast seeding).
  const bytes = new Uint8Array(total * 24);
  for (let i = 0; i < bytes.length; i += 65_536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  }
  const ids = Array.from(
    { length: total },
    (_, i) => base64url(bytes.subarray(i * 24, i * 24 + 24)),
  );
  const sorted = ids.map((id, i) => [id, i] as const).sort((
    a,
    b,
  ) => (a[0] < b[0] ? -1 : 1));
  const payload = await payloadFor(0);
  const CHUNK = 50_000;
  for (let start = 0; start < total; start += CHUNK) {
    const chunk: [
      string,
      { payload: string; expiresAt: number; createdAt: number },
    ][] = [];
    for (const [id, i] of sorted.slice(start, start + CHUNK)) {
      // Even original index: expired during the last hour; odd: live for 40 to 70 more minutes.
      const expiresAt = i % 2 === 0
        ? now - Math.floor(Math.random() * HOUR) - 1
        : now + 40 * 60_000 + Math.floor(Math.random() * 30 * 60_000);
      chunk.push([id, { payload, expiresAt, createdAt: expiresAt - HOUR }]);
    }
    store.setMany(chunk);
  }
  store.close();
  const signer = new Signer(SECRET);
  const tokens: string[] = [];
  for (
    let i = 1;
    tokens.length < tokenCount;
    i += 2 * Math.max(1, Math.floor(rows / tokenCount))
  ) {
    tokens.push(await signer.sign(ids[i]!));
  }
  writeFileSync(tokensFile, tokens.join("\n") + "\n");
}

interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

function summarize(file: string, from: number, to: number): Latency {
  const raw = new Float64Array(readFileSync(file).buffer.slice(0));
  const errors = Number(readFileSync(`${file}.errors`, "utf8"));
  const lat: number[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]! >= from && raw[i]! <= to) lat.push(raw[i + 1]!);
  }
  lat.sort((a, b) => a - b);
  const q = (
    p: number,
  ) => (lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)]!);
  return {
    n: lat.length,
    p50: q(0.5),
    p99: q(0.99),
    max: lat.at(-1) ?? NaN,
    errors,
  };
}

async function startServer(
  db: string,
  batch: number,
): Promise<{ port: number; child: ChildProcess }> {
  const child = startChild([
    SELF,
    "serve",
    "--db",
    db,
    "--batch",
    String(batch),
  ]);
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  return { port, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null) child.kill("SIGTERM");
  await exited(child);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs fixed-rate load while `during` runs; returns the latency of requests due inside the window `during` reports. */
async function measure(
  port: number,
  tokensFile: string,
  samples: string,
  during: () => Promise<[number, number]>,
): Promise<Latency & { storeCalls: unknown }> {
  // Each token once: warms the caches (no writes: the sessions have 40+ minutes left, over the threshold).
  await outputOf(
    startChild([
      SELF,
      "load",
      "--warm",
      "--db",
      tokensFile,
      "--port",
      String(port),
    ]),
  );
  const loader = startChild([
    SELF,
    "load",
    "--db",
    tokensFile,
    "--port",
    String(port),
    "--rate",
    opts.rate!,
    "--out",
    samples,
  ], true);
  await sleep(1000); // the load settles
  await fetch(`http://127.0.0.1:${port}/__stats`);
  const [from, to] = await during();
  const storeCalls = await (await fetch(`http://127.0.0.1:${port}/__stats`))
    .json();
  await stopChild(loader);
  return { ...summarize(samples, from, to), storeCalls };
}

async function orchestrate(): Promise<void> {
  const rows = Number(opts.rows);
  const seconds = Number(opts.seconds);
  const dir = opts.dir!;
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `base-${rows}.sqlite`);
  const work = join(dir, "work.sqlite");
  const tokensFile = join(dir, `tokens-${rows}.txt`);
  const samples = join(dir, "samples.f64");
  const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

  // Live sessions expire 40 to 70 minutes after the build: a base older than 10 minutes is rebuilt,
  // so no live session expires during a run (tokens' sessions are touched by each warm-up anyway).
  if (
    !existsSync(base) || !existsSync(tokensFile) ||
    Date.now() - statSync(base).mtimeMs > 10 * 60_000
  ) {
    log(`building ${base}: ${rows} expired + ${rows} live sessions`);
    const t = performance.now();
    await buildBase(base, rows, Number(opts.tokens), tokensFile);
    log(
      `built in ${((performance.now() - t) / 1000).toFixed(1)} s, ${(statSync(base).size / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  const fresh = () => {
    removeDb(work);
    copyFileSync(base, work);
  };
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
    loadavgAtStart: loadavg().map((n) => n.toFixed(2)).join(" "),
    rows,
    rate: Number(opts.rate),
  };

  // 1. The sweep alone, as its own process (cron), per batch size.
  const alone: Record<string, unknown>[] = [];
  for (const batch of opts.batches!.split(",").filter(Boolean).map(Number)) {
    fresh();
    const out = await outputOf(
      startChild([
        join(ROOT, "src", "store", "sqlite", "cli.ts"),
        "sweep",
        "--db",
        work,
        "--batch",
        String(batch),
        "--json",
      ]),
    );
    const r = JSON.parse(out);
    alone.push({
      batch,
      removed: r.removed,
      seconds: r.ms / 1000,
      rowsPerSecond: r.rowsPerSecond,
      longestBatchMs: r.longestBatchMs,
      batches: r.batches,
    });
    log(
      `sweep alone, batch ${batch}: ${r.removed} rows in ${
        (r.ms / 1000).toFixed(2)
      } s, longest batch ${r.longestBatchMs} ms`,
    );
  }
  results.alone = alone;

  // 2. /read latency: no sweep, then during a sweep in another process, then during an in-process sweep.
  const latency: Record<string, unknown>[] = [];
  for (
    const batch of opts["latency-batches"]!.split(",").filter(Boolean).map(
      Number,
    )
  ) {
    fresh();
    let { port, child } = await startServer(work, batch);
    const none = await measure(port, tokensFile, samples, async () => {
      const from = Date.now();
      await sleep(seconds * 1000);
      return [from, Date.now()];
    });
    log(
      `batch ${batch}: /read without sweep p50 ${none.p50.toFixed(2)} ms p99 ${
        none.p99.toFixed(2)
      } ms (${none.n} requests, ${none.errors} errors) store ${JSON.stringify(none.storeCalls)}`,
    );
    let cliResult:
      | { ms: number; longestBatchMs: number; removed: number }
      | undefined;
    const cross = await measure(port, tokensFile, samples, async () => {
      const from = Date.now();
      cliResult = JSON.parse(
        await outputOf(
          startChild([
            join(ROOT, "src", "store", "sqlite", "cli.ts"),
            "sweep",
            "--db",
            work,
            "--batch",
            String(batch),
            "--json",
          ]),
        ),
      );
      return [from, Date.now()];
    });
    log(
      `batch ${batch}: /read during satchel sweep (other process, ${(cliResult!.ms / 1000).toFixed(1)} s) p50 ${
        cross.p50.toFixed(2)
      } ms p99 ${cross.p99.toFixed(2)} ms (${cross.errors} errors) store ${JSON.stringify(cross.storeCalls)}`,
    );
    await stopChild(child);

    fresh();
    ({ port, child } = await startServer(work, batch));
    let inResult:
      | { ms: number; longestBatchMs: number; removed: number }
      | undefined;
    const inproc = await measure(port, tokensFile, samples, async () => {
      const from = Date.now();
      inResult = await (await fetch(`http://127.0.0.1:${port}/__sweep`, {
        method: "POST",
      })).json();
      return [from, Date.now()];
    });
    log(
      `batch ${batch}: /read during in-process sweep (${(inResult!.ms / 1000).toFixed(1)} s) p50 ${
        inproc.p50.toFixed(2)
      } ms p99 ${inproc.p99.toFixed(2)} ms (${inproc.errors} errors) store ${JSON.stringify(inproc.storeCalls)}`,
    );
    await stopChild(child);
    latency.push({
      batch,
      none,
      cross: { ...cross, sweep: cliResult },
      inProcess: { ...inproc, sweep: inResult },
    });
  }
  results.latency = latency;
  results.loadavgAtEnd = loadavg().map((n) => n.toFixed(2)).join(" ");
  removeDb(work);

  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(
    /\.\d+/,
    "",
  );
  mkdirSync(join(HERE, "results"), { recursive: true });
  const file = join(HERE, "results", `sweep-${stamp}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));

  const f = (n: number, d = 2) => n.toFixed(d);
  console.log(
    `\n## Sweep alone (${rows.toLocaleString("en-US")} expired among ${
      (2 * rows).toLocaleString("en-US")
    }; satchel sweep as its own process)\n`,
  );
  console.log(
    "| batch | total | rows/s | longest batch |\n|---:|---:|---:|---:|",
  );
  for (
    const a of alone as {
      batch: number;
      seconds: number;
      rowsPerSecond: number;
      longestBatchMs: number;
    }[]
  ) {
    console.log(
      `| ${a.batch} | ${f(a.seconds)} s | ${a.rowsPerSecond.toLocaleString("en-US")} | ${f(a.longestBatchMs)} ms |`,
    );
  }
  console.log(
    `\n## GET /read at ${opts.rate} req/s (open loop): latency without and during a sweep\n`,
  );
  console.log(
    "| batch | where the sweep runs | sweep total | longest batch | /read p50 | /read p99 | /read max | p99 vs no sweep |\n|---:|---|---:|---:|---:|---:|---:|---:|",
  );
  for (
    const l of latency as {
      batch: number;
      none: Latency;
      cross: Latency & { sweep: { ms: number; longestBatchMs: number } };
      inProcess: Latency & { sweep: { ms: number; longestBatchMs: number } };
    }[]
  ) {
    console.log(
      `| ${l.batch} | no sweep | | | ${f(l.none.p50)} ms | ${f(l.none.p99)} ms | ${f(l.none.max)} ms | 1.00 |`,
    );
    for (
      const [where, r] of [["other process (satchel sweep)", l.cross], [
        "in the server process",
        l.inProcess,
      ]] as const
    ) {
      console.log(
        `| ${l.batch} | ${where} | ${f(r.sweep.ms / 1000)} s | ${f(r.sweep.longestBatchMs)} ms | ${f(r.p50)} ms | ${
          f(r.p99)
        } ms | ${f(r.max)} ms | ${f(r.p99 / l.none.p99)} |`,
      );
    }
  }
  console.log(
    `\nraw: ${file}; load average at start ${results.loadavgAtStart}, at end ${results.loadavgAtEnd}`,
  );
}

process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (mode === "run") process.exit(130);
  });
}

if (mode === "serve") await serve();
else if (mode === "layout") await layout();
else if (mode === "load") await load();
else await orchestrate();
