/**
 * Transactions of {@linkcode SqliteStore}: the one BEGIN/COMMIT/ROLLBACK
 * bracket, and group commit, where the work of one event-loop turn shares
 * one `BEGIN IMMEDIATE` and each piece keeps its own savepoint
 * (bench/RESULTS.md#group-commit-sqlitestorebatch).
 * @module
 */
import { isThenable } from "../../awaitable.ts";
import { defer } from "./driver.ts";
import type { Statements } from "./schema.ts";

/** How a transaction ended: the work's value, or the error and the step that threw it. */
export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; step: "begin" | "work" | "commit"; error: unknown };

type TransactionStatements = Pick<Statements, "begin" | "commit" | "rollback">;

function rollbackQuietly(sql: TransactionStatements): void {
  try {
    sql.rollback.run();
  } catch {
    // The transaction is already gone (SQLite rolls back on some errors itself).
  }
}

/** Runs `work` between `BEGIN IMMEDIATE` and `COMMIT`; rolls back when `work` or `COMMIT` throws. */
export function transaction<T>(sql: TransactionStatements, work: () => T): Outcome<T> {
  try {
    sql.begin.run();
  } catch (error) {
    return { ok: false, step: "begin", error };
  }
  let value: T;
  try {
    value = work();
  } catch (error) {
    rollbackQuietly(sql);
    return { ok: false, step: "work", error };
  }
  try {
    sql.commit.run();
  } catch (error) {
    rollbackQuietly(sql);
    return { ok: false, step: "commit", error };
  }
  return { ok: true, value };
}

/** What the group committer needs from its store. */
export interface CommitHost {
  sql: Statements;
  /** Whether SQLite still has the transaction open (it ends it on its own after some errors). */
  inTransaction(): boolean;
  /** Throws when no write may run now (a closed store, a deleted file): every queued piece gets that error. */
  checkWrite(): void;
  /** SQLite's error as the store reports it. */
  wrap(cause: unknown): Error;
  /** The error of work under which SQLite ended the transaction. */
  ended(): Error;
}

/** A piece of work given to `batch`, and how to answer it. */
interface QueuedWork {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Thrown inside a shared transaction to abandon it: each piece then runs again alone. */
const RETRY_ALONE = Symbol("retry alone");

/** Thrown inside a shared transaction when SQLite ended it under `item`. */
class EndedUnder {
  readonly item: QueuedWork;
  readonly error: unknown;
  constructor(item: QueuedWork, error: unknown) {
    this.item = item;
    this.error = error;
  }
}

/**
 * Queues work and runs it at the next turn of the event loop: together in
 * one transaction, each piece in its own savepoint, or each alone when the
 * shared transaction fails as a whole or a piece is alone.
 */
export class GroupCommitter {
  #host: CommitHost;
  #queue: QueuedWork[] = [];
  #scheduled = false;
  #running = false;

  constructor(host: CommitHost) {
    this.#host = host;
  }

  /** True while queued work runs: the store's methods then open no transaction of their own. */
  get running(): boolean {
    return this.#running;
  }

  /** Queues `work`; resolves with its value once its transaction committed. */
  enqueue<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        defer(() => this.flush());
      }
    });
  }

  /** Runs every queued piece of work now. */
  flush(): void {
    this.#scheduled = false;
    const items = this.#queue;
    this.#queue = [];
    if (items.length === 0) return;
    try {
      this.#host.checkWrite();
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    if (items.length > 1 && this.#runShared(items)) return;
    for (const item of items) this.#runAlone(item);
  }

  /** Runs `work` with the store in batch mode; a promise is refused. */
  #runWork(work: () => unknown): unknown {
    this.#running = true;
    try {
      const value = work();
      if (isThenable(value)) {
        throw new TypeError("SqliteStore.batch(): work must be synchronous; it returned a promise");
      }
      return value;
    } finally {
      this.#running = false;
    }
  }

  /** One piece of work in its own transaction: all of its writes or none. */
  #runAlone(item: QueuedWork): void {
    const outcome = transaction(this.#host.sql, () => {
      const value = this.#runWork(item.work);
      if (!this.#host.inTransaction()) throw this.#host.ended();
      return value;
    });
    if (outcome.ok) item.resolve(outcome.value);
    else item.reject(outcome.step === "work" ? outcome.error : this.#host.wrap(outcome.error));
  }

  /**
   * Runs `items` in one transaction and settles them; false (having settled
   * none and left nothing written) when the transaction failed as a whole.
   */
  #runShared(items: QueuedWork[]): boolean {
    const outcome = transaction(this.#host.sql, () => this.#inSavepoints(items));
    if (outcome.ok) {
      for (const settle of outcome.value) settle();
      return true;
    }
    if (outcome.step === "begin") {
      // Nothing ran. Each piece alone would wait busyTimeout for the same lock again: tell them all now.
      const error = this.#host.wrap(outcome.error);
      for (const item of items) item.reject(error);
      return true;
    }
    if (outcome.error instanceof EndedUnder) {
      // Had that work gone on after the failed statement, what it did next was written on its own:
      // it gets its error. The others were rolled back with the transaction and run again, alone.
      const { item, error } = outcome.error;
      item.reject(error);
      for (const other of items) if (other !== item) this.#runAlone(other);
      return true;
    }
    return false;
  }

  /** Runs each item in a savepoint of the open transaction; returns how to settle each once it commits. */
  #inSavepoints(items: QueuedWork[]): (() => void)[] {
    const { sql } = this.#host;
    const outcomes: (() => void)[] = [];
    for (const item of items) {
      this.#sqlOrRetry(() => sql.savepoint.run());
      let value: unknown;
      let failed = false;
      try {
        value = this.#runWork(item.work);
      } catch (error) {
        failed = true;
        value = error;
      }
      // SQLite ended the whole transaction under this work (a full database does, and I/O errors).
      if (!this.#host.inTransaction()) throw new EndedUnder(item, failed ? value : this.#host.ended());
      this.#sqlOrRetry(() => {
        if (failed) sql.rollbackTo.run();
        sql.release.run();
      });
      outcomes.push(failed ? () => item.reject(value) : () => item.resolve(value));
    }
    return outcomes;
  }

  #sqlOrRetry(run: () => void): void {
    try {
      run();
    } catch {
      throw RETRY_ALONE;
    }
  }
}
