/**
 * The reads a compare-and-set store's `get` made recently, so that the
 * `update` that usually follows in the same request uses one instead of a
 * read of its own (the compare-and-set still checks it). Used by RedisStore
 * and PostgresStore.
 * @module
 */
import type { Clock } from "../../clock.ts";
import type { StoredSession } from "../types.ts";

/**
 * How many reads are remembered at most: reads of requests that never write
 * (most of them) wait here until pushed out, and the longer they live the
 * more each garbage collection has to carry. Measured on Bun over HTTP
 * (RedisStore, /read, three alternating runs): 1,024 cost 2–3 µs of CPU per
 * load against 128 (36.3k → 40.6k and 38.6k → 42.0k req/s in two sessions),
 * 256 half of that. The oldest eighth goes at once, so a read outlives at
 * least 112 later loads: a process making more loads than that between one
 * request's load and its write (at 40,000 loads/s, a handler that waits 3 ms
 * between them) reads again for that write: one more round trip, never a
 * wrong answer.
 */
export const RECENT_READS = 128;
/** Payloads larger than this (in characters) are not remembered: bounds the memory (at 16 MiB here). RedisStore's near cache keeps the same rule. */
export const MAX_REMEMBERED_PAYLOAD = 16 * 1024;
/** How long a remembered read may stand in for a fresh one, in ms. */
const MAX_AGE_MS = 10_000;

/** Recent reads by id, oldest first (insertion order); each is used at most once. */
export class RecentReads<R extends { readonly live: StoredSession | null }> {
  #reads = new Map<string, { read: R; at: number }>();
  #clock: Clock;
  #max: number;

  /**
   * @param clock The store's clock: a remembered session past its expiry is never used.
   * @param max How many reads are kept at most.
   */
  constructor(clock: Clock, max: number = RECENT_READS) {
    this.#clock = clock;
    this.#max = max;
  }

  /** Remember what `get` read of `id` (nothing for a missing session or a large payload). */
  remember(id: string, read: R): void {
    this.#reads.delete(id);
    if (read.live === null || read.live.payload.length > MAX_REMEMBERED_PAYLOAD) return;
    if (this.#reads.size >= this.#max) this.#evict();
    this.#reads.set(id, { read, at: performance.now() });
  }

  /** Drop the oldest eighth in one walk, not one per insertion. */
  #evict(): void {
    let drop = Math.max(1, this.#max >> 3);
    for (const id of this.#reads.keys()) {
      this.#reads.delete(id);
      if (--drop === 0) break;
    }
  }

  /** The read `get` just made of `id`, if recent and still live; it is used once. */
  recall(id: string): R | undefined {
    const hit = this.#reads.get(id);
    if (hit === undefined) return undefined;
    this.#reads.delete(id);
    if (performance.now() - hit.at > MAX_AGE_MS || hit.read.live!.expiresAt <= this.#clock()) return undefined;
    return hit.read;
  }

  /** Forget the read of `id` (a write of this store changed the session). */
  forget(id: string): void {
    this.#reads.delete(id);
  }

  /** Forget every read. */
  clear(): void {
    this.#reads.clear();
  }

  /** How many reads are remembered. */
  get size(): number {
    return this.#reads.size;
  }
}
