/**
 * Sessions in Cloudflare D1: SQLite at the edge, reached from a Worker
 * through its binding (`env.DB`). The same layout as SqliteStore (the expiry
 * in its own indexed column, a partial index on the user), plus a `version`
 * column: D1 has no interactive transactions, so `update` is a
 * compare-and-set on it.
 *
 * The table is created on first use (`CREATE … IF NOT EXISTS`, once per
 * store instance); to manage it with `wrangler d1 migrations` instead, put
 * {@linkcode D1Store.schema} in a migration (examples/workers-d1/migrations/).
 * @module
 */
import type { Clock } from "../clock.ts";
import { messageOf } from "../_internal/errors.ts";
import {
  checkTableName,
  checkTime,
  checkTimes,
  clockOption,
  CONFLICT,
  type Diagnose,
  firstVersion,
  guard,
  LoadedReads,
  maxPayloadBytesOption,
  maxUpdateRetriesOption,
  oldestFirst,
  OpenFlag,
  OptimisticWriter,
  payloadBytes,
  readOptions,
  required,
  tableOption,
  withMethods,
} from "./kit/mod.ts";
import type {
  DeleteAll,
  DeleteByUser,
  DeleteExpired,
  SessionStore,
  StoredSession,
  Touch,
  UpdateFn,
  UserSessionEntry,
  UserSessionListing,
} from "./types.ts";

/** What D1 says about a statement that ran (the part of `D1Result` the store reads). */
export interface D1ResultLike<T = Record<string, unknown>> {
  /** The rows, for a statement that returns some. */
  results?: T[];
  /** `changes`: how many rows the statement inserted, updated or deleted. */
  meta: { changes?: number };
}

/** The part of `D1PreparedStatement` the store uses. */
export interface D1PreparedStatementLike {
  /** The statement with its `?N` parameters bound. */
  bind(...values: unknown[]): D1PreparedStatementLike;
  /** The first row, or `null`. */
  first<T = Record<string, unknown>>(): Promise<T | null>;
  /** Run it; `meta.changes` says how many rows changed. */
  run<T = Record<string, unknown>>(): Promise<D1ResultLike<T>>;
  /** Every row. */
  all<T = Record<string, unknown>>(): Promise<D1ResultLike<T>>;
}

/** The part of `D1Database` the store uses; a Worker's D1 binding (`env.DB`) is one. */
export interface D1DatabaseLike {
  /** A statement to bind and run. */
  prepare(query: string): D1PreparedStatementLike;
  /** Run statements in one transaction: all of them or none. */
  batch<T = unknown>(statements: D1PreparedStatementLike[]): Promise<D1ResultLike<T>[]>;
}

/** Options of {@linkcode D1Store}. */
export interface D1StoreOptions {
  /** The D1 binding, e.g. `c.env.DB`. */
  db: D1DatabaseLike;
  /**
   * Table name: a letter or `_`, then letters, digits or `_`, at most 63 characters; not starting with
   * `sqlite_` or `_cf_`. @default "satchel_sessions"
   */
  table?: string;
  /**
   * Largest payload accepted, in UTF-8 bytes. D1 holds rows of up to 2 MB;
   * the rest is kept for the other columns. @default 1048576 (1 MiB)
   */
  maxPayloadBytes?: number;
  /** How many times `update` re-reads after another writer changed the session first. @default 50 */
  maxUpdateRetries?: number;
  /** Time source for expiry checks. @default Date.now */
  clock?: Clock;
}

/** The most `maxPayloadBytes` can be: D1's 2 MB row limit less room for the other columns. */
const MAX_PAYLOAD = 1_900_000;
/** Rows deleted per statement by deleteExpired: D1 bounds how long one statement may run. */
const SWEEP_BATCH = 500;
/** Table-name prefixes D1 keeps for itself. */
const RESERVED = ["sqlite", "_cf"];
const DEFAULT_TABLE = "satchel_sessions";

const SPEC = {
  db: required<D1DatabaseLike>(
    "{ db: env.DB }, the Worker's D1 binding",
    withMethods(["prepare", "batch"], "a D1 binding (env.DB in a Worker, or miniflare's getD1Database())"),
  ),
  table: tableOption(DEFAULT_TABLE, RESERVED),
  maxPayloadBytes: maxPayloadBytesOption(undefined, MAX_PAYLOAD),
  maxUpdateRetries: maxUpdateRetriesOption,
  clock: clockOption,
};

const diagnose: Diagnose = (cause) => {
  const message = messageOf(cause);
  const full = /SQLITE_FULL|database or disk is full|maximum (DB|database) size/i.test(message);
  return { why: full ? `the D1 database is full (${message})` : `D1 failed (${message})`, full };
};

/** A row as SELECT returns it. */
interface Row {
  payload: string;
  expires_at: number;
  created_at: number;
  user_id: string | null;
  version: number;
}

function toStored(row: Row): StoredSession {
  return { payload: row.payload, expiresAt: row.expires_at, createdAt: row.created_at, userId: row.user_id };
}

/**
 * A {@linkcode SessionStore} in Cloudflare D1.
 *
 * - Atomicity: every statement is atomic on D1's single primary. `update`
 *   reads the row with its `version`, then writes with
 *   `UPDATE … WHERE id = ? AND version = ?` (or, for a new session,
 *   `INSERT … ON CONFLICT DO NOTHING`) and re-reads when no row changed, up
 *   to `maxUpdateRetries` times with jittered backoff. Updates of one id from
 *   one store instance are queued, so contention only comes from other
 *   isolates.
 * - Expiry: `expires_at` is checked on every read; `touch` writes only it
 *   (and the version); {@linkcode D1Store.deleteExpired} deletes in batches.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { session } from "satchel";
 * import { D1Store } from "satchel/d1";
 * const app = new Hono<{ Bindings: { DB: D1Database; SECRET: string } }>();
 * let mw: ReturnType<typeof session> | undefined;
 * app.use((c, next) => (mw ??= session({ secret: c.env.SECRET, store: new D1Store({ db: c.env.DB }) }))(c, next));
 * ```
 */
export class D1Store implements SessionStore, Touch, DeleteExpired, DeleteByUser, DeleteAll, UserSessionListing {
  /** Largest payload accepted, in UTF-8 bytes. */
  readonly maxPayloadBytes: number;
  /** The table sessions live in. */
  readonly table: string;
  #db: D1DatabaseLike;
  #clock: Clock;
  #writer: OptimisticWriter;
  /** The rows behind what `get` returned, so the `update` of a loaded session skips its own SELECT. */
  #loaded: LoadedReads<{ live: StoredSession; row: Row }>;
  #ready: Promise<void> | undefined;
  #open = new OpenFlag("D1Store");

  /**
   * The statements that create the table and its indexes, each
   * `IF NOT EXISTS`: what the store runs on first use, and what a
   * `wrangler d1 migrations` file should hold when you manage the schema.
   * @throws {TypeError} on a table name that is not a plain identifier.
   */
  static schema(table: string = DEFAULT_TABLE): string[] {
    checkTableName("D1Store", table, RESERVED);
    return [
      `CREATE TABLE IF NOT EXISTS ${table} (
  id TEXT PRIMARY KEY NOT NULL,
  payload TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  user_id TEXT,
  version INTEGER NOT NULL DEFAULT 1
)`,
      `CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at)`,
      `CREATE INDEX IF NOT EXISTS ${table}_user_id ON ${table} (user_id) WHERE user_id IS NOT NULL`,
    ];
  }

  /**
   * A store over `options.db`; nothing is sent to D1 until first use.
   * @throws {TypeError} when `db` is missing, the table name is not a plain identifier, or an option is unknown.
   * @throws {RangeError} on a number option out of range.
   */
  constructor(options: D1StoreOptions) {
    const o = readOptions("D1Store", options, SPEC);
    this.#db = o.db;
    this.table = o.table;
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.#writer = new OptimisticWriter(o.maxUpdateRetries, "isolates");
    this.#clock = o.clock;
    this.#loaded = new LoadedReads(o.clock);
  }

  /** Create the table once per instance; a failed attempt is retried by the next call. */
  #ensureTable(): Promise<void> {
    this.#ready ??= this.#db.batch(D1Store.schema(this.table).map((sql) => this.#db.prepare(sql))).then(
      () => {},
      (cause) => {
        this.#ready = undefined;
        throw cause;
      },
    );
    return this.#ready;
  }

  /** One statement (after the table exists); D1's errors become the store's typed errors. */
  #run<T>(action: string, op: () => Promise<T>): Promise<T> {
    this.#open.check();
    return guard(action, diagnose, async () => {
      await this.#ensureTable();
      return await op();
    });
  }

  #sql(query: string, ...values: unknown[]): D1PreparedStatementLike {
    return this.#db.prepare(query.replaceAll("$t", this.table)).bind(...values);
  }

  async #changes(action: string, query: string, ...values: unknown[]): Promise<number> {
    const result = await this.#run(action, () => this.#sql(query, ...values).run());
    return result.meta.changes ?? 0;
  }

  /** Refuse, before anything is sent, a session no row can hold: times out of range or too large a payload. */
  #checkWrite(action: string, s: StoredSession): void {
    checkTimes(action, s);
    payloadBytes(s.payload, this.maxPayloadBytes);
  }

  /** The live session with this id, or `null`. */
  async get(id: string): Promise<StoredSession | null> {
    const row = await this.#run(
      "load",
      () =>
        this.#sql(
          "SELECT payload, expires_at, created_at, user_id, version FROM $t WHERE id = ?1 AND expires_at > ?2",
          id,
          this.#clock(),
        ).first<Row>(),
    );
    return row === null ? null : this.#loaded.hand(id, { live: toStored(row), row });
  }

  /** Insert or replace the session (one upsert). */
  async set(id: string, session: StoredSession): Promise<void> {
    this.#checkWrite("store", session);
    await this.#changes(
      "store",
      `INSERT INTO $t (id, payload, expires_at, created_at, user_id, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at,
         created_at = excluded.created_at, user_id = excluded.user_id, version = $t.version + 1`,
      id,
      session.payload,
      session.expiresAt,
      session.createdAt,
      session.userId ?? null,
      firstVersion(),
    );
  }

  /** Remove the session; a missing id is not an error. */
  async delete(id: string): Promise<void> {
    await this.#changes("delete", "DELETE FROM $t WHERE id = ?1", id);
  }

  /** Move a live session's expiry: one UPDATE of `expires_at` (and the version), never the payload. */
  async touch(id: string, expiresAt: number): Promise<void> {
    checkTime("touch", "expiresAt", expiresAt);
    await this.#changes(
      "touch",
      "UPDATE $t SET expires_at = ?1, version = version + 1 WHERE id = ?2 AND expires_at > ?3",
      expiresAt,
      id,
      this.#clock(),
    );
  }

  /** Atomic read-modify-write: a compare-and-set on `version`, retried when another writer came first. */
  update(id: string, fn: UpdateFn, loaded?: StoredSession): Promise<StoredSession | null> {
    const read = () =>
      this.#run(
        "update",
        () =>
          this.#sql("SELECT payload, expires_at, created_at, user_id, version FROM $t WHERE id = ?1", id).first<Row>(),
      );
    return this.#writer.run(id, {
      action: "update",
      // The session the request loaded (what get returned): its row stands in for a SELECT, one statement, not two.
      first: () => this.#loaded.recall(id, loaded)?.row,
      read,
      write: async (row) => {
        const live = row !== null && row.expires_at > this.#clock() ? toStored(row) : null;
        const next = fn(live); // may run again on a retry: the contract says it is pure
        if (next !== null) this.#checkWrite("update", next);
        return await this.#compareAndSet(id, row, next) ? next : CONFLICT;
      },
    });
  }

  /** Write `next` (`null` deletes) only if the row is still the one read (`row`, `null` for none); true when it was. */
  async #compareAndSet(id: string, row: Row | null, next: StoredSession | null): Promise<boolean> {
    if (next === null) {
      if (row === null) return true;
      return (await this.#changes("update", "DELETE FROM $t WHERE id = ?1 AND version = ?2", id, row.version)) === 1;
    }
    const values = [next.payload, next.expiresAt, next.createdAt, next.userId ?? null];
    if (row === null) {
      const sql =
        "INSERT INTO $t (id, payload, expires_at, created_at, user_id, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6) " +
        "ON CONFLICT (id) DO NOTHING";
      return (await this.#changes("update", sql, id, ...values, firstVersion())) === 1;
    }
    const sql = `UPDATE $t SET payload = ?1, expires_at = ?2, created_at = ?3, user_id = ?4, version = version + 1
       WHERE id = ?5 AND version = ?6`;
    return (await this.#changes("update", sql, ...values, id, row.version)) === 1;
  }

  /**
   * Delete sessions whose expiry is at or before `now`, 500 rows per
   * statement, so no statement runs long.
   * @returns How many sessions were deleted.
   */
  async deleteExpired(now: number = this.#clock()): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.#changes(
        "sweep",
        "DELETE FROM $t WHERE id IN (SELECT id FROM $t WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
        now,
        SWEEP_BATCH,
      );
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  /** End every session bound to `userId` (one indexed DELETE). @returns How many sessions were deleted. */
  deleteByUser(userId: string): Promise<number> {
    return this.#changes("delete", "DELETE FROM $t WHERE user_id = ?1", userId);
  }

  /** The live sessions bound to `userId`, oldest first. */
  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    const result = await this.#run("list", () =>
      this.#sql(
        "SELECT id, payload, expires_at, created_at, user_id FROM $t WHERE user_id = ?1 AND expires_at > ?2",
        userId,
        this.#clock(),
      ).all<Row & { id: string }>());
    return oldestFirst((result.results ?? []).map((row) => ({ id: row.id, session: toStored(row) })));
  }

  /**
   * End every session: one batch (one transaction) that counts the live rows and deletes every row.
   * @returns How many live sessions it ended.
   */
  async deleteAll(): Promise<number> {
    const [counted] = await this.#run("delete", () =>
      this.#db.batch<{ n: number }>([
        this.#sql("SELECT count(*) AS n FROM $t WHERE expires_at > ?1", this.#clock()),
        this.#sql("DELETE FROM $t"),
      ]));
    return Number(counted?.results?.[0]?.n ?? 0);
  }

  /** Stops the store: later calls throw {@linkcode StoreUnavailableError}. The binding is the runtime's. */
  close(): void {
    this.#open.close();
  }
}
