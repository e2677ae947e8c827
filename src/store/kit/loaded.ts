/**
 * The read behind each session a compare-and-set store's `get` returned, so
 * that the `update` the middleware makes of it in the same request uses that
 * read instead of one of its own (the compare-and-set still checks it). Used
 * by RedisStore, PostgresStore, D1Store and DenoKvStore.
 *
 * Keyed by the object `get` returned, which the caller hands back to
 * `update` (its `loaded` argument), in a `WeakMap`: a read lives exactly as
 * long as the request holds its session, however many requests run at once.
 * Until this round the reads were kept by id in a bounded `Map`, and every
 * read of a request that never writes (most of them) stayed until pushed
 * out, long enough to burden every garbage collection (measured:
 * bench/RESULTS.md#redisstore-against-honosession-on-redis-issue-23).
 * @module
 */
import type { Clock } from "../../clock.ts";
import type { StoredSession } from "../types.ts";

/** Payloads larger than this (in characters) are not remembered: bounds what a held session keeps alive. RedisStore's near cache keeps the same rule. */
export const MAX_REMEMBERED_PAYLOAD = 16 * 1024;
/** How long a remembered read may stand in for a fresh one, in ms. */
const MAX_AGE_MS = 10_000;

/** The reads behind the sessions `get` returned; each is used at most once. */
export class LoadedReads<R extends { readonly live: StoredSession | null }> {
  #reads = new WeakMap<StoredSession, { id: string; read: R; at: number }>();
  #clock: Clock;

  /** @param clock The store's clock: a remembered session past its expiry is never used. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * What `get(id)` returns for `read`: a copy of its live session (or
   * `null`), remembered with the read for the `update` that may follow.
   */
  hand(id: string, read: R): StoredSession | null {
    if (read.live === null) return null;
    const loaded = { ...read.live };
    if (read.live.payload.length <= MAX_REMEMBERED_PAYLOAD) {
      this.#reads.set(loaded, { id, read, at: performance.now() });
    }
    return loaded;
  }

  /**
   * The read behind `loaded` if `get(id)` of this store returned it, less
   * than 10 s ago, and it is still live by the store's clock; it is used once.
   */
  recall(id: string, loaded: StoredSession | undefined): R | undefined {
    if (loaded === undefined) return undefined;
    const hit = this.#reads.get(loaded);
    if (hit === undefined || hit.id !== id) return undefined;
    this.#reads.delete(loaded);
    if (performance.now() - hit.at > MAX_AGE_MS || hit.read.live!.expiresAt <= this.#clock()) return undefined;
    return hit.read;
  }
}
