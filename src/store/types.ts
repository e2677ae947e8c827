/**
 * The store contract: where session data lives.
 * Stores hold opaque payloads; the middleware owns serialization.
 * @module
 */

import type { Context } from "hono";

/** A value or a promise of it: in-process stores answer synchronously. */
export type Awaitable<T> = T | Promise<T>;

/** One session as a store keeps it. Times are milliseconds since the epoch. */
export interface StoredSession {
  /** The serialized session data, opaque to the store. */
  payload: string;
  /** When the session ends if it is not touched again (idle expiry). */
  expiresAt: number;
  /** When the session was created (for the absolute timeout). */
  createdAt: number;
  /** The user the session belongs to, when the app said so (`session.setUser`). */
  userId?: string | null;
}

/** The function given to {@linkcode SessionStore.update}. */
export type UpdateFn = (current: StoredSession | null) => StoredSession | null;

/**
 * Where sessions are kept. Every method may answer synchronously or with a
 * promise; callers always `await`.
 */
export interface SessionStore {
  /** Required. The live session with this id, or `null` (missing or expired, swept or not). */
  get(id: string): Awaitable<StoredSession | null>;
  /** Required. Insert or replace the session. */
  set(id: string, session: StoredSession): Awaitable<void>;
  /** Required. Remove the session; a missing id is not an error. */
  delete(id: string): Awaitable<void>;
  /** Required. Move the idle expiry of a live session; never rewrites the payload. */
  touch(id: string, expiresAt: number): Awaitable<void>;
  /**
   * Required. Atomic read-modify-write (Catalyst's get_and_set_session_data):
   * `fn` sees the current live value (or `null`) and returns the new one
   * (`null` deletes). No other writer can interleave. If `fn` throws, nothing
   * is written and the error propagates. Returns what was stored.
   */
  update(id: string, fn: UpdateFn): Awaitable<StoredSession | null>;
  /** Required. Remove sessions whose expiry is at or before `now`; returns how many. */
  deleteExpired(now?: number): Awaitable<number>;
  /** Optional. End every session of a user ("sign out everywhere"); returns how many. */
  deleteByUser?(userId: string): Awaitable<number>;
  /**
   * Optional. A view of the store bound to one request, for stores that keep
   * data in the request itself (the encrypted cookie store). The middleware
   * calls it once per request and uses what it returns for that request.
   */
  forRequest?(c: Context): SessionStore;
  /**
   * Optional. Group commit: run `work`, which calls this store's methods
   * synchronously, together with other requests' work in one transaction,
   * and resolve with its result once that transaction committed; work that
   * throws rolls back only its own writes. The middleware commits through it
   * when a store has it (SqliteStore does), so a store with `batch` must
   * answer `get`, `set`, `update`, `touch` and `delete` synchronously.
   */
  batch?<T>(work: () => T): Promise<T>;
  /** Optional. Largest payload the store accepts, in bytes; the middleware's default limit. */
  readonly maxPayloadBytes?: number;
  /** Optional. Release connections and files. */
  close?(): Awaitable<void>;
}
