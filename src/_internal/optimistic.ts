/**
 * Pieces shared by the optimistic stores (DenoKvStore, D1Store, RedisStore):
 * a queue that runs one store instance's writes of one id in turn, and the
 * jittered backoff between compare-and-set attempts.
 * @module
 */

/**
 * Runs the operations given for one key one after another, in the order
 * given. Writers of one id inside one process then never race each other's
 * compare-and-set; contention only comes from other processes.
 */
export class KeyedQueue {
  #tails = new Map<string, Promise<void>>();

  /** Run `fn` once every operation queued earlier for `key` has settled. */
  run<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(() => {}, () => {});
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
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
