/**
 * Satchel: server-side sessions for Hono on Bun, Deno and Node 24+.
 *
 * A session is found through a **state** (how its id travels: a signed
 * cookie, a header) and kept in a **store** (where its data lives: SQLite by
 * default, or memory, Redis, an encrypted cookie). Writes are patches applied
 * atomically, so concurrent requests never erase each other's changes.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { session, type SessionEnv } from "satchel";
 *
 * type Data = { count: number; user?: string };
 * const app = new Hono<SessionEnv<Data>>();
 * app.use(session({ secret: "replace with 32+ random bytes, e.g. from openssl" }));
 * app.get("/", (c) => {
 *   const count = c.get("session").update("count", (n) => (n ?? 0) + 1);
 *   return c.text(`You have been here ${count} times`);
 * });
 * ```
 * @module
 */
export {
  type InvalidTokenReason,
  session,
  type SessionBinding,
  type SessionEnv,
  type SessionOptions,
} from "./src/middleware.ts";
export { Session, type UserSession } from "./src/session/session.ts";
export type { SessionRequestOptions, SessionStatus } from "./src/session/core.ts";
export {
  type Awaitable,
  canListUserSessions,
  type DeleteAll,
  type DeleteByUser,
  type DeleteExpired,
  type GroupCommit,
  hasGroupCommit,
  isRequestBound,
  isSynchronousStore,
  type RequestBound,
  type SessionStore,
  type StoredSession,
  type SynchronousStore,
  type Touch,
  type UpdateFn,
  type UserSessionEntry,
  type UserSessionListing,
} from "./src/store/types.ts";
export { SqliteStore, type SqliteStoreOptions } from "./src/store/sqlite.ts";
export type { Disposer } from "./src/_internal/dispose.ts";
export { MemoryStore, type MemoryStoreOptions } from "./src/store/memory.ts";
export type { SweepEvent } from "./src/store/sweeper.ts";
export { type RedisClientLike, type RedisCommander, RedisStore, type RedisStoreOptions } from "./src/store/redis.ts";
export { type CookieRequestStore, CookieStore, type CookieStoreOptions } from "./src/store/cookie.ts";
export {
  type DenoKvAtomicLike,
  type DenoKvKey,
  type DenoKvLike,
  DenoKvStore,
  type DenoKvStoreOptions,
} from "./src/store/deno-kv.ts";
export {
  type D1DatabaseLike,
  type D1PreparedStatementLike,
  type D1ResultLike,
  D1Store,
  type D1StoreOptions,
} from "./src/store/d1.ts";
export { NullStore } from "./src/store/null.ts";
export type { SessionState } from "./src/state/types.ts";
export { CookieState, type CookieStateOptions } from "./src/state/cookie.ts";
export { HeaderState, type HeaderStateOptions } from "./src/state/header.ts";
export { jsonSerializer, type RoundTripCheck, type Serializer, superjsonSerializer } from "./src/serializer.ts";
export { type Clock, systemClock } from "./src/clock.ts";
export { generateId, isValidId } from "./src/id.ts";
export { MAX_DEPTH } from "./src/value-guard.ts";
export {
  SessionDataError,
  SessionError,
  SessionTooLargeError,
  StoreFullError,
  StoreUnavailableError,
} from "./src/errors.ts";
