/**
 * Deadlines for many commands under one timer. RedisStore bounds every
 * command by its operation's deadline; a `setTimeout` and a `Promise.race`
 * per command cost more CPU than the command's own client work
 * (bench/RESULTS.md#redisstore-against-hono-session-on-redis-issue-23), so
 * pending commands share one timer, armed for the earliest deadline.
 * @module
 */

interface Pending {
  deadline: number;
  expire: () => void;
}

/** Commands waiting for their reply, each with the time (`performance.now()`) it must have come by. */
export class Deadlines {
  #pending = new Set<Pending>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires, or `Infinity` when none is armed. */
  #armedFor = Infinity;

  /**
   * `promise`'s outcome, or a rejection with `timeout()` once `deadline`
   * has passed; a late failure of `promise` is swallowed.
   */
  within<T>(promise: Promise<T>, deadline: number, timeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline, expire: () => reject(timeout()) };
      this.#pending.add(entry);
      if (deadline < this.#armedFor) this.#arm(deadline);
      promise.then(
        (value) => {
          this.#pending.delete(entry);
          resolve(value);
        },
        (e) => {
          this.#pending.delete(entry);
          reject(e);
        },
      );
    });
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(this.#sweep, Math.max(0, at - performance.now()));
  }

  /** Expire what is due and arm the timer for the earliest deadline left. */
  #sweep = (): void => {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const p of this.#pending) {
      if (p.deadline <= now) {
        this.#pending.delete(p);
        p.expire();
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    if (next !== Infinity) this.#arm(next);
  };
}
