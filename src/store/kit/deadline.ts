/**
 * Time limits for many calls at once with one timer: each call registers its
 * deadline, and one interval, running only while calls are pending, fails
 * those past theirs. A `setTimeout` per call costs a few µs on Node (more
 * than the rest of a `get`: bench/RESULTS.md#postgresstore-issue-21) and on
 * Bun; this costs a Set insertion. Used by PostgresStore and RedisStore. The price is precision: a call fails up to one tick
 * (a tenth of the limit, 5 to 100 ms) after its deadline.
 * @module
 */

interface Pending {
  at: number;
  fail: () => void;
}

/** One interval for every pending call of a store. */
export class DeadlineWatch {
  #pending = new Set<Pending>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #tick: number;

  /** @param limitMs The usual limit; the check runs every tenth of it (5 to 100 ms). */
  constructor(limitMs: number) {
    this.#tick = Math.max(5, Math.min(100, Math.floor(limitMs / 10)));
  }

  /**
   * `promise`, or a rejection with `timeout()` once `ms` have passed. A late
   * failure of `promise` is swallowed (it has a handler), never unhandled.
   */
  within<T>(promise: Promise<T>, ms: number, timeout: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { at: performance.now() + ms, fail: () => reject(timeout()) };
      this.#pending.add(entry);
      this.#timer ??= setInterval(() => this.#check(), this.#tick);
      promise.then((value) => {
        this.#pending.delete(entry);
        resolve(value);
      }, (e) => {
        this.#pending.delete(entry);
        reject(e);
      });
    });
  }

  #check(): void {
    const now = performance.now();
    for (const entry of this.#pending) {
      if (entry.at <= now) {
        this.#pending.delete(entry);
        entry.fail();
      }
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
