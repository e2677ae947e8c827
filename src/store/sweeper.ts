/**
 * The optional in-process sweeper of the stores: `deleteExpired` on a timer
 * that never keeps the process alive, never overlaps itself, and stops on
 * `close()`. Web-standard timers only.
 * @module
 */
import { describeError } from "../_internal/errors.ts";
import { callSafely } from "../_internal/listener.ts";
import { checkNumber } from "../_internal/numbers.ts";
import { canDeleteExpired, type SessionStore } from "./types.ts";

/** What one timed sweep did, for `onSweep`. */
export interface SweepEvent {
  /** Sessions removed (0 when the sweep failed). */
  removed: number;
  /** How long the sweep took, in ms. */
  durationMs: number;
  /** Why the sweep failed; the sweeper keeps running and tries again next interval. */
  error?: unknown;
}

/** Longest delay `setTimeout` honours (about 24.8 days). */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Checks a `sweepInterval` option at setup.
 * @throws {RangeError} unless it is undefined or a positive number of seconds a timer can wait.
 */
export function checkSweepInterval(owner: string, seconds: number | undefined): void {
  if (seconds === undefined) return;
  checkNumber(owner, "sweepInterval", seconds, {
    min: 0,
    above: true,
    max: Math.floor(MAX_DELAY / 1000),
    unit: "seconds",
  });
}

function defaultOnSweep(event: SweepEvent): void {
  if (event.error === undefined) return;
  console.error(`satchel: sweep failed: ${describeError(event.error)}`);
}

/**
 * Runs `sweep` every `intervalSeconds`, counted from the end of the previous
 * sweep, so two timed sweeps never overlap. The timer is unref'd: a process
 * with nothing else to do exits.
 */
export class Sweeper {
  #ms: number;
  #sweep: () => number | Promise<number>;
  #onSweep: (event: SweepEvent) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(intervalSeconds: number, sweep: () => number | Promise<number>, onSweep?: (event: SweepEvent) => void) {
    this.#ms = intervalSeconds * 1000;
    this.#sweep = sweep;
    this.#onSweep = onSweep ?? defaultOnSweep;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => void this.#run(), this.#ms);
    // Node, Bun and Deno return a Timeout object with unref(); other runtimes keep the timer as is.
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  async #run(): Promise<void> {
    const start = performance.now();
    let event: SweepEvent;
    try {
      event = { removed: await this.#sweep(), durationMs: performance.now() - start };
    } catch (error) {
      event = { removed: 0, durationMs: performance.now() - start, error };
    }
    if (this.#stopped) return;
    // A callback that throws or rejects is reported, never an unhandled rejection; the schedule goes on.
    callSafely("onSweep", this.#onSweep, event);
    this.#schedule();
  }

  /** Stops the timer; a sweep in progress ends at its next batch boundary (the store checks `close`). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

/**
 * The sweeper of a store's `sweepInterval` option: none when `seconds` is
 * undefined. A store without `deleteExpired` (its backend expires sessions
 * itself) has nothing to sweep: asking for a sweeper on it fails at setup.
 * @param owner The store's name, for the message.
 * @throws {TypeError} when `store` has no `deleteExpired`.
 */
export function startSweeper(
  owner: string,
  store: SessionStore,
  seconds: number | undefined,
  onSweep?: (event: SweepEvent) => void,
): Sweeper | undefined {
  if (seconds === undefined) return undefined;
  if (!canDeleteExpired(store)) {
    throw new TypeError(
      `Cannot sweep ${owner}: it expires sessions itself and has no deleteExpired; drop sweepInterval`,
    );
  }
  checkSweepInterval(owner, seconds);
  return new Sweeper(seconds, () => store.deleteExpired(), onSweep);
}
