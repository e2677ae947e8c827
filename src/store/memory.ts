/**
 * Sessions in a `Map` of this process: for development and tests. Nothing is
 * shared between processes and nothing survives a restart. Expiry is honoured
 * on every read; nothing is ever evicted while it is live.
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import type { SessionStore, StoredSession, UpdateFn } from "./types.ts";

/** Options of {@linkcode MemoryStore}. */
export interface MemoryStoreOptions {
  /** Time source for expiry checks. @default Date.now */
  clock?: Clock;
  /** Largest payload accepted, in bytes. @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
}

/**
 * An in-process store.
 * @example
 * ```ts
 * import { MemoryStore, session } from "satchel";
 * const mw = session({ secret: "a secret of at least thirty-two bytes!!", store: new MemoryStore() });
 * ```
 */
export class MemoryStore implements SessionStore {
  readonly maxPayloadBytes: number;
  #map = new Map<string, StoredSession>();
  #clock: Clock;

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 1024 * 1024;
  }

  /** How many sessions are held, live or expired but not yet swept. */
  get size(): number {
    return this.#map.size;
  }

  get(id: string): StoredSession | null {
    const s = this.#map.get(id);
    if (s === undefined) return null;
    if (s.expiresAt <= this.#clock()) {
      this.#map.delete(id);
      return null;
    }
    return { ...s };
  }

  set(id: string, session: StoredSession): void {
    this.#map.set(id, { ...session });
  }

  delete(id: string): void {
    this.#map.delete(id);
  }

  touch(id: string, expiresAt: number): void {
    const s = this.get(id);
    if (s !== null) this.#map.set(id, { ...s, expiresAt });
  }

  update(id: string, fn: UpdateFn): StoredSession | null {
    // Synchronous from read to write: nothing else in this process can interleave.
    const next = fn(this.get(id));
    if (next === null) this.#map.delete(id);
    else this.#map.set(id, { ...next });
    return next;
  }

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

  close(): void {
    this.#map.clear();
  }
}
