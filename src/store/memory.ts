/**
 * Sessions in a `Map` of this process: for development and tests. Nothing is
 * shared between processes and nothing survives a restart. Expiry is honoured
 * on every read; nothing is ever evicted while it is live.
 * @module
 */
import type { Clock } from "../clock.ts";
import {
  clockOption,
  maxPayloadBytesOption,
  oldestFirst,
  onSweepOption,
  readOptions,
  sweepIntervalOption,
} from "./kit/mod.ts";
import type {
  DeleteAll,
  DeleteByUser,
  DeleteExpired,
  SessionStore,
  StoredSession,
  SynchronousStore,
  Touch,
  UpdateFn,
  UserSessionEntry,
  UserSessionListing,
} from "./types.ts";
import { startSweeper, type Sweeper, type SweepEvent } from "./sweeper.ts";

const SPEC = {
  clock: clockOption,
  maxPayloadBytes: maxPayloadBytesOption(),
  sweepInterval: sweepIntervalOption,
  onSweep: onSweepOption,
};

/** Options of {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /** Time source for expiry checks. @default Date.now */
  clock?: Clock;
  /** Largest payload accepted, in bytes. @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /**
   * Seconds between two sweeps of expired sessions (`deleteExpired` on an
   * unref'd timer; stops on `close()`). Without it, an expired session is
   * dropped only when it is read. @default undefined (no timer)
   */
  sweepInterval?: number;
  /** Called after each timed sweep. @default logs failed sweeps */
  onSweep?: (event: SweepEvent) => void;
}

/**
 * An in-process store.
 * @example
 * ```ts
 * import { MemoryStore, session } from "satchel";
 * const mw = session({ secret: "a secret of at least thirty-two bytes!!", store: new MemoryStore() });
 * ```
 */
export class MemoryStore
  implements SessionStore, SynchronousStore, Touch, DeleteExpired, DeleteByUser, DeleteAll, UserSessionListing {
  /** Every method answers synchronously (see {@linkcode SynchronousStore}). */
  readonly synchronous = true;
  /** Largest payload accepted, in bytes. */
  readonly maxPayloadBytes: number;
  #map = new Map<string, StoredSession>();
  #clock: Clock;
  #sweeper: Sweeper | undefined;

  /**
   * An empty store; starts the sweep timer when `sweepInterval` is given.
   * @throws {RangeError} on a bad `sweepInterval` or `maxPayloadBytes`.
   */
  constructor(options: MemoryStoreOptions = {}) {
    const o = readOptions("MemoryStore", options, SPEC);
    this.#clock = o.clock;
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.#sweeper = startSweeper("MemoryStore", this, o.sweepInterval, o.onSweep);
  }

  /** How many sessions are held, live or expired but not yet swept. */
  get size(): number {
    return this.#map.size;
  }

  /** The live session with this id, or `null` (an expired one is dropped). */
  get(id: string): StoredSession | null {
    const s = this.#map.get(id);
    if (s === undefined) return null;
    if (s.expiresAt <= this.#clock()) {
      this.#map.delete(id);
      return null;
    }
    return { ...s };
  }

  /** Insert or replace the session. */
  set(id: string, session: StoredSession): void {
    this.#map.set(id, { ...session });
  }

  /** Remove the session; a missing id is not an error. */
  delete(id: string): void {
    this.#map.delete(id);
  }

  /** Move a live session's idle expiry. */
  touch(id: string, expiresAt: number): void {
    const s = this.get(id);
    if (s !== null) this.#map.set(id, { ...s, expiresAt });
  }

  /** Read, apply `fn`, write, with nothing in between (synchronous). */
  update(id: string, fn: UpdateFn): StoredSession | null {
    // Synchronous from read to write: nothing else in this process can interleave.
    const next = fn(this.get(id));
    if (next === null) this.#map.delete(id);
    else this.#map.set(id, { ...next });
    return next;
  }

  /** Remove sessions expired at `now`; returns how many. */
  deleteExpired(now: number = this.#clock()): number {
    let removed = 0;
    for (const [id, s] of this.#map) {
      if (s.expiresAt <= now) {
        this.#map.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** Remove every session of `userId`; returns how many. */
  deleteByUser(userId: string): number {
    let removed = 0;
    for (const [id, s] of this.#map) {
      if (s.userId === userId) {
        this.#map.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** The live sessions of `userId`, oldest first. */
  listByUser(userId: string): UserSessionEntry[] {
    const now = this.#clock();
    const out: UserSessionEntry[] = [];
    for (const [id, s] of this.#map) {
      if (s.userId === userId && s.expiresAt > now) out.push({ id, session: { ...s } });
    }
    return oldestFirst(out);
  }

  /** Remove every session; returns how many live sessions it ended. */
  deleteAll(): number {
    const now = this.#clock();
    let ended = 0;
    for (const s of this.#map.values()) if (s.expiresAt > now) ended++;
    this.#map.clear();
    return ended;
  }

  /** Stops the sweeper and drops every session. */
  close(): void {
    this.#sweeper?.stop();
    this.#map.clear();
  }
}
