/**
 * A clock tests move by hand, so expiry is tested without sleeping.
 * @module
 */

/**
 * A clock that stands still until {@linkcode FakeClock.advance} moves it.
 * @example
 * ```ts
 * import { MemoryStore } from "satchel";
 * import { FakeClock } from "satchel/testing";
 *
 * const clock = new FakeClock();
 * const store = new MemoryStore({ clock: clock.fn });
 * clock.advance(60); // one minute later, for the store too
 * ```
 */
export class FakeClock {
  /** The time, in ms since the epoch. */
  now: number;

  /**
   * A clock standing at `start`.
   * @param start The time to start at, in ms since the epoch (default: 2026-01-01T00:00:00Z).
   */
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.now = start;
  }

  /** Move forward `seconds`. */
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }

  /** The clock as a function, to pass as a store's or the middleware's `clock`. */
  readonly fn: () => number = () => this.now;
}
