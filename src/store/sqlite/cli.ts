/**
 * `satchel sweep|stats|clear FILE`: maintenance of a {@linkcode SqliteStore} file
 * from the command line, on Node 24+, Bun and Deno. It never creates a
 * database; a file it cannot use exits 1, bad usage exits 2.
 *
 * @example
 * ```sh
 * npx satchel stats ./sessions.sqlite
 * deno run --allow-read --allow-write jsr:@satchel/satchel/cli sweep ./sessions.sqlite
 * ```
 * @module
 */
import { describeError } from "../../_internal/errors.ts";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { SqliteStore } from "../sqlite.ts";
import { openSqlite, type SqliteDriver } from "./driver.ts";
import { APPLICATION_ID, DEFAULT_TABLE, RESERVED_TABLES } from "./schema.ts";
import { tableNameProblem } from "../kit/options.ts";

const USAGE = `Usage: satchel <command> FILE [options]

Maintenance of a Satchel session database (SQLite). Never creates a file.

Commands:
  sweep   Delete expired sessions in short batches; safe while the app runs.
  stats   Live and expired sessions, oldest and newest, payload sizes,
          database and WAL size. Read-only.
  clear   End every session (every user must sign in again). Asks first on
          a terminal; elsewhere it needs --yes.

Options:
  --db FILE      The database file, if not given after the command.
  --table NAME   The sessions table. Default: ${DEFAULT_TABLE}
  --batch N      sweep: rows deleted per transaction. Default: 100
  --yes          clear: do not ask for confirmation.
  --json         Print one JSON object instead of text.
  -h, --help     Show this help.

Exit status: 0 done, 1 the file cannot be used (missing, unreadable, not
Satchel's) or clear was not confirmed, 2 bad usage.

Only SqliteStore files. RedisStore and Deno KV expire sessions themselves:
there is nothing to sweep. To end every session of another store, call its
deleteAll() (docs/stores.md#ending-every-session).

Examples:
  satchel sweep /var/lib/app/sessions.sqlite
  satchel stats --json /var/lib/app/sessions.sqlite
  satchel clear --yes /var/lib/app/sessions.sqlite
`;

const SQLITE_HEADER = "SQLite format 3\0";
const REQUIRED_COLUMNS = ["id", "payload", "expires_at", "created_at"];

/** A refusal the user can act on: printed as is, exit status `code`. */
class CliError extends Error {
  code: number;
  constructor(message: string, code = 1) {
    super(message);
    this.code = code;
  }
}

/** Where {@linkcode main} prints. */
export interface CliIo {
  /** Writes to standard output. */
  out: (s: string) => void;
  /** Writes to standard error. */
  err: (s: string) => void;
  /** True when stdout is a terminal: progress is shown only then. */
  tty: boolean;
  /**
   * Asks a question on the terminal and resolves with the answer; absent
   * when there is no terminal to ask on (then `clear` needs `--yes`).
   */
  ask?: (question: string) => Promise<string>;
}

/** One question on the terminal, answered by one line. */
async function askTerminal(question: string): Promise<string> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

const defaultIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  tty: process.stdout.isTTY === true,
  ask: process.stdin.isTTY === true ? askTerminal : undefined,
};

const int = (n: number) => Math.round(n).toLocaleString("en-US");

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(2)} s`;
  const s = Math.round(ms / 1000);
  if (s < 7200) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

function scalar(db: SqliteDriver, sql: string, ...params: (string | number)[]): unknown {
  const row = db.prepare(sql).get(...params);
  return row === undefined ? undefined : Object.values(row)[0];
}

/**
 * Refuses anything but an existing, readable (and for `sweep` writable)
 * SQLite file marked as Satchel's that holds the sessions table. Opens
 * nothing for writing and creates nothing.
 */
function checkDatabase(action: string, path: string, table: string, write: boolean): void {
  const what = `Cannot ${action} ${path}`;
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new CliError(`${what}: it is a directory; give the database file itself`);
    if (!st.isFile()) throw new CliError(`${what}: it is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new CliError(`${what}: no such file; check the path (satchel never creates a database)`);
    }
    if (code === "EACCES") throw new CliError(`${what}: permission denied; run as the user that owns the file`);
    throw new CliError(`${what}: ${(e as Error).message}`);
  }
  const header = new Uint8Array(16);
  let fd: number;
  try {
    fd = openSync(path, write ? "r+" : "r");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "EACCES" || code === "EPERM") {
      throw new CliError(
        `${what}: permission denied ${
          write ? "reading and writing" : "reading"
        } it; run as the user that owns the file`,
      );
    }
    throw new CliError(`${what}: it cannot be opened (${(e as Error).message})`);
  }
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (size === 0) throw new CliError(`${what}: the file is empty, not a Satchel database`);
  if (new TextDecoder().decode(header) !== SQLITE_HEADER) {
    throw new CliError(`${what}: not an SQLite database (the file does not start with the SQLite header)`);
  }
  let db: SqliteDriver;
  try {
    db = openReadonly(path);
  } catch (e) {
    throw new CliError(`${what}: SQLite cannot open it (${(e as Error).message})`);
  }
  try {
    let appId: number;
    try {
      appId = Number(scalar(db, "PRAGMA application_id"));
    } catch (e) {
      throw new CliError(`${what}: SQLite cannot read it (${(e as Error).message})`);
    }
    if (appId !== APPLICATION_ID) {
      const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
      throw new CliError(
        `${what}: not a Satchel database (PRAGMA application_id is ${hex(appId)}, Satchel's is ${
          hex(APPLICATION_ID)
        }); check the path`,
      );
    }
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all().map((r) =>
      String(r.name)
    );
    if (!tables.includes(table)) {
      throw new CliError(
        `${what}: it has no table "${table}" (tables: ${tables.join(", ") || "none"}); pass --table NAME`,
      );
    }
    const columns = db.prepare(`PRAGMA table_info(${table})`).all().map((r) => String(r.name));
    const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      throw new CliError(`${what}: table "${table}" is not a Satchel sessions table (no column ${missing.join(", ")})`);
    }
  } finally {
    db.close();
  }
}

interface SweepResult {
  file: string;
  table: string;
  removed: number;
  batches: number;
  batchSize: number;
  ms: number;
  rowsPerSecond: number;
  longestBatchMs: number;
}

async function sweep(path: string, table: string, batch: number, json: boolean, io: CliIo): Promise<void> {
  checkDatabase("sweep", path, table, true);
  let store: SqliteStore;
  try {
    store = new SqliteStore({ path, table, sweepBatchSize: batch });
  } catch (e) {
    throw new CliError(`Cannot sweep ${path}: ${(e as Error).message}`);
  }
  const progress = io.tty && !json;
  let batches = 0;
  let rows = 0;
  let longest = 0;
  let shown = 0;
  const start = performance.now();
  const line = () => {
    const s = (performance.now() - start) / 1000;
    return `sweeping: ${int(batches)} batches, ${int(rows)} rows, ${int(s > 0 ? rows / s : 0)} rows/s`;
  };
  try {
    await store.deleteExpired(Date.now(), (removed, ms) => {
      batches++;
      rows += removed;
      if (ms > longest) longest = ms;
      if (progress && performance.now() - shown > 100) {
        shown = performance.now();
        io.out(`\r\x1b[2K${line()}`);
      }
    });
  } catch (e) {
    throw new CliError(`Cannot sweep ${path}: ${(e as Error).message}`);
  } finally {
    store.close();
  }
  const ms = performance.now() - start;
  if (progress && shown > 0) io.out("\r\x1b[2K");
  const result: SweepResult = {
    file: path,
    table,
    removed: rows,
    batches,
    batchSize: batch,
    ms: Math.round(ms * 10) / 10,
    rowsPerSecond: Math.round(rows / (ms / 1000)),
    longestBatchMs: Math.round(longest * 100) / 100,
  };
  if (json) return io.out(`${JSON.stringify(result)}\n`);
  io.out(
    `swept ${int(rows)} expired session${rows === 1 ? "" : "s"} from ${path} in ${duration(ms)} ` +
      `(${int(batches)} batch${batches === 1 ? "" : "es"} of up to ${int(batch)}, ${
        int(result.rowsPerSecond)
      } rows/s, ` +
      `longest batch ${duration(longest)})\n`,
  );
}

/** What `satchel clear --json` prints. */
interface ClearResult {
  file: string;
  table: string;
  /** Live sessions ended (expired rows are removed too, uncounted). */
  ended: number;
}

/**
 * Ends every session: after a "yes" on the terminal, or with `--yes`.
 * Without a terminal and without `--yes` it refuses, ending nothing.
 */
async function clear(path: string, table: string, yes: boolean, json: boolean, io: CliIo): Promise<void> {
  checkDatabase("clear", path, table, true);
  if (!yes) {
    if (io.ask === undefined) {
      throw new CliError(
        `Cannot clear ${path}: it ends every session, and there is no terminal to ask for confirmation on; ` +
          "pass --yes to confirm",
        2,
      );
    }
    const { live } = collectStats(path, table, Date.now());
    const answer = await io.ask(
      `End all ${int(live)} live session${live === 1 ? "" : "s"} in ${path} (table ${table})? ` +
        'Every user will have to sign in again. Type "yes" to confirm: ',
    );
    if (answer.trim().toLowerCase() !== "yes") {
      throw new CliError(`Did not clear ${path}: not confirmed; nothing ended`);
    }
  }
  let store: SqliteStore;
  try {
    store = new SqliteStore({ path, table });
  } catch (e) {
    throw new CliError(`Cannot clear ${path}: ${(e as Error).message}`);
  }
  let ended: number;
  try {
    ended = store.deleteAll();
  } catch (e) {
    throw new CliError(`Cannot clear ${path}: ${(e as Error).message}`);
  } finally {
    store.close();
  }
  const result: ClearResult = { file: path, table, ended };
  if (json) return io.out(`${JSON.stringify(result)}\n`);
  io.out(`ended ${int(ended)} session${ended === 1 ? "" : "s"} in ${path}; every user must sign in again\n`);
}

/** Statistics of a session table, as `satchel stats --json` prints them. */
export interface Stats {
  /** The database file, as given. */
  file: string;
  /** The sessions table. */
  table: string;
  /** The time the counts refer to (ISO 8601). */
  now: string;
  /** Sessions not yet expired. */
  live: number;
  /** Expired rows still in the table: what `satchel sweep` would delete. */
  expired: number;
  /** Creation time of the oldest live session (ISO 8601), or null. */
  oldest: string | null;
  /** Creation time of the newest live session (ISO 8601), or null. */
  newest: string | null;
  /** UTF-8 size of the live sessions' payloads. */
  payloadBytes: { total: number; p50: number | null; p99: number | null };
  /** Size of the database file. */
  databaseBytes: number;
  /** Size of its `-wal` file (0 when there is none). */
  walBytes: number;
}

/**
 * A read-only connection that waits up to 5 s for a lock, as the store does:
 * a worker closing its connection checkpoints under an exclusive lock, and a
 * reader arriving in that instant got "database is locked" (seen once in CI).
 */
function openReadonly(path: string): SqliteDriver {
  const db = openSqlite(path, { readonly: true });
  db.exec("PRAGMA busy_timeout = 5000");
  return db;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function collectStats(path: string, table: string, now: number): Stats {
  checkDatabase("read", path, table, false);
  const db = openReadonly(path);
  try {
    const t = table;
    const live = Number(scalar(db, `SELECT count(*) FROM ${t} WHERE expires_at > ?`, now));
    const expired = Number(scalar(db, `SELECT count(*) FROM ${t} WHERE expires_at <= ?`, now));
    const span = db.prepare(`SELECT min(created_at) AS lo, max(created_at) AS hi FROM ${t} WHERE expires_at > ?`).get(
      now,
    );
    // One scan: a histogram of payload sizes, from which total and percentiles follow.
    const hist = db.prepare(
      `SELECT length(CAST(payload AS BLOB)) AS n, count(*) AS c FROM ${t} WHERE expires_at > ? GROUP BY n ORDER BY n`,
    ).all(now).map((r) => [Number(r.n), Number(r.c)] as const);
    let total = 0;
    for (const [n, c] of hist) total += n * c;
    const rank = (q: number): number | null => {
      if (live === 0) return null;
      const target = Math.ceil(q * live);
      let seen = 0;
      for (const [n, c] of hist) {
        seen += c;
        if (seen >= target) return n;
      }
      return hist.at(-1)?.[0] ?? null;
    };
    const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
    return {
      file: path,
      table,
      now: new Date(now).toISOString(),
      live,
      expired,
      oldest: iso(span?.lo),
      newest: iso(span?.hi),
      payloadBytes: { total, p50: rank(0.5), p99: rank(0.99) },
      databaseBytes: fileSize(path),
      walBytes: fileSize(`${path}-wal`),
    };
  } finally {
    db.close();
  }
}

function printStats(s: Stats, now: number, io: CliIo): void {
  const ago = (iso: string | null) => (iso === null ? "none" : `${iso} (${duration(now - Date.parse(iso))} ago)`);
  const p = s.payloadBytes;
  const rows: [string, string][] = [
    ["live sessions", int(s.live)],
    ["expired, not swept", int(s.expired) + (s.expired > 0 ? `  (satchel sweep ${s.file} removes them)` : "")],
    ["oldest live session", ago(s.oldest)],
    ["newest live session", ago(s.newest)],
    ["payload bytes", s.live === 0 ? "none" : `total ${bytes(p.total)}, p50 ${bytes(p.p50!)}, p99 ${bytes(p.p99!)}`],
    ["database file", bytes(s.databaseBytes)],
    ["WAL file", bytes(s.walBytes)],
  ];
  io.out(`${s.file} (table ${s.table}) at ${s.now}\n`);
  for (const [k, v] of rows) io.out(`  ${k.padEnd(20)} ${v}\n`);
}

/**
 * Runs the CLI with `argv` (without the runtime and script) and resolves to
 * the exit status. Prints through `io` (stdout, stderr by default).
 * @param argv The arguments, e.g. `["stats", "./sessions.sqlite", "--json"]`.
 * @param io Where to print.
 * @returns 0 done, 1 the file cannot be used, 2 bad usage.
 */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  if (io === defaultIo) {
    // `satchel stats f | head -3`: a reader that left is not an error.
    process.stdout.on("error", (e: { code?: string }) => {
      if (e.code === "EPIPE") process.exit(0);
      throw e;
    });
  }
  const usageError = (message: string) => {
    io.err(`satchel: ${message}\n\n${USAGE}`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        db: { type: "string" },
        table: { type: "string" },
        batch: { type: "string" },
        json: { type: "boolean" },
        yes: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return usageError((e as Error).message.split("\n")[0]!);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === "help") {
    io.out(USAGE);
    return 0;
  }
  if (command === undefined) return usageError("no command given");
  if (command !== "sweep" && command !== "stats" && command !== "clear") {
    return usageError(`unknown command "${command}"`);
  }
  if (positionals.length > 2) return usageError(`unexpected argument "${positionals[2]}"`);
  if (positionals[1] !== undefined && values.db !== undefined) {
    return usageError("give the database file once, as an argument or with --db");
  }
  const file = positionals[1] ?? values.db;
  if (file === undefined || file === "") return usageError(`${command} needs the database FILE`);
  const table = values.table ?? DEFAULT_TABLE;
  const tableProblem = tableNameProblem(table, RESERVED_TABLES);
  if (tableProblem !== undefined) return usageError(`--table ${tableProblem}: received ${JSON.stringify(table)}`);
  if (values.yes && command !== "clear") return usageError("--yes is an option of clear");
  let batch = 100;
  if (values.batch !== undefined) {
    if (command !== "sweep") return usageError("--batch is an option of sweep");
    batch = Number(values.batch);
    if (!/^[0-9]+$/.test(values.batch) || !Number.isSafeInteger(batch) || batch < 1 || batch > 1_000_000) {
      return usageError(`--batch must be an integer from 1 to 1000000: received ${JSON.stringify(values.batch)}`);
    }
  }
  try {
    if (command === "sweep") {
      await sweep(file, table, batch, values.json === true, io);
    } else if (command === "clear") {
      await clear(file, table, values.yes === true, values.json === true, io);
    } else {
      const now = Date.now();
      const stats = collectStats(file, table, now);
      if (values.json) io.out(`${JSON.stringify(stats)}\n`);
      else printStats(stats, now, io);
    }
    return 0;
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`satchel: ${e.message}\n`);
      return e.code;
    }
    io.err(`satchel: Cannot ${command} ${file}: ${describeError(e)}\n`);
    return 1;
  }
}

// Run as a program (node/bun/deno cli.ts, deno run jsr:…/cli); no top-level await, so require() of the module works.
if ((import.meta as ImportMeta & { main?: boolean }).main) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
