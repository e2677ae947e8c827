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
 * Where sessions are kept: the four methods every store has. Everything else
 * a store may do is an optional capability with its own interface and type
 * guard ({@linkcode Touch}, {@linkcode DeleteExpired}, {@linkcode DeleteByUser},
 * {@linkcode DeleteAll}, {@linkcode UserSessionListing}, {@linkcode GroupCommit},
 * {@linkcode SynchronousStore}). Every method may answer synchronously or with
 * a promise; callers always `await`. docs/store-contract.md says each
 * obligation exactly.
 */
export interface SessionStore {
  /** Required. The live session with this id, or `null` (missing or expired, swept or not). */
  get(id: string): Awaitable<StoredSession | null>;
  /** Required. Insert or replace the session. */
  set(id: string, session: StoredSession): Awaitable<void>;
  /** Required. Remove the session; a missing id is not an error. */
  delete(id: string): Awaitable<void>;
  /**
   * Required. Atomic read-modify-write: `fn` sees the current live value
   * (or `null`) and returns the new one (`null` deletes). No other writer can interleave. If `fn` throws, nothing
   * is written and the error propagates. Returns what was stored.
   *
   * `loaded`, optional: the object this store's `get(id)` returned earlier in
   * the same request, when the caller still holds it (the middleware passes
   * it). A store may use the read behind it instead of reading first; it is
   * only a first guess, never the current value (a compare-and-set store
   * still checks it). Stores that ignore it are correct.
   */
  update(id: string, fn: UpdateFn, loaded?: StoredSession): Awaitable<StoredSession | null>;
  /** Optional. Largest payload the store accepts, in bytes; the middleware's default limit. */
  readonly maxPayloadBytes?: number;
  /** Optional. Release connections and files. */
  close?(): Awaitable<void>;
}

/**
 * Optional capability: move a live session's idle expiry without rewriting
 * its payload, and never revive an expired one. Without it the middleware
 * refreshes the expiry through {@linkcode SessionStore.update}.
 */
export interface Touch {
  /** Move the idle expiry of a live session; never rewrites the payload. */
  touch(id: string, expiresAt: number): Awaitable<void>;
}

/** Whether `store` offers {@linkcode Touch}. */
export function canTouch(store: SessionStore): store is SessionStore & Touch {
  return typeof (store as Partial<Touch>).touch === "function";
}

/**
 * Optional capability: remove expired sessions (a sweep). A store whose
 * backend expires entries itself (Redis TTL, Deno KV `expireIn`) need not
 * have it; sweeping such a store is refused at setup.
 */
export interface DeleteExpired {
  /** Remove sessions whose expiry is at or before `now` (default: the store's clock); returns how many. */
  deleteExpired(now?: number): Awaitable<number>;
}

/** Whether `store` offers {@linkcode DeleteExpired}. */
export function canDeleteExpired(store: SessionStore): store is SessionStore & DeleteExpired {
  return typeof (store as Partial<DeleteExpired>).deleteExpired === "function";
}

/** Optional capability: end every session of a user ("sign out everywhere"). */
export interface DeleteByUser {
  /** Remove every session bound to `userId`; returns how many. */
  deleteByUser(userId: string): Awaitable<number>;
}

/** Whether `store` offers {@linkcode DeleteByUser}. */
export function canDeleteByUser(store: SessionStore): store is SessionStore & DeleteByUser {
  return typeof (store as Partial<DeleteByUser>).deleteByUser === "function";
}

/**
 * Optional capability: end every session (ASVS 5.0 7.4.5: an administrator
 * can terminate all sessions). Every session the store holds is gone when it
 * returns; one written by a request running at that moment may survive.
 */
export interface DeleteAll {
  /** Remove every session (and every user index); returns how many sessions it removed. */
  deleteAll(): Awaitable<number>;
}

/** Whether `store` offers {@linkcode DeleteAll}. */
export function canDeleteAll(store: SessionStore): store is SessionStore & DeleteAll {
  return typeof (store as Partial<DeleteAll>).deleteAll === "function";
}

/**
 * Optional capability: `get`, `set`, `update`, `touch` and `delete` answer
 * synchronously (SqliteStore, MemoryStore, NullStore). The middleware then
 * loads a session when the handler first touches it, and the Session API
 * stays synchronous. On other stores the handler loads it first with
 * `await c.get("session").load()` (or the middleware does, with `preload`).
 */
export interface SynchronousStore {
  /** Always `true`: the store's methods never return a promise. */
  readonly synchronous: true;
}

/** Whether `store` declares {@linkcode SynchronousStore}. */
export function isSynchronousStore(store: SessionStore): store is SessionStore & SynchronousStore {
  return (store as Partial<SynchronousStore>).synchronous === true;
}

/**
 * Optional capability: group commit. `batch(work)` runs `work`, which calls
 * this store's methods synchronously, together with other requests' work in
 * one transaction, and resolves with its result once that transaction
 * committed; work that throws rolls back only its own writes. The middleware
 * commits through it when a store has it (SqliteStore does).
 */
export interface GroupCommit {
  /** Run `work` in the shared transaction of this turn; resolves with its result once committed. */
  batch<T>(work: () => T): Promise<T>;
}

/** Whether `store` offers {@linkcode GroupCommit}. */
export function hasGroupCommit(store: SessionStore): store is SessionStore & GroupCommit {
  return typeof (store as Partial<GroupCommit>).batch === "function";
}

/**
 * A store of another kind: it keeps sessions in the request itself
 * (CookieStore), so it has no methods of its own outside a request. The
 * middleware calls `forRequest` once per request and uses the
 * {@linkcode SessionStore} it returns for that request.
 */
export interface RequestBound {
  /** The store's view for the request `c`. */
  forRequest(c: Context): SessionStore;
  /** Optional. Largest payload the store accepts, in bytes; the middleware's default limit. */
  readonly maxPayloadBytes?: number;
}

/** Whether `store` is {@linkcode RequestBound} rather than a {@linkcode SessionStore}. */
export function isRequestBound(store: SessionStore | RequestBound): store is RequestBound {
  return typeof (store as Partial<RequestBound>).forRequest === "function";
}

/** One live session of a user, as {@linkcode UserSessionListing.listByUser} returns it. */
export interface UserSessionEntry {
  /** The session id. */
  id: string;
  /** The stored session. */
  session: StoredSession;
}

/**
 * Optional capability: list a user's live sessions (the "devices" page).
 * Expired sessions are never listed, swept or not.
 */
export interface UserSessionListing {
  /** The live sessions of `userId`, oldest first (by `createdAt`, then id). */
  listByUser(userId: string): Awaitable<UserSessionEntry[]>;
}

/** Whether `store` offers {@linkcode UserSessionListing}. */
export function canListUserSessions(store: SessionStore): store is SessionStore & UserSessionListing {
  return typeof (store as Partial<UserSessionListing>).listByUser === "function";
}
