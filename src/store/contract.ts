/**
 * `satchel/store`: the store contract, for writing a store of your own or
 * typing a variable that holds any store. Every built-in store implements
 * it; `satchel/testing` checks a store against it. Besides the required
 * methods: the optional capabilities a store may declare (the middleware
 * finds them by shape), the `Clock` every store's `clock` option takes, and
 * the shape of the ids a store is given.
 *
 * @example
 * ```ts
 * import type { SessionStore, StoredSession } from "satchel/store";
 *
 * class MapStore implements SessionStore {
 *   #rows = new Map<string, StoredSession>();
 *   get(id: string): StoredSession | null {
 *     const row = this.#rows.get(id);
 *     return row !== undefined && row.expiresAt > Date.now() ? row : null;
 *   }
 *   set(id: string, session: StoredSession): void {
 *     this.#rows.set(id, session);
 *   }
 *   delete(id: string): void {
 *     this.#rows.delete(id);
 *   }
 *   touch(id: string, expiresAt: number): void {
 *     const row = this.get(id);
 *     if (row !== null) this.#rows.set(id, { ...row, expiresAt });
 *   }
 *   update(id: string, fn: (current: StoredSession | null) => StoredSession | null): StoredSession | null {
 *     const next = fn(this.get(id));
 *     if (next === null) this.#rows.delete(id);
 *     else this.#rows.set(id, next);
 *     return next;
 *   }
 *   deleteExpired(now = Date.now()): number {
 *     let n = 0;
 *     for (const [id, row] of this.#rows) if (row.expiresAt <= now && this.#rows.delete(id)) n++;
 *     return n;
 *   }
 * }
 * ```
 * @module
 */
export type {
  Awaitable,
  DeleteAll,
  DeleteByUser,
  DeleteExpired,
  GroupCommit,
  RequestBound,
  SessionStore,
  StoredSession,
  SynchronousStore,
  Touch,
  UpdateFn,
  UserSessionEntry,
  UserSessionListing,
} from "./types.ts";
export type { Clock } from "../clock.ts";
export type { Disposer } from "../_internal/dispose.ts";
export { generateId, isValidId } from "../id.ts";
