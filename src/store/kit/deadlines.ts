/**
 * Deadlines for many pending operations under one timer. Stores bound every
 * call (RedisStore every command) by a deadline; a `setTimeout` and a
 * `Promise.race` each cost about as much CPU as a Redis command's own client
 * work (bench/RESULTS.md#redisstore-against-hono-session-on-redis-issue-23),
 * so pending operations share one timer, armed for the earliest deadline.
 * @module
 */

interface Pending {
  deadline: number;
  expire: () => void;
}

/** Operations waiting for their outcome, each with the time (`performance.now()`) it must have come by. */
export class Deadlines {
  #pending = new Set<Pending>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires, or `Infinity` when none is armed. */
  #armedFor = Infinity;

  /**
   * `promise`'s outcome, or a rejection with `timeout()` once `deadline`
   * has passed; a late failure of `promise` is swallowed.
   */
  within<T>(promise: Promise<T>, deadline: number, timeout: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline, expire: () => reject(timeout()) };
      this.#pending.add(entry);
      if (deadline < this.#armedFor) this.#arm(deadline);
      promise.then(
        (value) => {
          this.#settled(entry);
          resolve(value);
        },
        (e) => {
          this.#settled(entry);
          reject(e);
        },
      );
    });
  }

  /** Forget `entry`; with nothing left pending, stop the timer, so it never keeps a process alive. */
  #settled(entry: Pending): void {
    this.#pending.delete(entry);
    if (this.#pending.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#armedFor = Infinity;
    }
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(this.#sweep, Math.max(0, at - performance.now()));
  }

  /** Expire what is due, earliest deadline first, and arm the timer for the earliest deadline left. */
  #sweep = (): void => {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = performance.now();
    const due: Pending[] = [];
    let next = Infinity;
    for (const p of this.#pending) {
      if (p.deadline <= now) due.push(p);
      else if (p.deadline < next) next = p.deadline;
    }
    for (const p of due.sort((a, b) => a.deadline - b.deadline)) {
      this.#pending.delete(p);
      p.expire();
    }
    if (next !== Infinity) this.#arm(next);
  };
}
