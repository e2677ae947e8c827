/**
 * SqliteStore against the raw driver doing the same SQL (bun:sqlite on Bun,
 * node:sqlite on Deno), measured with mitata in one process; then the table
 * layout question of DESIGN.md: `WITHOUT ROWID` against a rowid table.
 *
 *   bun bench/store.ts               deno run -A bench/store.ts
 *   ROUNDS=3 ROWS=10000 SCHEMA_ROWS=100000 bun bench/store.ts
 *   bun bench/store.ts --write       (also puts the tables into bench/RESULTS.md)
 *
 * Every benchmark runs ROUNDS times, raw and store alternating, and the
 * fastest average of each is kept: on a shared machine the least disturbed
 * round is the closest to the truth, and both sides get the same chances.
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { bench, run } from "mitata";
import { SqliteStore } from "../mod.ts";
import type { StoredSession } from "../src/store/contract.ts";
import { generateId } from "../src/id.ts";
import { superjsonSerializer } from "../src/serializer.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ROWS = Number(process.env.ROWS ?? 10_000);
const SCHEMA_ROWS = Number(process.env.SCHEMA_ROWS ?? 100_000);
const SWEEP_ROWS = 10_000;
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const runtime = isBun
  ? `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `Deno ${
    (globalThis as unknown as { Deno: { version: { deno: string } } }).Deno
      .version.deno
  }`;
const driverName = isBun ? "bun:sqlite" : "node:sqlite";

// ---- the raw driver, without Satchel's adapter --------------------------------
interface RawStatement {
  get(...p: unknown[]): unknown;
  run(...p: unknown[]): { changes: number | bigint };
}
interface RawDb {
  exec(sql: string): void;
  prepare(sql: string): RawStatement;
  close(): void;
}
const sqliteModule = isBun ? await import("bun:sqlite" as string) : await import("node:sqlite" as string);
function openRaw(path: string): RawDb {
  return isBun ? new sqliteModule.Database(path, { create: true }) : new sqliteModule.DatabaseSync(path);
}

const dir = mkdtempSync(join(tmpdir(), "satchel-bench-store-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** What /login stores: a user, a count and a 400-character profile (about 470 bytes). */
function payload(count: number): string {
  return superjsonSerializer.stringify({
    d: {
      user: "u" + count.toString(36).padStart(8, "0"),
      count,
      profile: "x".repeat(400),
    },
  });
}
const PAYLOAD = payload(0);

/** Random ids, as Satchel makes them: they land anywhere in the primary key's B-tree. */
const newId = () => generateId();

const COLS = "payload, expires_at, created_at, user_id";
function createTable(db: RawDb, t: string, withoutRowid: boolean): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${t} (
    id TEXT PRIMARY KEY, payload TEXT NOT NULL, expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL, user_id TEXT
  )${withoutRowid ? " WITHOUT ROWID" : ""};
  CREATE INDEX IF NOT EXISTS ${t}_expires_at ON ${t} (expires_at);
  CREATE INDEX IF NOT EXISTS ${t}_user_id ON ${t} (user_id) WHERE user_id IS NOT NULL;`);
}
function pragmas(db: RawDb): void {
  db.exec(
    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 268435456",
  );
}

/** The statements SqliteStore prepares, on a raw connection. */
function rawStatements(db: RawDb, t: string) {
  return {
    get: db.prepare(`SELECT ${COLS} FROM ${t} WHERE id = ?`),
    getLive: db.prepare(
      `SELECT ${COLS} FROM ${t} WHERE id = ? AND expires_at > ?`,
    ),
    upsert: db.prepare(
      `INSERT INTO ${t} (id, payload, expires_at, created_at, user_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at,
         created_at = excluded.created_at, user_id = excluded.user_id`,
    ),
    touch: db.prepare(
      `UPDATE ${t} SET expires_at = ? WHERE id = ? AND expires_at > ?`,
    ),
    sweep: db.prepare(
      `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    ),
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
  };
}
type Raw = ReturnType<typeof rawStatements>;

function fill(s: Raw, ids: string[], expiresAt: number): void {
  s.begin.run();
  for (const id of ids) s.upsert.run(id, PAYLOAD, expiresAt, Date.now(), null);
  s.commit.run();
}

/** Runs the named benchmarks ROUNDS times; returns the fastest average of each, in ns. */
async function measure(
  cases: [string, () => unknown][],
): Promise<Map<string, number>> {
  const best = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of cases) bench(name, fn);
    const { benchmarks } = await run({ format: "quiet", throw: true });
    for (const b of benchmarks) {
      const avg = b.runs[0]!.stats!.avg;
      best.set(b.alias, Math.min(best.get(b.alias) ?? Infinity, avg));
    }
  }
  return best;
}

const us = (ns: number) => (ns / 1000).toFixed(2);
const pct = (x: number) => `${Math.round(x * 100)}%`;

// ---- SqliteStore vs raw -----------------------------------------------------
async function storeVsRaw(): Promise<string> {
  const now = Date.now();
  const live = now + 3_600_000;
  const store = new SqliteStore({ path: join(dir, "store.sqlite") });
  const rawDb = openRaw(join(dir, "raw.sqlite"));
  pragmas(rawDb);
  createTable(rawDb, "satchel_sessions", true);
  const raw = rawStatements(rawDb, "satchel_sessions");
  const ids = Array.from({ length: ROWS }, newId);
  store.setMany(
    ids.map((
      id,
    ) => [id, { payload: PAYLOAD, expiresAt: live, createdAt: now }]),
  );
  fill(raw, ids, live);

  let i = 0;
  const next = () => ids[i = (i + 7919) % ids.length]!;
  const updated = payload(1);
  const fn = (cur: StoredSession | null): StoredSession | null =>
    cur && { ...cur, payload: updated, expiresAt: Date.now() + 3_600_000 };

  const best = await measure([
    ["raw get", () => {
      const row = raw.get.get(next()) as { expires_at: number } | undefined;
      return row !== undefined && row.expires_at > Date.now() ? row : null;
    }],
    ["store get", () => store.get(next())],
    [
      "raw set",
      () => raw.upsert.run(next(), PAYLOAD, Date.now() + 3_600_000, now, null),
    ],
    [
      "store set",
      () =>
        store.set(next(), {
          payload: PAYLOAD,
          expiresAt: Date.now() + 3_600_000,
          createdAt: now,
        }),
    ],
    ["raw update", () => {
      const id = next();
      raw.begin.run();
      const row = raw.getLive.get(id, Date.now()) as
        | { created_at: number }
        | undefined;
      if (row !== undefined) {
        raw.upsert.run(
          id,
          updated,
          Date.now() + 3_600_000,
          row.created_at,
          null,
        );
      }
      raw.commit.run();
    }],
    ["store update", () => store.update(next(), fn)],
    [
      "raw touch",
      () => raw.touch.run(Date.now() + 3_600_000, next(), Date.now()),
    ],
    ["store touch", () => store.touch(next(), Date.now() + 3_600_000)],
  ]);

  // deleteExpired: sweep SWEEP_ROWS expired rows (among ROWS live ones), timed by hand.
  const sweepTimes = { raw: Infinity, store: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    const expired = Array.from({ length: SWEEP_ROWS }, newId);
    fill(raw, expired, now - 1000);
    let t = performance.now();
    for (;;) if (Number(raw.sweep.run(Date.now(), 1000).changes) < 1000) break;
    sweepTimes.raw = Math.min(sweepTimes.raw, performance.now() - t);
    store.setMany(
      expired.map((
        id,
      ) => [id, {
        payload: PAYLOAD,
        expiresAt: now - 1000,
        createdAt: now - 2000,
      }]),
    );
    t = performance.now();
    const removed = await store.deleteExpired();
    sweepTimes.store = Math.min(sweepTimes.store, performance.now() - t);
    if (removed !== SWEEP_ROWS) {
      throw new Error(
        `deleteExpired removed ${removed}, expected ${SWEEP_ROWS}`,
      );
    }
  }
  store.close();
  rawDb.close();

  const rows = ["get", "set", "update", "touch"].map((op) => {
    const r = best.get(`raw ${op}`)!, s = best.get(`store ${op}`)!;
    return `| ${op} | ${us(r)} | ${us(s)} | ${pct(r / s)} |`;
  });
  rows.push(
    `| deleteExpired (${SWEEP_ROWS.toLocaleString("en-US")} expired rows, batches of 1000) | ${
      (sweepTimes.raw * 1000).toFixed(0)
    } | ${(sweepTimes.store * 1000).toFixed(0)} | ${pct(sweepTimes.raw / sweepTimes.store)} |`,
  );
  return [
    `SqliteStore vs raw ${driverName} on ${runtime} (${
      ROWS.toLocaleString("en-US")
    } sessions of ${PAYLOAD.length} bytes; µs per call, best of ${ROUNDS} rounds):`,
    "",
    "| operation | raw driver, same SQL (µs) | SqliteStore (µs) | store speed vs raw |",
    "|---|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

// ---- WITHOUT ROWID vs rowid ---------------------------------------------------
/** CPU time (user + system) and wall time per call of `fn`, in µs. */
function timed(
  n: number,
  fn: (k: number) => void,
): { cpu: number; wall: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < n; k++) fn(k);
  const c = process.cpuUsage(c0);
  return {
    cpu: (c.user + c.system) / n,
    wall: (performance.now() - t0) * 1000 / n,
  };
}

async function schema(): Promise<string> {
  const now = Date.now();
  const live = now + 3_600_000;
  const tables = [
    { name: "without_rowid", label: "WITHOUT ROWID", withoutRowid: true },
    {
      name: "rowid",
      label: "rowid table (SqliteStore's)",
      withoutRowid: false,
    },
  ];
  const best = new Map<string, { cpu: number; wall: number }>();
  const keep = (key: string, t: { cpu: number; wall: number }) => {
    const b = best.get(key);
    best.set(key, {
      cpu: Math.min(b?.cpu ?? Infinity, t.cpu),
      wall: Math.min(b?.wall ?? Infinity, t.wall),
    });
  };
  const sizes = new Map<string, number>();
  const updated = payload(1);
  // Fresh files each round, the two layouts alternating: both meet the same machine load.
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of tables) {
      const path = join(dir, `schema-${t.name}-${round}.sqlite`);
      const db = openRaw(path);
      pragmas(db);
      createTable(db, "s", t.withoutRowid);
      const st = rawStatements(db, "s");
      const ids = Array.from({ length: SCHEMA_ROWS }, newId);
      keep(
        `${t.name} load`,
        timed(1, () => {
          for (let k = 0; k < ids.length; k += 10_000) {
            fill(st, ids.slice(k, k + 10_000), live);
          }
        }),
      );
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      sizes.set(t.name, statSync(path).size);
      const at = (k: number) => ids[(k * 7919) % ids.length]!;
      keep(`${t.name} get`, timed(20_000, (k) => st.get.get(at(k))));
      keep(
        `${t.name} update`,
        timed(5_000, (k) => {
          const id = at(k);
          st.begin.run();
          const row = st.getLive.get(id, Date.now()) as
            | { created_at: number }
            | undefined;
          if (row !== undefined) {
            st.upsert.run(id, updated, live, row.created_at, null);
          }
          st.commit.run();
        }),
      );
      keep(
        `${t.name} insert`,
        timed(5_000, () => st.upsert.run(newId(), PAYLOAD, live, now, null)),
      );
      db.close();
      for (const suffix of ["", "-wal", "-shm"]) {
        rmSync(path + suffix, { force: true });
      }
    }
  }
  const cell = (key: string) => {
    const b = best.get(key)!;
    return `${b.cpu.toFixed(1)} <sub>(${b.wall.toFixed(1)})</sub>`;
  };
  const rows = tables.map((t) =>
    `| ${t.label} | ${cell(`${t.name} get`)} | ${cell(`${t.name} update`)} | ${cell(`${t.name} insert`)} | ${
      (best.get(`${t.name} load`)!.wall / SCHEMA_ROWS).toFixed(1)
    } | ${(sizes.get(t.name)! / 1024 / 1024).toFixed(1)} MB |`
  );
  return [
    `Table layout on ${runtime}, raw ${driverName}, ${
      SCHEMA_ROWS.toLocaleString("en-US")
    } sessions of ${PAYLOAD.length} bytes with random ids;`,
    `CPU µs per call (wall µs in brackets), best of ${ROUNDS} rounds:`,
    "",
    "| layout | get by id | update (BEGIN IMMEDIATE, SELECT, UPSERT, COMMIT; expiry kept) | insert (autocommit) | bulk load, µs per row | file size |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

const here = dirname(fileURLToPath(import.meta.url));
const a = await storeVsRaw();
console.log(a + "\n");
const b = await schema();
console.log(b);
if (process.argv.includes("--write")) {
  const md = join(here, "RESULTS.md");
  const name = isBun ? "store-bun" : "store-deno";
  const doc = readFileSync(md, "utf8");
  const start = `<!-- ${name}:start -->`, end = `<!-- ${name}:end -->`;
  const from = doc.indexOf(start), to = doc.indexOf(end);
  if (from === -1 || to === -1) {
    throw new Error(
      `Cannot update RESULTS.md: markers ${start} … ${end} are missing`,
    );
  }
  const stamp = `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, load average ${
    readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  }.`;
  writeFileSync(
    md,
    doc.slice(0, from + start.length) + `\n${stamp}\n\n${a}\n\n${b}\n` +
      doc.slice(to),
  );
  console.log(`\nwrote ${md}`);
}
