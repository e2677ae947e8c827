/**
 * The default store: one SQLite file in WAL mode with mmap, shared safely by
 * every worker process on the machine. Expiry has its own indexed column, so
 * a sweep is an indexed DELETE and a refresh never rewrites the payload.
 * Layout in ./sqlite/schema.ts, transactions in ./sqlite/group-commit.ts.
 * @module
 */
import type { Clock } from "../clock.ts";
import { SessionError, StoreUnavailableError } from "../errors.ts";
import { type Disposer, disposeSymbol } from "../_internal/dispose.ts";
import {
  clockOption,
  type Diagnose,
  guardSync,
  integer,
  maxPayloadBytesOption,
  must,
  oldestFirst,
  onSweepOption,
  OpenFlag,
  option,
  optional,
  readOptions,
  storeError,
  sweepIntervalOption,
  tableOption,
} from "./kit/mod.ts";
import { defaultDatabasePath, fileExists, openShared, type SqliteDriver, sqliteErrorCode } from "./sqlite/driver.ts";
import { GroupCommitter, transaction } from "./sqlite/group-commit.ts";
import {
  DEFAULT_TABLE,
  prepareStatements,
  refuseAutoVacuum,
  RESERVED_TABLES,
  type Row,
  setUpSchema,
  SQLITE_BUSY,
  SQLITE_FULL,
  type Statements,
  toStored,
} from "./sqlite/schema.ts";
import { startSweeper, type Sweeper, type SweepEvent } from "./sweeper.ts";
import type {
  DeleteAll,
  DeleteByUser,
  DeleteExpired,
  GroupCommit,
  SessionStore,
  StoredSession,
  SynchronousStore,
  Touch,
  UpdateFn,
  UserSessionEntry,
  UserSessionListing,
} from "./types.ts";

/** Options of {@linkcode SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * The database file; created with mode 0600 when missing.
   * @default `<os temp dir>/satchel-<uid>/<name>.sqlite`
   */
  path?: string;
  /** Names the default file. @default "app" */
  name?: string;
  /**
   * Table name: a letter or `_`, then letters, digits or `_`, at most 63 characters; not starting with
   * `sqlite_`. @default "satchel_sessions"
   */
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
   * A batch holds the write lock (and, in-process, the event loop) while it
   * runs: larger batches sweep little faster but stall requests far longer
   * (bench/sweep-results.md). @default 100
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

/** Runs `open`; a failure becomes a StoreUnavailableError naming `what` (Satchel's own errors pass as they are). */
function opening<T>(what: string, open: () => T): T {
  try {
    return open();
  } catch (cause) {
    if (cause instanceof SessionError) throw cause;
    throw new StoreUnavailableError(`Cannot open SqliteStore: ${what} could not be opened`, { cause });
  }
}

const SPEC = {
  path: optional<string>(must("a file path", (v) => typeof v === "string" && v !== "")),
  name: option<string>(
    "app",
    must('letters, digits, "-" or "_"', (v) => typeof v === "string" && /^[A-Za-z0-9_-]+$/.test(v)),
  ),
  table: tableOption(DEFAULT_TABLE, RESERVED_TABLES),
  mmapSize: option<number>(256 * 1024 * 1024, integer({ min: 0 })),
  synchronous: option<"NORMAL" | "FULL">("NORMAL", must('"NORMAL" or "FULL"', (v) => v === "NORMAL" || v === "FULL")),
  busyTimeout: option<number>(5000, integer({ min: 0 })),
  maxSizeBytes: optional<number>(integer({ min: 1 })),
  journalSizeLimit: option<number>(64 * 1024 * 1024, integer({ min: -1 })),
  maxPayloadBytes: maxPayloadBytesOption(),
  sweepBatchSize: option<number>(100, integer({ min: 1 })),
  sweepInterval: sweepIntervalOption,
  onSweep: onSweepOption,
  clock: clockOption,
};

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
export class SqliteStore
  implements
    SessionStore,
    SynchronousStore,
    GroupCommit,
    Touch,
    DeleteExpired,
    DeleteByUser,
    DeleteAll,
    UserSessionListing {
  /** Every method answers synchronously (see {@linkcode SynchronousStore}). */
  readonly synchronous = true;
  /** The file this store uses. */
  readonly path: string;
  /** The table this store uses. */
  readonly table: string;
  /** Largest payload accepted, in bytes. */
  readonly maxPayloadBytes: number;
  #db: SqliteDriver;
  #sql: Statements;
  #clock: Clock;
  #sweepBatchSize: number;
  #group: GroupCommitter;
  #open = new OpenFlag("SqliteStore");
  #diagnose: Diagnose;
  /** The sweep in progress, so sweeps of this store run one after another. */
  #sweeping: Promise<unknown> = Promise.resolve();
  #sweeper: Sweeper | undefined;

  /**
   * Opens the database file (creating it when missing) and prepares the table and statements.
   * @throws {TypeError} on a bad table name or option, or a file with auto_vacuum on while mmap is used.
   * @throws {RangeError} on a number option out of range.
   * @throws {StoreUnavailableError} when the file cannot be opened.
   */
  constructor(options: SqliteStoreOptions = {}) {
    const o = readOptions("SqliteStore", options, SPEC, { file: "use path", filename: "use path" });
    this.path = o.path ?? opening("the default folder", () => defaultDatabasePath(o.name));
    this.#diagnose = (cause) => {
      const code = sqliteErrorCode(cause);
      if (code === SQLITE_FULL) return { why: `the SQLite database is full (${this.path})`, full: true };
      const why = code === SQLITE_BUSY ? "another process held the write lock past busyTimeout" : "SQLite failed";
      return { why: `${why} (${this.path})` };
    };
    this.table = o.table;
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.#clock = o.clock;
    this.#sweepBatchSize = o.sweepBatchSize;
    // Stores of one process on one file with the same pragmas share a connection (a dev server's reloads).
    const settings = [o.busyTimeout, o.synchronous, o.mmapSize, o.journalSizeLimit, o.maxSizeBytes].join();
    const db = opening(this.path, () => openShared(this.path, settings));
    let autoVacuum: number;
    try {
      autoVacuum = setUpSchema(db, this.table, o);
      this.#sql = prepareStatements(db, this.table);
    } catch (cause) {
      db.close();
      throw this.#wrap("open", cause);
    }
    try {
      refuseAutoVacuum(this.path, autoVacuum, o.mmapSize);
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    this.#group = new GroupCommitter({
      sql: this.#sql,
      inTransaction: () => db.inTransaction(),
      checkWrite: () => this.#checkWrite("store"),
      wrap: (cause) => this.#wrap("store", cause),
      ended: () => new StoreUnavailableError(`Cannot store session: SQLite ended the transaction (${this.path})`),
    });
    this.#sweeper = startSweeper("SqliteStore", this, o.sweepInterval, o.onSweep);
  }

  #wrap(action: string, cause: unknown): SessionError {
    return storeError(action, cause, this.#diagnose);
  }

  /** Runs `statement`, reporting SQLite's error as `action`'s. */
  #run<T>(action: string, statement: () => T): T {
    return guardSync(action, this.#diagnose, statement);
  }

  /**
   * Runs `work` in a transaction of its own; inside `batch` work, in the
   * batch's (whose savepoint a failure rolls back). `work`'s error passes as is.
   */
  #transaction<T>(action: string, work: () => T): T {
    if (this.#group.running) return work();
    const outcome = transaction(this.#sql, work);
    if (outcome.ok) return outcome.value;
    throw outcome.step === "work" ? outcome.error : this.#wrap(action, outcome.error);
  }

  #check(): void {
    this.#open.check();
  }

  /**
   * SQLite keeps writing to a database file deleted while open (the WAL of an
   * unlinked inode), so every later write would vanish without a word:
   * refuse writes once the file is gone.
   */
  #checkWrite(action: string): void {
    this.#check();
    // Inside a batch the flush checked the file once, before its transaction began.
    if (this.#group.running) return;
    if (this.path !== ":memory:" && !fileExists(this.path)) {
      throw new StoreUnavailableError(
        `Cannot ${action} session: the database file ${this.path} was deleted while open; restore it or restart the process`,
      );
    }
  }

  /** The live session, or `null`. An expired row it meets is deleted on the spot. */
  get(id: string): StoredSession | null {
    this.#check();
    const now = this.#clock();
    const row = this.#run("load", () => this.#sql.peek.get(id) as Row | undefined);
    if (row === undefined) return null;
    if (row.expires_at > now) return toStored(row);
    // Inside a batch a failed statement could end the shared transaction: leave the row to the sweep.
    if (this.#group.running) return null;
    try {
      // Only if still expired: another process may have written the id meanwhile.
      this.#sql.dropExpired.run(id, now);
    } catch {
      // Best effort: the answer (no session) stands, and the next sweep removes the row.
    }
    return null;
  }

  /** Insert or replace the session (one upsert). */
  set(id: string, s: StoredSession): void {
    this.#checkWrite("store");
    this.#upsert(id, s);
  }

  #upsert(id: string, s: StoredSession): void {
    this.#run("store", () => this.#sql.upsert.run(id, s.payload, s.expiresAt, s.createdAt, s.userId ?? null));
  }

  /**
   * Inserts or replaces many sessions in one transaction (imports, migrations,
   * seeding): far cheaper than one `set` each. All or nothing. It holds the
   * write lock throughout: on a live database, give it batches of some thousands.
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
    this.#transaction("store", () => {
      for (const [id, s] of entries) this.#upsert(id, s);
    });
  }

  /** Remove the session; a missing id is not an error. */
  delete(id: string): void {
    this.#checkWrite("delete");
    this.#run("delete", () => this.#sql.delete.run(id));
  }

  /** Move a live session's idle expiry; the payload is not rewritten. */
  touch(id: string, expiresAt: number): void {
    this.#checkWrite("touch");
    this.#run("touch", () => this.#sql.touch.run(expiresAt, id, this.#clock()));
  }

  /** Read, apply `fn` and write in one `BEGIN IMMEDIATE` transaction. */
  update(id: string, fn: UpdateFn): StoredSession | null {
    this.#checkWrite("update");
    return this.#transaction("update", () => this.#readApplyWrite(id, fn));
  }

  /** The body of `update`, inside a transaction the caller holds. `fn`'s error passes through; SQLite's is typed. */
  #readApplyWrite(id: string, fn: UpdateFn): StoredSession | null {
    const row = this.#run("update", () => this.#sql.get.get(id, this.#clock()) as Row | undefined);
    const next = fn(row === undefined ? null : toStored(row));
    this.#run("update", () => {
      if (next === null) this.#sql.delete.run(id);
      else if (
        row !== undefined && next.expiresAt === row.expires_at && next.createdAt === row.created_at &&
        (next.userId ?? null) === row.user_id
      ) {
        // Only the data changed (the middleware keeps the expiry until a refresh is due): no index entry moves.
        if (next.payload !== row.payload) this.#sql.setPayload.run(next.payload, id);
      } else this.#sql.upsert.run(id, next.payload, next.expiresAt, next.createdAt, next.userId ?? null);
    });
    return next;
  }

  /**
   * Group commit: runs `work` (synchronous calls to this store's methods) at
   * the next turn of the event loop, in one `BEGIN IMMEDIATE` transaction
   * shared with the other work queued meanwhile, each piece in its own
   * savepoint; resolves with its value once that transaction committed.
   * Each piece is atomic, and one piece's failure (it threw, or SQLite ended
   * the transaction under it) never becomes another's: the others commit,
   * or run again alone. A lock not had within `busyTimeout` fails every
   * piece of the turn with {@linkcode StoreUnavailableError}. Work must not
   * catch this store's errors and go on writing.
   * @throws {TypeError} (as a rejection) when `work` returns a promise: it must be synchronous.
   */
  batch<T>(work: () => T): Promise<T> {
    return this.#group.enqueue(work);
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
    while (!this.#open.closed) {
      const start = performance.now();
      const removed = this.#run("sweep", () => this.#sql.sweep.run(now, this.#sweepBatchSize).changes);
      const ms = performance.now() - start;
      total += removed;
      onBatch?.(removed, ms);
      if (removed < this.#sweepBatchSize) break;
      // Rest as long as the batch took, so another process's writer (whose busy handler
      // retries after 1 to 100 ms) gets in instead of starving (bench/sweep-results.md).
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(ms))));
    }
    return total;
  }

  /** Remove every session of `userId`; returns how many. */
  deleteByUser(userId: string): number {
    this.#check();
    return this.#run("delete", () => this.#sql.deleteByUser.run(userId).changes);
  }

  /** The live sessions of `userId`, oldest first (through the partial index on `user_id`). */
  listByUser(userId: string): UserSessionEntry[] {
    this.#check();
    const rows = this.#run("load", () => this.#sql.listByUser.all(userId, this.#clock()));
    return oldestFirst(rows.map((row) => ({ id: row.id as string, session: toStored(row as unknown as Row) })));
  }

  /**
   * Ends every session: one transaction that counts the live rows and deletes every row.
   * @returns How many live sessions it ended.
   */
  deleteAll(): number {
    this.#checkWrite("delete");
    return this.#transaction("delete", () =>
      this.#run("delete", () => {
        const live = Number(Object.values(this.#sql.countLive.get(this.#clock()) ?? {})[0] ?? 0);
        this.#sql.deleteAll.run();
        return live;
      }));
  }

  /** Stops the sweeper and closes the database. Later calls throw {@linkcode StoreUnavailableError}. */
  close(): void {
    if (this.#open.closed) return;
    // Work already handed to batch() is committed, not dropped.
    this.#group.flush();
    this.#open.close();
    this.#sweeper?.stop();
    this.#db.close();
  }

  /** Closes the store, for `using store = new SqliteStore()`. */
  [disposeSymbol](): void {
    this.close();
  }
}
