/**
 * The optimistic update of every compare-and-set store (RedisStore,
 * DenoKvStore, D1Store, PostgresStore): read, compute, write only if nothing
 * changed since the read, and re-read after a conflict, with jittered backoff,
 * up to `maxUpdateRetries` times. Writes of one id in one store instance wait
 * their turn in a keyed queue, so contention only comes from other processes.
 * @module
 */
import { StoreUnavailableError } from "../../errors.ts";

/**
 * Runs the operations given for one key one after another, in the order
 * given. Writers of one id inside one process then never race each other's
 * compare-and-set; contention only comes from other processes.
 */
export class KeyedQueue {
  #tails = new Map<string, Promise<void>>();

  /**
   * Run `fn` once every operation queued earlier for `key` has settled.
   * With `limit`, an operation that had to wait rejects with
   * `limit.timeout()` once `limit.ms` have passed, its wait included, and
   * never starts if its time ran out while it waited. One that found nothing
   * queued is not timed here: its caller bounds each of its calls by the same
   * deadline (RedisStore does), and a timer per operation was a tenth of a
   * cached `/inc` on Bun.
   */
  run<R>(key: string, fn: () => Promise<R>, limit?: QueueLimit): Promise<R> {
    const queued = this.#tails.get(key);
    const prev = queued ?? Promise.resolve();
    let abandoned = false;
    const turn = () => abandoned ? Promise.reject(limit!.timeout()) : fn();
    const result = prev.then(turn, turn);
    const tail = result.then(() => {}, () => {});
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    if (limit === undefined || queued === undefined) return result;
    return withinMs(result, limit.ms, limit.timeout).catch((e) => {
      abandoned = true;
      throw e;
    });
  }
}

/** How long an operation that has to wait its turn may take, its wait included, and the error once that passed. */
export interface QueueLimit {
  /** Milliseconds from the call. */
  ms: number;
  /** The rejection once they passed. */
  timeout: () => unknown;
}

/** `promise`, or a rejection with `timeout()` once `ms` have passed; a late failure of `promise` is swallowed. */
export async function withinMs<T>(promise: Promise<T>, ms: number, timeout: () => unknown): Promise<T> {
  promise.catch(() => {}); // a late failure after the timeout must not go unhandled
  if (ms <= 0) throw timeout();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Wait a random time before attempt `attempt + 1`: full jitter over a window
 * that doubles per attempt up to `capMs`, so writers that collided once do
 * not collide again in lockstep.
 */
export function backoff(attempt: number, capMs = 50): Promise<void> {
  const ms = Math.random() * Math.min(capMs, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What {@linkcode OptimisticStep.write} returns when another writer came first: read again. */
export const CONFLICT: unique symbol = Symbol("conflict");

/** One optimistic operation of a store, on what it read as `R`, resolving to `T`. */
export interface OptimisticStep<R, T> {
  /** For the messages: `"update"`, `"touch"`, `"delete"`, … */
  action: string;
  /** Read the current value (and what the write must compare against). */
  read: () => Promise<R>;
  /**
   * A read made just before (a `get` whose result the caller remembered) to
   * stand in for the first read; `undefined` to read. Called once, when the
   * operation's turn comes. The compare-and-set still checks it.
   */
  first?: () => R | undefined;
  /**
   * Compute from `seen` and write if nothing changed since; {@linkcode CONFLICT}
   * when something did. May run once per attempt: what it computes must
   * depend on `seen` only. Its errors pass through unchanged.
   */
  write: (seen: R) => Promise<T | typeof CONFLICT>;
}

/**
 * Run `step` until its write lands: the first retry at once, later ones after
 * a jittered {@linkcode backoff}.
 * @param retries How many attempts in all (`maxUpdateRetries`).
 * @param writers Who else writes, for the message: `"processes"`, `"isolates"`.
 * @throws {StoreUnavailableError} when `retries` attempts all met a conflict.
 */
export async function optimistic<R, T>(step: OptimisticStep<R, T>, retries: number, writers: string): Promise<T> {
  for (let attempt = 1;; attempt++) {
    const seen = (attempt === 1 ? step.first?.() : undefined) ?? await step.read();
    const result = await step.write(seen);
    if (result !== CONFLICT) return result as T;
    if (attempt >= retries) {
      throw new StoreUnavailableError(
        `Cannot ${step.action} session: other writers changed it ${attempt} times in a row; ` +
          `raise maxUpdateRetries if this many ${writers} write one session at once`,
      );
    }
    if (attempt > 1) await backoff(attempt);
  }
}

/**
 * A store's optimistic writer: {@linkcode optimistic} operations, one at a
 * time per id in this instance ({@linkcode KeyedQueue}).
 */
export class OptimisticWriter {
  #queue = new KeyedQueue();
  #retries: number;
  #writers: string;

  /**
   * @param retries `maxUpdateRetries`.
   * @param writers Who else writes, for the message: `"processes"`, `"isolates"`.
   */
  constructor(retries: number, writers: string) {
    this.#retries = retries;
    this.#writers = writers;
  }

  /** Run `step` on `id` once the operations queued before it on `id` have settled. */
  run<R, T>(id: string, step: OptimisticStep<R, T>, limit?: QueueLimit): Promise<T> {
    return this.#queue.run(id, () => optimistic(step, this.#retries, this.#writers), limit);
  }
}
