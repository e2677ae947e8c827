/**
 * The default store: one SQLite file in WAL mode with mmap, shared safely by
 * every worker process on the machine. Expiry lives in its own indexed
 * column, so a sweep is an indexed DELETE and a refresh never rewrites data.
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import { SessionError, StoreFullError, StoreUnavailableError } from "../errors.ts";
import { defaultDatabasePath, defer, fileExists, openShared, type SqliteDriver, sqliteErrorCode, type SqliteStatement } from "./sqlite/driver.ts";
import type { GroupCommit, SessionStore, StoredSession, SynchronousStore, UpdateFn, UserSessionEntry, UserSessionListing } from "./types.ts";
import { checkSweepInterval, type SweepEvent, Sweeper } from "./sweeper.ts";
import { withDefaults } from "../defaults.ts";
import { isThenable } from "../awaitable.ts";
import { disposeSymbol, type Disposer } from "../_internal/dispose.ts";

/** Options of {@linkcode SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * The database file; created with mode 0600 when missing.
   * @default `<os temp dir>/satchel-<uid>/<name>.sqlite`
   */
  path?: string;
  /** Names the default file. @default "app" */
  name?: string;
  /** Table name: letters, digits and `_`. @default "satchel_sessions" */
  table?: string;
  /** `PRAGMA mmap_size` in bytes; 0 turns mmap off. @default 268435456 (256 MiB) */
  mmapSize?: number;
  /**
   * `PRAGMA synchronous`. NORMAL (WAL) survives a process crash; FULL also
   * survives power loss, at the price of an fsync per commit. @default "NORMAL"
   */
  synchronous?: "NORMAL" | "FULL";
  /** How long a writer waits for another process's lock, in ms. @default 5000 */
  busyTimeout?: number;
  /**
   * Cap on the database file, in bytes (`PRAGMA max_page_count`, applied to
   * this store's connection: give every worker the same value). A write
   * that needs more room fails with {@linkcode StoreFullError} (503) and
   * writes nothing; reads go on, and writes resume once sessions are
   * deleted or swept. The WAL is not counted (see `journalSizeLimit`).
   * @default undefined (no cap but the disk)
   */
  maxSizeBytes?: number;
  /**
   * `PRAGMA journal_size_limit`: the size, in bytes, the WAL file is cut back
   * to each time it restarts after a checkpoint. The WAL grows past it only
   * while a long read keeps a checkpoint from finishing, and comes back
   * down once that read ends. -1 never cuts it back.
   * @default 67108864 (64 MiB)
   */
  journalSizeLimit?: number;
  /** Largest payload accepted, in bytes. @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /**
   * Rows deleted per transaction by {@linkcode SqliteStore.deleteExpired}.
   * A batch holds the write lock (and, in-process, the event loop) for its
   * duration: each deleted row dirties its own page, so about 60 µs a row on
   * the benchmark machine, WAL checkpoints included. At 100, an in-process sweep
   * of 1,000,000 rows raised /read's p50 from 1.5 to 3.5 ms; at 1000, to
   * 58 ms, for a sweep only 15 % faster (bench/sweep-results.md). @default 100
   */
  sweepBatchSize?: number;
  /**
   * Seconds between two in-process sweeps (`deleteExpired` on an unref'd
   * timer, counted from the end of the previous sweep; stops on `close()`).
   * Give it to one process per file, or sweep from cron with `satchel sweep`.
   * @default undefined (no timer)
   */
  sweepInterval?: number;
  /** Called after each timed sweep. @default logs failed sweeps (name and message) */
  onSweep?: (event: SweepEvent) => void;
  /** Time source for expiry checks. @default Date.now */
  clock?: Clock;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const SQLITE_BUSY = 5;
const SQLITE_FULL = 13;
/** Marks a database as Satchel's (`PRAGMA application_id`, "SATC"). */
export const APPLICATION_ID = 0x53415443;

type Row = { payload: string; expires_at: number; created_at: number; user_id: string | null };

/** A piece of work given to {@linkcode SqliteStore.batch}, and how to answer it. */
interface QueuedWork {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

function toStored(row: Row): StoredSession {
  return { payload: row.payload, expiresAt: row.expires_at, createdAt: row.created_at, userId: row.user_id };
}

/** Runs `fn`, retrying it for up to `budgetMs` while SQLite answers SQLITE_BUSY (sleeping 1, 2, 4 … 50 ms). */
function retryBusy<T>(fn: () => T, budgetMs: number): T {
  const deadline = Date.now() + budgetMs;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      return fn();
    } catch (e) {
      if (sqliteErrorCode(e) !== SQLITE_BUSY || Date.now() >= deadline) throw e;
      Atomics.wait(cell, 0, 0, wait); // a synchronous sleep: the constructor cannot await
    }
  }
}

/** Runs `open`, turning a failure into a StoreUnavailableError that names `what` (Satchel's own errors pass as they are). */
function opening<T>(what: string, open: () => T): T {
  try {
    return open();
  } catch (cause) {
    if (cause instanceof SessionError) throw cause;
    throw new StoreUnavailableError(`Cannot open SqliteStore: ${what} could not be opened`, { cause });
  }
}

/** Pragmas and schema; idempotent, and writes the header only when a value differs. */
function setupSchema(db: SqliteDriver, t: string, synchronous: string, mmapSize: number, journalSizeLimit: number): void {
  const pragma = (name: string) => Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
  if (String(pragma("journal_mode")).toLowerCase() !== "wal") db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous}`);
  db.exec(`PRAGMA mmap_size = ${mmapSize}`);
  db.exec(`PRAGMA journal_size_limit = ${journalSizeLimit}`);
  if (Number(pragma("application_id")) !== APPLICATION_ID) db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
  // Never shrink the file: another process may have it mapped (mmap), and a
  // page it maps past a new end of file is a SIGBUS. Takes effect on a new file.
  if (Number(pragma("auto_vacuum")) !== 0) db.exec("PRAGMA auto_vacuum = NONE");
  // A rowid table, not WITHOUT ROWID: session ids are random, and a ~500-byte
  // row inserted at a random place in the primary key's B-tree splits pages
  // that hold 7 rows; here the row is appended and only the small id index
  // takes the random insert. Measured (bench/RESULTS.md): inserts 40% and
  // updates 15% less CPU, reads the same, a smaller file. Tables made
  // WITHOUT ROWID by earlier versions keep working unchanged.
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${t} (
      id         TEXT PRIMARY KEY,
      payload    TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      user_id    TEXT
    );
    CREATE INDEX IF NOT EXISTS ${t}_expires_at ON ${t} (expires_at);
    CREATE INDEX IF NOT EXISTS ${t}_user_id ON ${t} (user_id) WHERE user_id IS NOT NULL;`,
  );
}

/** Declared apart from the class so the published types never name `Symbol.dispose` (see ../_internal/dispose.ts). */
export interface SqliteStore extends Disposer {}

/**
 * Sessions in one SQLite file (bun:sqlite on Bun, node:sqlite on Deno and Node).
 *
 * @example
 * ```ts
 * import { SqliteStore } from "satchel";
 * const store = new SqliteStore({ path: "./sessions.sqlite" });
 * ```
 */
export class SqliteStore implements SessionStore, SynchronousStore, GroupCommit, UserSessionListing {
  /** Every method answers synchronously (see {@linkcode SynchronousStore}). */
  readonly synchronous = true;
  /** The file this store uses. */
  readonly path: string;
  /** The table this store uses. */
  readonly table: string;
  /** Largest payload accepted, in bytes. */
  readonly maxPayloadBytes: number;
  #db: SqliteDriver;
  #clock: Clock;
  #batch: number;
  #get: SqliteStatement;
  #peek: SqliteStatement;
  #dropExpired: SqliteStatement;
  #upsert: SqliteStatement;
  #setPayload: SqliteStatement;
  #delete: SqliteStatement;
  #touch: SqliteStatement;
  #sweep: SqliteStatement;
  #byUser: SqliteStatement;
  #listByUser: SqliteStatement;
  #begin: SqliteStatement;
  #commit: SqliteStatement;
  #rollback: SqliteStatement;
  #savepoint: SqliteStatement;
  #release: SqliteStatement;
  #rollbackTo: SqliteStatement;
  /** Work given to {@linkcode SqliteStore.batch}, waiting for the next flush. */
  #queue: QueuedWork[] = [];
  #flushScheduled = false;
  /** True while a flush runs work inside its shared transaction (methods then open none of their own). */
  #inBatch = false;
  #closed = false;
  /** The sweep in progress, so sweeps of this store run one after another. */
  #sweeping: Promise<unknown> = Promise.resolve();
  #sweeper: Sweeper | undefined;

  /**
   * Opens the database file (creating it when missing) and prepares the table and statements.
   * @throws {TypeError} on a bad table name or option.
   * @throws {StoreUnavailableError} when the file cannot be opened.
   */
  constructor(options: SqliteStoreOptions = {}) {
    const o = withDefaults({
      name: "app",
      table: "satchel_sessions",
      mmapSize: 256 * 1024 * 1024,
      synchronous: "NORMAL" as const,
      busyTimeout: 5000,
      journalSizeLimit: 64 * 1024 * 1024,
      maxPayloadBytes: 1024 * 1024,
      sweepBatchSize: 100,
      clock: systemClock,
    }, options);
    if (!TABLE_NAME.test(o.table)) {
      throw new TypeError(`Cannot create SqliteStore: table must match ${TABLE_NAME}: received ${JSON.stringify(o.table)}`);
    }
    if (!/^[A-Za-z0-9_-]+$/.test(o.name)) {
      throw new TypeError(`Cannot create SqliteStore: name must be letters, digits, "-" or "_": received ${JSON.stringify(o.name)}`);
    }
    if (o.synchronous !== "NORMAL" && o.synchronous !== "FULL") {
      throw new TypeError(`Cannot create SqliteStore: synchronous must be "NORMAL" or "FULL": received ${JSON.stringify(o.synchronous)}`);
    }
    if (o.maxSizeBytes !== undefined && (!Number.isSafeInteger(o.maxSizeBytes) || o.maxSizeBytes <= 0)) {
      throw new RangeError(`Cannot create SqliteStore: maxSizeBytes must be a positive integer: received ${o.maxSizeBytes}`);
    }
    checkSweepInterval("SqliteStore", o.sweepInterval);
    if (!Number.isSafeInteger(o.journalSizeLimit) || o.journalSizeLimit < -1) {
      throw new RangeError(`Cannot create SqliteStore: journalSizeLimit must be -1 or a non-negative integer: received ${o.journalSizeLimit}`);
    }
    for (const key of ["mmapSize", "busyTimeout", "maxPayloadBytes", "sweepBatchSize"] as const) {
      const v = o[key];
      if (!Number.isSafeInteger(v) || v < 0 || (key === "sweepBatchSize" && v === 0)) {
        throw new RangeError(`Cannot create SqliteStore: ${key} must be a non-negative integer: received ${v}`);
      }
    }
    this.path = o.path ?? opening("the default folder", () => defaultDatabasePath(o.name));
    this.table = o.table;
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.#clock = o.clock;
    this.#batch = o.sweepBatchSize;
    // Stores of one process on one file with the same pragmas share a connection (a dev server's reloads).
    const settings = [o.busyTimeout, o.synchronous, o.mmapSize, o.journalSizeLimit, o.maxSizeBytes].join();
    this.#db = opening(this.path, () => openShared(this.path, settings));
    const db = this.#db;
    const t = this.table;
    let autoVacuum = 0;
    try {
      db.exec(`PRAGMA busy_timeout = ${o.busyTimeout}`);
      // Workers starting together on a new file race to switch it to WAL and
      // write its header; SQLite answers some of those races with SQLITE_BUSY
      // at once, without its busy handler, so setup retries them itself.
      retryBusy(() => setupSchema(db, t, o.synchronous, o.mmapSize, o.journalSizeLimit), o.busyTimeout);
      autoVacuum = Number(Object.values(db.prepare("PRAGMA auto_vacuum").get()!)[0]);
      if (o.maxSizeBytes !== undefined) {
        const pageSize = Number(Object.values(db.prepare("PRAGMA page_size").get()!)[0]);
        db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(o.maxSizeBytes / pageSize))}`);
      }
      const cols = "payload, expires_at, created_at, user_id";
      this.#get = db.prepare(`SELECT ${cols} FROM ${t} WHERE id = ? AND expires_at > ?`);
      this.#peek = db.prepare(`SELECT ${cols} FROM ${t} WHERE id = ?`);
      this.#dropExpired = db.prepare(`DELETE FROM ${t} WHERE id = ? AND expires_at <= ?`);
      this.#setPayload = db.prepare(`UPDATE ${t} SET payload = ? WHERE id = ?`);
      this.#upsert = db.prepare(
        `INSERT INTO ${t} (id, payload, expires_at, created_at, user_id) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at,
           created_at = excluded.created_at, user_id = excluded.user_id`,
      );
      this.#delete = db.prepare(`DELETE FROM ${t} WHERE id = ?`);
      this.#touch = db.prepare(`UPDATE ${t} SET expires_at = ? WHERE id = ? AND expires_at > ?`);
      // By rowid, which the expiry index holds; a WITHOUT ROWID table (earlier versions) has none: by id.
      const sweepBy = (key: string) =>
        db.prepare(`DELETE FROM ${t} WHERE ${key} IN (SELECT ${key} FROM ${t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`);
      try {
        this.#sweep = sweepBy("rowid");
      } catch {
        this.#sweep = sweepBy("id");
      }
      this.#byUser = db.prepare(`DELETE FROM ${t} WHERE user_id = ?`);
      this.#listByUser = db.prepare(`SELECT id, ${cols} FROM ${t} WHERE user_id = ? AND expires_at > ? ORDER BY created_at, id`);
      this.#begin = db.prepare("BEGIN IMMEDIATE");
      this.#commit = db.prepare("COMMIT");
      this.#rollback = db.prepare("ROLLBACK");
      this.#savepoint = db.prepare("SAVEPOINT satchel_work");
      this.#release = db.prepare("RELEASE satchel_work");
      this.#rollbackTo = db.prepare("ROLLBACK TO satchel_work");
    } catch (cause) {
      db.close();
      throw this.#wrap("open", cause);
    }
    if (autoVacuum !== 0 && o.mmapSize > 0) {
      db.close();
      throw new TypeError(
        `Cannot open SqliteStore: ${this.path} has auto_vacuum on, which shrinks the file under the other workers' mmap (SIGBUS); ` +
          `with every worker stopped run "PRAGMA auto_vacuum = NONE; VACUUM;" on it once, or set mmapSize: 0`,
      );
    }
    if (o.sweepInterval !== undefined) {
      this.#sweeper = new Sweeper(o.sweepInterval, () => this.deleteExpired(), o.onSweep);
    }
  }

  #wrap(action: string, cause: unknown): Error {
    if (cause instanceof SessionError) return cause;
    const code = sqliteErrorCode(cause);
    if (code === SQLITE_FULL) {
      return new StoreFullError(`Cannot ${action} session: the SQLite database is full (${this.path})`, { cause });
    }
    const why = code === SQLITE_BUSY ? "another process held the write lock past busyTimeout" : "SQLite failed";
    return new StoreUnavailableError(`Cannot ${action} session: ${why} (${this.path})`, { cause });
  }

  #check(): void {
    if (this.#closed) throw new StoreUnavailableError("Cannot use SqliteStore: it was closed");
  }

  /**
   * SQLite keeps writing to a database file deleted while open (the WAL of an
   * unlinked inode), so every later write would vanish without a word:
   * refuse writes once the file is gone (about 1 µs: one existsSync).
   */
  #checkWrite(action: string): void {
    this.#check();
    // Inside a batch the flush checked the file once, before its transaction began.
    if (this.#inBatch) return;
    if (this.path !== ":memory:" && !fileExists(this.path)) {
      throw new StoreUnavailableError(`Cannot ${action} session: the database file ${this.path} was deleted while open; restore it or restart the process`);
    }
  }

  /** The live session, or `null`. An expired row it meets is deleted on the spot. */
  get(id: string): StoredSession | null {
    this.#check();
    const now = this.#clock();
    let row: Row | undefined;
    try {
      row = this.#peek.get(id) as Row | undefined;
    } catch (cause) {
      throw this.#wrap("load", cause);
    }
    if (row === undefined) return null;
    if (row.expires_at > now) return toStored(row);
    // Inside a batch a failed statement could end the shared transaction: leave the row to the sweep.
    if (this.#inBatch) return null;
    try {
      // Only if still expired: another process may have written the id meanwhile.
      this.#dropExpired.run(id, now);
    } catch {
      // Best effort: the answer (no session) stands, and the next sweep removes the row.
    }
    return null;
  }

  /** Insert or replace the session (one upsert). */
  set(id: string, s: StoredSession): void {
    this.#checkWrite("store");
    try {
      this.#upsert.run(id, s.payload, s.expiresAt, s.createdAt, s.userId ?? null);
    } catch (cause) {
      throw this.#wrap("store", cause);
    }
  }

  /**
   * Inserts or replaces many sessions in one transaction: imports,
   * migrations and seeding, about 50 times faster than one `set` each. All or
   * nothing. It holds the write lock throughout: on a live database, give it
   * batches of some thousands.
   * @example
   * ```ts
   * import { SqliteStore } from "satchel";
   * const store = new SqliteStore({ path: ":memory:" });
   * const now = Date.now();
   * store.setMany([["a".repeat(22), { payload: "{}", expiresAt: now + 3_600_000, createdAt: now }]]);
   * ```
   */
  setMany(entries: Iterable<readonly [string, StoredSession]>): void {
    this.#checkWrite("store");
    if (this.#inBatch) {
      // Already inside the batch's transaction (and its savepoint, which a failure rolls back).
      try {
        for (const [id, s] of entries) this.#upsert.run(id, s.payload, s.expiresAt, s.createdAt, s.userId ?? null);
      } catch (cause) {
        throw this.#wrap("store", cause);
      }
      return;
    }
    try {
      this.#begin.run();
    } catch (cause) {
      throw this.#wrap("store", cause);
    }
    let inSqlite = false;
    try {
      for (const [id, s] of entries) {
        inSqlite = true;
        this.#upsert.run(id, s.payload, s.expiresAt, s.createdAt, s.userId ?? null);
        inSqlite = false;
      }
      inSqlite = true;
      this.#commit.run();
    } catch (cause) {
      try {
        this.#rollback.run();
      } catch {
        // Already rolled back by SQLite.
      }
      throw inSqlite ? this.#wrap("store", cause) : cause;
    }
  }

  /** Remove the session; a missing id is not an error. */
  delete(id: string): void {
    this.#checkWrite("delete");
    try {
      this.#delete.run(id);
    } catch (cause) {
      throw this.#wrap("delete", cause);
    }
  }

  /** Move a live session's idle expiry; the payload is not rewritten. */
  touch(id: string, expiresAt: number): void {
    this.#checkWrite("touch");
    try {
      this.#touch.run(expiresAt, id, this.#clock());
    } catch (cause) {
      throw this.#wrap("touch", cause);
    }
  }

  /** Read, apply `fn` and write in one `BEGIN IMMEDIATE` transaction. */
  update(id: string, fn: UpdateFn): StoredSession | null {
    this.#checkWrite("update");
    if (this.#inBatch) return this.#readApplyWrite(id, fn);
    try {
      this.#begin.run();
    } catch (cause) {
      throw this.#wrap("update", cause);
    }
    let next: StoredSession | null;
    try {
      next = this.#readApplyWrite(id, fn); // its errors are already typed, or the caller's own
    } catch (e) {
      this.#rollbackQuietly();
      throw e;
    }
    try {
      this.#commit.run();
    } catch (cause) {
      this.#rollbackQuietly();
      throw this.#wrap("update", cause);
    }
    return next;
  }

  #rollbackQuietly(): void {
    try {
      this.#rollback.run();
    } catch {
      // The transaction is already gone (SQLite rolls back on some errors itself).
    }
  }

  /** The body of `update`, inside a transaction the caller holds. `fn`'s error passes through; SQLite's is typed. */
  #readApplyWrite(id: string, fn: UpdateFn): StoredSession | null {
    let inFn = false;
    try {
      const row = this.#get.get(id, this.#clock()) as Row | undefined;
      inFn = true;
      const next = fn(row === undefined ? null : toStored(row));
      inFn = false;
      if (next === null) this.#delete.run(id);
      else if (
        row !== undefined && next.expiresAt === row.expires_at && next.createdAt === row.created_at &&
        (next.userId ?? null) === row.user_id
      ) {
        // Only the data changed (the middleware keeps the expiry until a refresh is due):
        // no index entry moves, about a third less work than the upsert.
        if (next.payload !== row.payload) this.#setPayload.run(next.payload, id);
      } else this.#upsert.run(id, next.payload, next.expiresAt, next.createdAt, next.userId ?? null);
      return next;
    } catch (cause) {
      // The caller's own error passes through unchanged; SQLite's is typed.
      throw inFn ? cause : this.#wrap("update", cause);
    }
  }

  /**
   * Group commit: runs `work` (synchronous calls to this store's `get`, `set`,
   * `update`, `touch`, `delete`) together with the work other requests gave
   * it, at the next turn of the event loop, in one `BEGIN IMMEDIATE`
   * transaction, each inside its own savepoint. Resolves with what `work`
   * returned once that transaction committed; `work` that throws rolls back
   * only its own writes and rejects only its own promise. The middleware
   * commits sessions through it: concurrent requests then share one commit
   * (one WAL append, one lock) instead of paying one each.
   *
   * Each piece of work is atomic: all of its writes or none (a regenerate's
   * delete and insert land together). When the lock cannot be had within
   * `busyTimeout`, every piece of the flush fails at once with
   * {@linkcode StoreUnavailableError}. When SQLite ends the shared
   * transaction under one piece (a full database does), that piece gets its
   * error and the others run again, each in a transaction of its own; when
   * the `COMMIT` fails, they all do. One request's failure never becomes
   * another's. Work must not catch this store's errors and go on writing:
   * after SQLite ended the transaction, those writes would be its own.
   * @throws {TypeError} (as a rejection) when `work` returns a promise: it must be synchronous.
   */
  batch<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        defer(() => this.#flush());
      }
    });
  }

  /** Runs every queued piece of work: together in one transaction, or each in its own when that fails or it is alone. */
  #flush(): void {
    this.#flushScheduled = false;
    const items = this.#queue;
    this.#queue = [];
    if (items.length === 0) return;
    if (this.#closed) {
      for (const item of items) item.reject(new StoreUnavailableError("Cannot use SqliteStore: it was closed"));
      return;
    }
    try {
      this.#checkWrite("store");
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    if (items.length > 1 && this.#runShared(items)) return;
    for (const item of items) this.#runAlone(item);
  }

  /** Runs `work` with this store in batch mode (no transactions of its own); a promise is refused. */
  #runWork(work: () => unknown): unknown {
    this.#inBatch = true;
    try {
      const value = work();
      if (isThenable(value)) throw new TypeError("SqliteStore.batch(): work must be synchronous; it returned a promise");
      return value;
    } finally {
      this.#inBatch = false;
    }
  }

  /** One piece of work in its own transaction: all of its writes or none. */
  #runAlone(item: QueuedWork): void {
    try {
      this.#begin.run();
    } catch (cause) {
      item.reject(this.#wrap("store", cause));
      return;
    }
    let value: unknown;
    try {
      value = this.#runWork(item.work);
      this.#stillInTransaction();
    } catch (error) {
      this.#rollbackQuietly();
      item.reject(error);
      return;
    }
    try {
      this.#commit.run();
    } catch (cause) {
      this.#rollbackQuietly();
      item.reject(this.#wrap("store", cause));
      return;
    }
    item.resolve(value);
  }

  /**
   * Runs `items` in one transaction, each in a savepoint, and settles them;
   * false (having settled none and left nothing written) when the
   * transaction failed as a whole, so that each runs again on its own.
   */
  #runShared(items: QueuedWork[]): boolean {
    try {
      this.#begin.run();
    } catch (cause) {
      // Nothing ran. Each piece alone would wait for the same lock again (busyTimeout each,
      // blocking this event loop): tell them all now.
      const error = this.#wrap("store", cause);
      for (const item of items) item.reject(error);
      return true;
    }
    const outcomes: (() => void)[] = [];
    for (const item of items) {
      try {
        this.#savepoint.run();
      } catch {
        this.#rollbackQuietly();
        return false;
      }
      let value: unknown;
      let failed = false;
      try {
        value = this.#runWork(item.work);
      } catch (error) {
        failed = true;
        value = error;
      }
      if (!this.#db.inTransaction()) {
        // SQLite ended the whole transaction under this work (a full database does, and I/O errors),
        // so the work is answered with its error and not run again: had it gone on after the failed
        // statement, what it did next was written on its own. The others were rolled back with the
        // transaction and run again, each alone.
        item.reject(failed ? value : new StoreUnavailableError(`Cannot store session: SQLite ended the transaction (${this.path})`));
        for (const other of items) if (other !== item) this.#runAlone(other);
        return true;
      }
      try {
        if (failed) this.#rollbackTo.run();
        this.#release.run();
      } catch {
        this.#rollbackQuietly();
        return false;
      }
      outcomes.push(failed ? () => item.reject(value) : () => item.resolve(value));
    }
    try {
      this.#commit.run();
    } catch {
      this.#rollbackQuietly();
      return false;
    }
    for (const settle of outcomes) settle();
    return true;
  }

  /** Throws when SQLite has ended the transaction this store opened (see #runShared). */
  #stillInTransaction(): void {
    if (!this.#db.inTransaction()) throw new StoreUnavailableError(`Cannot store session: SQLite ended the transaction (${this.path})`);
  }

  /**
   * Deletes expired sessions in batches of `sweepBatchSize`, each its own
   * short transaction, resting between batches as long as the last one took
   * (other processes' writers and this event loop get at least half the
   * time). Sweeps of one store never overlap: a call made during a sweep
   * starts when it ends.
   * @param now Cut-off in ms. @default the store's clock
   * @param onBatch Called after each batch with the rows it removed and how long it held the lock, in ms.
   * @returns How many sessions were removed.
   */
  deleteExpired(now: number = this.#clock(), onBatch?: (removed: number, ms: number) => void): Promise<number> {
    this.#check();
    const run = this.#sweeping.then(() => this.#sweepBatches(now, onBatch));
    this.#sweeping = run.catch(() => undefined);
    return run;
  }

  async #sweepBatches(now: number, onBatch: ((removed: number, ms: number) => void) | undefined): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.#closed) return total;
      let removed: number;
      const start = performance.now();
      try {
        removed = this.#sweep.run(now, this.#batch).changes;
      } catch (cause) {
        throw this.#wrap("sweep", cause);
      }
      const ms = performance.now() - start;
      total += removed;
      onBatch?.(removed, ms);
      if (removed < this.#batch) return total;
      // Rest as long as the batch took: the sweep then holds the lock (and this event loop) at most
      // half the time, so a writer of another process, whose busy handler retries after 1 to 100 ms,
      // gets in at once instead of starving behind back-to-back batches (bench/sweep-results.md).
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(ms))));
    }
  }

  /** Remove every session of `userId`; returns how many. */
  deleteByUser(userId: string): number {
    this.#check();
    try {
      return this.#byUser.run(userId).changes;
    } catch (cause) {
      throw this.#wrap("delete", cause);
    }
  }

  /** The live sessions of `userId`, oldest first (through the partial index on `user_id`). */
  listByUser(userId: string): UserSessionEntry[] {
    this.#check();
    try {
      return this.#listByUser.all(userId, this.#clock()).map((row) => ({ id: row.id as string, session: toStored(row as unknown as Row) }));
    } catch (cause) {
      throw this.#wrap("load", cause);
    }
  }

  /** Stops the sweeper and closes the database. Later calls throw {@linkcode StoreUnavailableError}. */
  close(): void {
    if (this.#closed) return;
    // Work already handed to batch() is committed, not dropped.
    this.#flush();
    this.#closed = true;
    this.#sweeper?.stop();
    this.#db.close();
  }

  /** Closes the store, for `using store = new SqliteStore()`. */
  [disposeSymbol](): void {
    this.close();
  }
}
