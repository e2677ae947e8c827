/**
 * Sessions in PostgreSQL, shared by every process and machine that reaches
 * the same database; bring your own client (postgres.js, `pg`, Bun's `SQL`).
 * The layout of SqliteStore and D1Store (the expiry in its own indexed
 * column, a partial index on the user) plus a `version` column: `update` is a
 * compare-and-set on it, so no statement holds a lock across a round trip and
 * the store works through PgBouncer in transaction mode. Why this mechanism:
 * bench/RESULTS.md#postgresstore-issue-21.
 *
 * The table is created on first use (`CREATE … IF NOT EXISTS`); teams that
 * run migrations themselves use docs/postgres-schema.sql and `createTable: false`.
 * @module
 */
import { messageOf } from "../_internal/errors.ts";
import type { Clock } from "../clock.ts";
import {
  checkTime,
  checkTimes,
  clockOption,
  closedError,
  CONFLICT,
  DeadlineWatch,
  type Diagnose,
  firstVersion,
  integer,
  LoadedReads,
  maxPayloadBytesOption,
  maxUpdateRetriesOption,
  must,
  oldestFirst,
  OpenFlag,
  OptimisticWriter,
  option,
  payloadBytes,
  readOptions,
  required,
  storeError,
  withinMs,
} from "./kit/mod.ts";
import { type PgClientLike, type PgQueryable, type PgRow, toQueryable } from "./postgres/driver.ts";
import {
  COLUMNS,
  DEFAULT_TABLE,
  parseTableName,
  SCHEMA_MARK,
  schemaStatements,
  type TableName,
} from "./postgres/schema.ts";
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

export type { PgClientLike, PgQueryable, PgRow } from "./postgres/driver.ts";

/** Options of {@linkcode PostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A client: postgres.js's `sql` (`postgres(url)`), Bun's `SQL` instance or
   * `sql`, a `pg` `Pool` or `Client` (connected), `@neondatabase/serverless`'s
   * `Pool`, or any {@linkcode PgQueryable}. The store never closes it: it is yours.
   */
  client: PgClientLike;
  /** The sessions table, `name` or `schema.name` (plain identifiers, quoted in SQL). @default "satchel_sessions" */
  table?: string;
  /**
   * Create the table and its indexes on first use when missing. Turn off when
   * migrations create it (docs/postgres-schema.sql); the store then only
   * checks that it exists and has Satchel's layout.
   * @default true
   */
  createTable?: boolean;
  /**
   * How long one store call may take, in ms, before it fails with
   * {@linkcode StoreUnavailableError}: its wait for a pooled connection, its
   * statements, and its wait behind other updates of the same session in
   * this process. A write that timed out may still be applied: its outcome
   * is unknown.
   * @default 5000
   */
  commandTimeout?: number;
  /** How many times `update` re-reads after another writer changed the session first. @default 50 */
  maxUpdateRetries?: number;
  /** Rows deleted per statement by {@linkcode PostgresStore.deleteExpired}: short statements, short locks. @default 500 */
  sweepBatchSize?: number;
  /** Largest payload accepted, in UTF-8 bytes. @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /** Time source for expiry checks. @default Date.now */
  clock?: Clock;
}

const SPEC = {
  client: required<PgClientLike>(
    "{ client: postgres(url) }, a PostgreSQL client you connected",
    (what, name, value) => {
      if (toQueryable(value) !== null) return;
      const got = value === null ? "null" : typeof value === "string" ? "a string" : typeof value;
      throw new TypeError(
        `Cannot create ${what}: ${name} must be a PostgreSQL client: postgres.js's sql (postgres(url)), ` +
          `a pg Pool or Client, Bun's SQL, or an object with query(text, params): received ${got}` +
          (typeof value === "string" ? " (to use a URL, pass postgres(url) or new pg.Pool({ connectionString }))" : ""),
      );
    },
  ),
  table: option<string>(DEFAULT_TABLE, (what, _name, value) => void parseTableName(`create ${what}`, value)),
  createTable: option<boolean>(true, must("true or false", (v) => typeof v === "boolean")),
  commandTimeout: option<number>(5000, integer({ min: 1 })),
  maxUpdateRetries: maxUpdateRetriesOption,
  sweepBatchSize: option<number>(500, integer({ min: 1, max: 1_000_000 })),
  maxPayloadBytes: maxPayloadBytesOption(),
  clock: clockOption,
};

/** Other libraries' names for these options (connect-pg-simple's first). */
const HINTS = {
  sql: "use client",
  pool: "use client",
  db: "use client",
  tableName: "use table",
  schemaName: 'use table: "schema.name"',
  createTableIfMissing: "use createTable",
  pruneSessionInterval: "run store.deleteExpired() on a timer, or `satchel sweep --url` from cron",
  conString: "connect a client yourself and pass it as client",
  conObject: "connect a client yourself and pass it as client",
};

/** A row as SELECT returns it: bigints arrive as strings (pg, postgres.js) or numbers/bigints (Bun). */
interface Row {
  payload: string;
  expires_at: unknown;
  created_at: unknown;
  user_id: string | null;
  version: unknown;
}

/** One read of a session row: its live value and the version a compare-and-set expects. */
interface Read {
  live: StoredSession | null;
  /** The row's version, or null when there is no row (expired rows have one). */
  version: string | null;
}

class CommandTimeout extends Error {
  override name = "CommandTimeout";
}

/** Five characters with a digit: a SQLSTATE ("57014", "XX000"), not a socket error code ("EPIPE"). */
const SQLSTATE = /^(?=.*\d)[0-9A-Z]{5}$/;

/** The SQLSTATE of a driver error, if it has one (pg, postgres.js and Neon put it in `code`, Bun's SQL in `errno`). */
function sqlState(e: unknown): string | undefined {
  const o = e as { code?: unknown; errno?: unknown } | null;
  for (const v of [o?.errno, o?.code]) if (typeof v === "string" && SQLSTATE.test(v)) return v;
  return undefined;
}

function toStored(row: Row): StoredSession {
  return {
    payload: row.payload,
    expiresAt: Number(row.expires_at),
    createdAt: Number(row.created_at),
    userId: row.user_id ?? null,
  };
}

/** A millisecond time as a bigint parameter: an integer, as text (every driver binds it alike). */
function ms(n: number): string {
  return String(Math.trunc(n));
}

/**
 * A {@linkcode SessionStore} in PostgreSQL (13 or later; tested on 15).
 *
 * - Atomicity: `update` reads the row with its `version`, then writes with
 *   `UPDATE … WHERE id = $1 AND version = $2` (a new session:
 *   `INSERT … ON CONFLICT DO NOTHING`, a delete: `DELETE … AND version = $2`),
 *   re-reading when no row changed, up to `maxUpdateRetries` times with
 *   jittered backoff. Updates of one id from one store instance are queued;
 *   the read behind the session a `get` returned, handed back to `update`
 *   (as the middleware does), stands in for the first read, so a request
 *   that loads and then changes its session makes two statements.
 * - Expiry: `expires_at` is checked on every read; `touch` writes only it
 *   (and the version); {@linkcode PostgresStore.deleteExpired} deletes in
 *   batches (`sweepBatchSize`) through the expiry index with `FOR UPDATE SKIP LOCKED`,
 *   so several servers sweeping at once neither wait for each other nor
 *   count a row twice.
 * - Failures: a driver error, a refused connection, a cancelled statement
 *   (`statement_timeout`) or a call over `commandTimeout` is a
 *   {@linkcode StoreUnavailableError} (503); a full disk is a
 *   {@linkcode StoreFullError}. The client reconnects by itself.
 * - Statements are single and parameterised, with no session state (no
 *   `SET`, no advisory locks, no explicit transaction): PgBouncer in
 *   transaction mode works (see docs/stores.md#pgbouncer for prepared statements).
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { Hono } from "hono";
 * import { session } from "satchel";
 * import { PostgresStore } from "satchel/postgres";
 *
 * const store = new PostgresStore({ client: postgres(process.env.DATABASE_URL!, { max: 10 }) });
 * await store.ready(); // creates the table, or fails now with how to fix it
 * const app = new Hono();
 * app.use(session({ secret: process.env.SESSION_SECRET!, store }));
 * ```
 */
export class PostgresStore implements SessionStore, Touch, DeleteExpired, DeleteByUser, DeleteAll, UserSessionListing {
  /** Largest payload accepted, in UTF-8 bytes. */
  readonly maxPayloadBytes: number;
  /** The table sessions live in, as given. */
  readonly table: string;
  #t: TableName;
  #db: PgQueryable;
  #createTable: boolean;
  #clock: Clock;
  #timeout: number;
  #sweepBatch: number;
  #writer: OptimisticWriter;
  #watch: DeadlineWatch;
  /** The reads behind what `get` returned, so the `update` of a loaded session skips its own read. */
  #loaded = new LoadedReads<Read>(() => this.#clock());
  #ready: Promise<void> | undefined;
  /** The table check passed: statements skip awaiting #ready. */
  #isReady = false;
  #open = new OpenFlag("PostgresStore");

  /**
   * The SQL that creates the table and its indexes (each statement safe to
   * run again), for a migration; docs/postgres-schema.sql holds the default's.
   * @throws {TypeError} on a table name that is not `name` or `schema.name`.
   */
  static schema(table: string = DEFAULT_TABLE): string[] {
    return schemaStatements(parseTableName("make PostgresStore schema", table));
  }

  /**
   * A store over a client you connected; nothing is sent until first use
   * (or {@linkcode PostgresStore.ready}).
   * @throws {TypeError} when `client` is not a PostgreSQL client Satchel knows, the table name is not plain, or an option is unknown.
   * @throws {RangeError} on a number option out of range.
   */
  constructor(options: PostgresStoreOptions) {
    const o = readOptions("PostgresStore", options, SPEC, HINTS);
    this.#db = toQueryable(o.client)!.db;
    this.#t = parseTableName("create PostgresStore", o.table);
    this.table = o.table;
    this.#createTable = o.createTable;
    this.#timeout = o.commandTimeout;
    this.#watch = new DeadlineWatch(o.commandTimeout);
    this.#writer = new OptimisticWriter(o.maxUpdateRetries, "processes");
    this.#sweepBatch = o.sweepBatchSize;
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.#clock = o.clock;
  }

  /**
   * Checks the table, creating it when missing (unless `createTable: false`).
   * Call it at startup to fail there rather than on the first request; every
   * other method runs it once first. A failure is not remembered: the next
   * call tries again.
   * @throws {Error} "Cannot use PostgresStore: …" with how to fix it: no
   * permission to create the table, a table that is not Satchel's or is from
   * a newer Satchel, a missing table with `createTable: false`.
   * @throws {StoreUnavailableError} when PostgreSQL cannot be reached.
   */
  ready(): Promise<void> {
    if (this.#open.closed) return Promise.reject(closedError("PostgresStore"));
    this.#ready ??= withinMs(this.#ensureTable(), this.#timeout, () => new CommandTimeout()).then(() => {
      this.#isReady = true;
    }, (cause) => {
      this.#ready = undefined;
      throw cause instanceof SchemaError ? cause : storeError("open", cause, this.#diagnose);
    });
    return this.#ready;
  }

  async #ensureTable(): Promise<void> {
    for (let attempt = 1;; attempt++) {
      // What the table is, as JSON text (every driver hands text back alike): its columns and their types, whether
      // id is a key (ON CONFLICT needs one), and which of the privileges the store uses this role lacks.
      const [info] = await this.#db.query(
        "SELECT to_regclass($1) IS NOT NULL AS present, obj_description(to_regclass($1), 'pg_class') AS mark, " +
          "(SELECT json_agg(json_build_array(attname, format_type(atttypid, atttypmod)))::text FROM pg_attribute " +
          "WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped) AS columns, " +
          "EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] " +
          "WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL " +
          "AND a.attname = 'id') AS keyed, " +
          "(SELECT json_agg(p)::text FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p " +
          "WHERE NOT has_table_privilege(to_regclass($1), p)) AS denied, current_user::text AS role",
        [this.#t.sql],
      );
      if (info?.present === true) {
        // A table another process created a moment ago can be found by name while this statement's snapshot
        // predates its columns: look again rather than call it foreign.
        if ((info.columns ?? null) === null && attempt < 5) continue;
        return this.#checkTable(info);
      }
      if (!this.#createTable) {
        throw new SchemaError(
          `Cannot use PostgresStore: table ${this.#t.text} does not exist; create it with the SQL in ` +
            "docs/postgres-schema.sql (or PostgresStore.schema()), or leave createTable on",
        );
      }
      try {
        for (const statement of schemaStatements(this.#t)) await this.#db.query(statement, []);
        return;
      } catch (cause) {
        const state = sqlState(cause);
        // Two processes creating the table at once: one loses a catalog race (23505, 42P07, 42710); look again.
        if ((state === "23505" || state === "42P07" || state === "42710") && attempt < 5) continue;
        if (state === "42501" || state === "3F000") {
          throw new SchemaError(
            `Cannot use PostgresStore: creating table ${this.#t.text} was refused (${messageOf(cause)}); ` +
              "grant this role CREATE on the schema, or create the table as its owner with the SQL in " +
              "docs/postgres-schema.sql and pass createTable: false",
            { cause },
          );
        }
        throw cause;
      }
    }
  }

  #checkTable(info: PgRow): void {
    const mark = typeof info.mark === "string" ? info.mark : "";
    if (/^satchel:\d+$/.test(mark) && mark !== SCHEMA_MARK) {
      throw new SchemaError(
        `Cannot use PostgresStore: table ${this.#t.text} has layout ${mark} and this Satchel reads ${SCHEMA_MARK}; ` +
          "upgrade Satchel on every server, or give this one another table",
      );
    }
    const types = new Map(JSON.parse(String(info.columns ?? "[]")) as [string, string][]);
    const columns = [...types.keys()];
    const missing = COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      const pgSimple = ["sid", "sess", "expire"].every((c) => columns.includes(c));
      throw new SchemaError(
        `Cannot use PostgresStore: table ${this.#t.text} is not a Satchel sessions table (no column ${
          missing.join(", ")
        })` +
          (pgSimple
            ? "; it looks like connect-pg-simple's: give PostgresStore its own table and see docs/stores.md#moving-from-connect-pg-simple"
            : "; name another table"),
      );
    }
    const wrong = COLUMNS.filter((c) => !fits(COLUMN_TYPE[c], types.get(c)))
      .map((c) => `${c} ${types.get(c)} (not ${COLUMN_TYPE[c]})`);
    if (wrong.length > 0) {
      throw new SchemaError(
        `Cannot use PostgresStore: table ${this.#t.text} has column ${wrong.join(", ")}; create it with the SQL in ` +
          "docs/postgres-schema.sql (or PostgresStore.schema())",
      );
    }
    if (info.keyed !== true && info.keyed !== "t") {
      throw new SchemaError(
        `Cannot use PostgresStore: table ${this.#t.text} has no primary key or unique index on id: every write would ` +
          `fail; add one (ALTER TABLE ${this.#t.sql} ADD PRIMARY KEY (id)) or create the table with the SQL in ` +
          "docs/postgres-schema.sql",
      );
    }
    const denied = JSON.parse(String(info.denied ?? "[]")) as string[];
    if (denied.length > 0) {
      const role = String(info.role);
      throw new SchemaError(
        `Cannot use PostgresStore: this role (${role}) may not ${denied.join(", ")} on table ${this.#t.text}: ` +
          `GRANT SELECT, INSERT, UPDATE, DELETE ON ${this.#t.sql} TO ${role}`,
      );
    }
  }

  /** What a driver failure means, for {@linkcode storeError}. */
  #diagnose: Diagnose = (cause, action) => {
    if (cause instanceof SchemaError) return { why: cause.message.replace(/^Cannot use PostgresStore: /, "") };
    if (cause instanceof CommandTimeout) {
      const unknown = action === "load" || action === "list" ? "" : "; the outcome is unknown";
      return { why: `PostgreSQL did not answer within ${this.#timeout} ms (commandTimeout)${unknown}` };
    }
    const state = sqlState(cause);
    const message = messageOf(cause);
    if (state === "42P01") [this.#ready, this.#isReady] = [undefined, false]; // the table was dropped: look again
    if (state === "53100") return { why: `PostgreSQL's disk is full (${message})`, full: true };
    if (state === "57014") {
      return { why: `PostgreSQL cancelled the statement (statement_timeout or a cancel: ${message})` };
    }
    if (state === undefined) return { why: `PostgreSQL is unreachable (${message})` };
    return { why: `PostgreSQL refused the statement (${state}: ${message})` };
  };

  /** One statement, after the table check; driver errors become the store's typed errors. Not timed: see #timed. */
  async #query(action: string, text: string, params: unknown[]): Promise<PgRow[]> {
    this.#open.check();
    try {
      if (!this.#isReady) await this.ready();
      return await this.#db.query(text.replaceAll("$t", this.#t.sql), params);
    } catch (cause) {
      throw storeError(action, cause, this.#diagnose);
    }
  }

  /**
   * `op` (one store call, all its statements), or a StoreUnavailableError once
   * `commandTimeout` has passed: one timer per call, not per statement.
   */
  #timed<T>(action: string, op: Promise<T>): Promise<T> {
    return this.#watch.within(op, this.#timeout, () => this.#timeoutError(action));
  }

  #timeoutError(action: string) {
    return storeError(action, new CommandTimeout(), this.#diagnose);
  }

  /** Refuse, before anything is sent, a session no row can hold: times out of range or too large a payload. */
  #checkWrite(action: string, s: StoredSession): void {
    checkTimes(action, s);
    payloadBytes(s.payload, this.maxPayloadBytes);
  }

  async #read(id: string, action: string): Promise<Read> {
    const [row] = await this.#query(
      action,
      "SELECT payload, expires_at, created_at, user_id, version FROM $t WHERE id = $1",
      [id],
    ) as unknown as Row[];
    if (row === undefined) return { live: null, version: null };
    const live = Number(row.expires_at) > this.#clock() ? toStored(row) : null;
    return { live, version: String(row.version) };
  }

  /** The live session with this id, or `null` (one SELECT by primary key). */
  async get(id: string): Promise<StoredSession | null> {
    return this.#loaded.hand(id, await this.#timed("load", this.#read(id, "load")));
  }

  /** Insert or replace the session (one upsert). */
  async set(id: string, session: StoredSession): Promise<void> {
    this.#checkWrite("store", session);
    await this.#timed(
      "store",
      this.#query(
        "store",
        `INSERT INTO $t AS t (id, payload, expires_at, created_at, user_id, version) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at,
         created_at = excluded.created_at, user_id = excluded.user_id, version = t.version + 1`,
        [
          id,
          session.payload,
          ms(session.expiresAt),
          ms(session.createdAt),
          session.userId ?? null,
          String(firstVersion()),
        ],
      ),
    );
  }

  /** Remove the session; a missing id is not an error. */
  async delete(id: string): Promise<void> {
    await this.#timed("delete", this.#query("delete", "DELETE FROM $t WHERE id = $1", [id]));
  }

  /** Move a live session's expiry: one UPDATE of `expires_at` (and the version), never the payload. */
  async touch(id: string, expiresAt: number): Promise<void> {
    checkTime("touch", "expiresAt", expiresAt);
    await this.#timed(
      "touch",
      this.#query(
        "touch",
        "UPDATE $t SET expires_at = $2, version = version + 1 WHERE id = $1 AND expires_at > $3",
        [id, ms(expiresAt), ms(this.#clock())],
      ),
    );
  }

  /** Atomic read-modify-write: a compare-and-set on `version`, retried when another writer came first. */
  update(id: string, fn: UpdateFn, loaded?: StoredSession): Promise<StoredSession | null> {
    const deadline = performance.now() + this.#timeout;
    // An update whose time ran out while it waited (for its turn, or for a connection to read on) is never sent:
    // its caller was already told it failed.
    const inTime = () => {
      if (performance.now() >= deadline) throw this.#timeoutError("update");
    };
    const run = this.#writer.run(id, {
      action: "update",
      first: () => {
        inTime();
        return this.#loaded.recall(id, loaded);
      },
      read: () => {
        inTime();
        return this.#read(id, "update");
      },
      write: async (seen: Read) => {
        inTime();
        const next = fn(seen.live); // may run again on a retry: the contract says it is pure
        if (next !== null) this.#checkWrite("update", next);
        return await this.#compareAndSet(id, seen.version, next) ? next : CONFLICT;
      },
    });
    return this.#timed("update", run);
  }

  /** Write `next` (`null` deletes) only if the row is still at `version` (`null`: no row); true when it was. */
  async #compareAndSet(
    id: string,
    version: string | null,
    next: StoredSession | null,
  ): Promise<boolean> {
    if (next === null) {
      if (version === null) return true;
      const rows = await this.#query(
        "update",
        "DELETE FROM $t WHERE id = $1 AND version = $2 RETURNING 1 AS done",
        [id, version],
      );
      return rows.length === 1;
    }
    const values = [next.payload, ms(next.expiresAt), ms(next.createdAt), next.userId ?? null];
    const rows = version === null
      ? await this.#query(
        "update",
        "INSERT INTO $t (id, payload, expires_at, created_at, user_id, version) VALUES ($1, $2, $3, $4, $5, $6) " +
          "ON CONFLICT (id) DO NOTHING RETURNING 1 AS done",
        [id, ...values, String(firstVersion())],
      )
      : await this.#query(
        "update",
        "UPDATE $t SET payload = $2, expires_at = $3, created_at = $4, user_id = $5, version = version + 1 " +
          "WHERE id = $1 AND version = $6 RETURNING 1 AS done",
        [id, ...values, version],
      );
    return rows.length === 1;
  }

  /** One DELETE that returns how many of the rows it deleted were live at `now` (all rows when `now` is null). */
  async #count(action: string, deleting: string, params: unknown[], now: number | null = null): Promise<number> {
    const [row] = await this.#timed(
      action,
      this.#query(
        action,
        `WITH gone AS (${deleting} RETURNING expires_at) SELECT count(*) FILTER (WHERE $${
          params.length + 1
        }::bigint IS NULL OR expires_at > $${params.length + 1}::bigint)::int AS n FROM gone`,
        [...params, now === null ? null : ms(now)],
      ),
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Delete sessions whose expiry is at or before `now`, `sweepBatchSize`
   * rows per statement through the expiry index. Rows another sweeper (or a
   * writer) has locked are skipped (`FOR UPDATE SKIP LOCKED`), so concurrent
   * sweeps never wait for each other and never count a row twice.
   * @param onBatch Called after each statement with the rows it deleted and how long it took (ms).
   * @returns How many sessions this call deleted.
   */
  async deleteExpired(now: number = this.#clock(), onBatch?: (removed: number, ms: number) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const started = performance.now();
      const n = await this.#count(
        "sweep",
        "DELETE FROM $t WHERE id IN (SELECT id FROM $t WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 " +
          "FOR UPDATE SKIP LOCKED) AND expires_at <= $1",
        [ms(now), this.#sweepBatch],
      );
      onBatch?.(n, performance.now() - started);
      total += n;
      if (n < this.#sweepBatch) return total;
    }
  }

  /** End every session bound to `userId` (one DELETE through the user index). @returns How many live ones ended. */
  deleteByUser(userId: string): Promise<number> {
    return this.#count("delete", "DELETE FROM $t WHERE user_id = $1", [userId], this.#clock());
  }

  /** End every session in the table (one DELETE). @returns How many live sessions it ended. */
  deleteAll(): Promise<number> {
    return this.#count("delete", "DELETE FROM $t", [], this.#clock());
  }

  /** The live sessions bound to `userId`, oldest first. */
  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    const rows = await this.#timed(
      "list",
      this.#query(
        "list",
        "SELECT id, payload, expires_at, created_at, user_id, version FROM $t WHERE user_id = $1 AND expires_at > $2",
        [userId, ms(this.#clock())],
      ),
    ) as unknown as (Row & { id: string })[];
    return oldestFirst(rows.map((row) => ({ id: row.id, session: toStored(row) })));
  }

  /** Stops the store: later calls throw {@linkcode StoreUnavailableError}. The client stays open (it is yours). */
  close(): void {
    this.#open.close();
  }
}

/** A table the store cannot use as it is: thrown by `ready()` with how to fix it. */
class SchemaError extends Error {
  override name = "PostgresSchemaError";
}

/** The type each column has in docs/postgres-schema.sql (varchar serves where text does). */
const COLUMN_TYPE: Record<(typeof COLUMNS)[number], "text" | "bigint"> = {
  id: "text",
  payload: "text",
  expires_at: "bigint",
  created_at: "bigint",
  user_id: "text",
  version: "bigint",
};

/** Whether a column of type `got` (as `format_type` names it) serves where `want` is expected. */
function fits(want: "text" | "bigint", got: string | undefined): boolean {
  return want === "bigint" ? got === "bigint" : /^(text|character varying(\(\d+\))?)$/.test(got ?? "");
}
