/**
 * `satchel sweep|stats --url postgres://…` (or with DATABASE_URL): the
 * Postgres side of the `satchel` command. It connects with the driver it
 * finds (Bun's SQL on Bun, else postgres.js, else pg), never creates the
 * table, and closes its connection when done. src/store/sqlite/cli.ts
 * parses the arguments and hands Postgres runs to {@linkcode postgresCommand}.
 * @module
 */
import { describeError } from "../../_internal/errors.ts";
import { PostgresStore } from "../postgres.ts";
import { toQueryable } from "./driver.ts";
import { parseTableName } from "./schema.ts";

/** Where the command prints (the same shape as the SQLite CLI's). */
interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Asks on the terminal; absent without one (then `clear` needs `yes`). */
  ask?: (question: string) => Promise<string>;
}

/** What the SQLite CLI parsed, for a Postgres run. */
export interface PostgresCommand {
  command: "sweep" | "stats" | "clear";
  /** The connection string, from --url or DATABASE_URL. */
  url: string;
  table: string;
  /** Rows per DELETE for sweep. */
  batch: number;
  json: boolean;
  /** clear: confirmed on the command line (`--yes`). */
  yes?: boolean;
}

/** A refusal the user can act on: printed as is, exit status 1. */
class Refusal extends Error {
  code: number;
  constructor(message: string, code = 1) {
    super(message);
    this.code = code;
  }
}

/** A connected client and how to close it. */
interface Connection {
  client: object;
  driver: string;
  close(): Promise<void>;
}

/** A URL for messages: the password, if any, is never printed. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(not a URL)";
  }
}

type Runtime = {
  Bun?: { SQL: new (url: string, o: object) => object & { close(): Promise<void> } };
  process?: { getBuiltinModule?: (id: string) => unknown };
};
const runtime = globalThis as Runtime;

/**
 * A driver installed next to the app, or null. Through `createRequire`, not
 * `import()`: a bare specifier in `import()` would make the package depend on
 * it (and `deno publish` warns about an import it cannot analyze).
 */
function requireOptional(name: string): Record<string, unknown> | null {
  const mod = runtime.process?.getBuiltinModule?.("node:module") as typeof import("node:module") | undefined;
  try {
    return mod?.createRequire(import.meta.url)(name) ?? null;
  } catch {
    return null;
  }
}

/** Connects with Bun's SQL, postgres.js or pg, whichever this runtime has first. */
async function connectUrl(url: string): Promise<Connection> {
  if (runtime.Bun !== undefined) {
    const sql = new runtime.Bun.SQL(url, { max: 1, connectionTimeout: 10 });
    return { client: sql, driver: "Bun SQL", close: () => sql.close() };
  }
  const pjs = requireOptional("postgres");
  if (pjs !== null) {
    const postgres = (pjs.default ?? pjs) as (url: string, o: object) => object & { end(o: object): Promise<void> };
    const sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
    return { client: sql, driver: "postgres.js", close: () => sql.end({ timeout: 5 }) };
  }
  const pg = requireOptional("pg");
  if (pg !== null) {
    const { Client } = (pg.default ?? pg) as {
      Client: new (o: object) => object & { connect(): Promise<void>; end(): Promise<void> };
    };
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    await client.connect();
    return { client, driver: "pg", close: () => client.end() };
  }
  throw new Refusal("no PostgreSQL driver found: install one next to your app (npm install postgres, or pg)");
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** Statistics of a Postgres session table, as `satchel stats --url … --json` prints them. */
export interface PostgresStats {
  /** The server, password hidden. */
  url: string;
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
  /** Size of the live sessions' payloads in UTF-8 bytes, before TOAST compression (what `maxPayloadBytes` counts). */
  payloadBytes: { total: number; p50: number | null; p99: number | null };
  /** The table with its indexes and TOAST (`pg_total_relation_size`). */
  tableBytes: number;
  /** The driver the command used. */
  driver: string;
}

async function stats(c: Connection, cmd: PostgresCommand, now: number): Promise<PostgresStats> {
  const db = toQueryable(c.client)!.db;
  const t = parseTableName("read the table", cmd.table).sql;
  const [row] = await db.query(
    `SELECT count(*) FILTER (WHERE expires_at > $1)::float8 AS live,
       count(*) FILTER (WHERE expires_at <= $1)::float8 AS expired,
       min(created_at) FILTER (WHERE expires_at > $1)::float8 AS oldest,
       max(created_at) FILTER (WHERE expires_at > $1)::float8 AS newest,
       coalesce(sum(octet_length(payload)) FILTER (WHERE expires_at > $1), 0)::float8 AS total,
       (percentile_disc(0.5) WITHIN GROUP (ORDER BY octet_length(payload)) FILTER (WHERE expires_at > $1))::float8 AS p50,
       (percentile_disc(0.99) WITHIN GROUP (ORDER BY octet_length(payload)) FILTER (WHERE expires_at > $1))::float8 AS p99,
       pg_total_relation_size(to_regclass($2))::float8 AS size
     FROM ${t}`,
    [String(now), t],
  );
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());
  return {
    url: redact(cmd.url),
    table: cmd.table,
    now: new Date(now).toISOString(),
    live: Number(row?.live ?? 0),
    expired: Number(row?.expired ?? 0),
    oldest: iso(row?.oldest),
    newest: iso(row?.newest),
    payloadBytes: { total: Number(row?.total ?? 0), p50: n(row?.p50), p99: n(row?.p99) },
    tableBytes: Number(row?.size ?? 0),
    driver: c.driver,
  };
}

/** Ends every session: after a "yes" on the terminal, or with `yes`; without either it ends nothing. */
async function clear(c: Connection, store: PostgresStore, cmd: PostgresCommand, io: Io): Promise<number> {
  if (!cmd.yes) {
    if (io.ask === undefined) {
      throw new Refusal("it ends every session, and there is no terminal to ask for confirmation on; pass --yes", 2);
    }
    const { live } = await stats(c, cmd, Date.now());
    const answer = await io.ask(
      `End all ${int(live)} live session${live === 1 ? "" : "s"} in ${cmd.table} at ${redact(cmd.url)}? ` +
        'Every user will have to sign in again. Type "yes" to confirm: ',
    );
    if (answer.trim().toLowerCase() !== "yes") throw new Refusal("not confirmed; nothing ended");
  }
  const ended = await store.deleteAll();
  if (cmd.json) io.out(`${JSON.stringify({ url: redact(cmd.url), table: cmd.table, ended })}\n`);
  else io.out(`ended ${int(ended)} session${ended === 1 ? "" : "s"} in ${cmd.table}; every user must sign in again\n`);
  return 0;
}

/**
 * Runs `sweep`, `stats` or `clear` against PostgreSQL and resolves to the exit
 * status: 0 done, 1 the server or table cannot be used.
 */
export async function postgresCommand(cmd: PostgresCommand, io: Io): Promise<number> {
  const what = `Cannot ${cmd.command} ${cmd.table} at ${redact(cmd.url)}`;
  let c: Connection | undefined;
  try {
    c = await connectUrl(cmd.url);
    const store = new PostgresStore({
      client: c.client,
      table: cmd.table,
      createTable: false,
      sweepBatchSize: cmd.batch,
      commandTimeout: 60_000,
    });
    await store.ready(); // never creates: a missing or foreign table is refused here
    const now = Date.now();
    if (cmd.command === "clear") return await clear(c, store, cmd, io);
    if (cmd.command === "stats") {
      const s = await stats(c, cmd, now);
      if (cmd.json) return io.out(`${JSON.stringify(s)}\n`), 0;
      const p = s.payloadBytes;
      io.out(`${s.url} (table ${s.table}, ${s.driver}) at ${s.now}\n`);
      for (
        const [k, v] of [
          ["live sessions", int(s.live)],
          ["expired, not swept", int(s.expired) + (s.expired > 0 ? "  (satchel sweep --url … removes them)" : "")],
          ["oldest live session", s.oldest ?? "none"],
          ["newest live session", s.newest ?? "none"],
          [
            "payload bytes",
            s.live === 0 ? "none" : `total ${bytes(p.total)}, p50 ${bytes(p.p50!)}, p99 ${bytes(p.p99!)}`,
          ],
          ["table and indexes", bytes(s.tableBytes)],
        ]
      ) io.out(`  ${k!.padEnd(20)} ${v}\n`);
      return 0;
    }
    let batches = 0;
    let longest = 0;
    const started = performance.now();
    const removed = await store.deleteExpired(now, (_n, ms) => {
      batches++;
      longest = Math.max(longest, ms);
    });
    const ms = performance.now() - started;
    const result = {
      url: redact(cmd.url),
      table: cmd.table,
      removed,
      batches,
      batchSize: cmd.batch,
      ms: Math.round(ms * 10) / 10,
      longestBatchMs: Math.round(longest * 100) / 100,
    };
    if (cmd.json) io.out(`${JSON.stringify(result)}\n`);
    else {
      io.out(
        `swept ${int(removed)} expired session${removed === 1 ? "" : "s"} from ${cmd.table} in ${Math.round(ms)} ms (${
          int(batches)
        } batch${batches === 1 ? "" : "es"} of up to ${int(cmd.batch)}, longest ${Math.round(longest)} ms)\n`,
      );
    }
    return 0;
  } catch (e) {
    const message = (e instanceof Refusal ? e.message : (e as Error).message ?? describeError(e))
      .replace(/^Cannot \w+ (PostgresStore|session): /, "")
      // The CLI never creates the table (createTable is the app's option): point at its own flag instead.
      .replace(/, or leave createTable on$/, "; if the app uses another table, pass --table NAME");
    io.err(`satchel: ${what}: ${message}\n`);
    return e instanceof Refusal ? e.code : 1;
  } finally {
    await c?.close().catch(() => {});
  }
}
