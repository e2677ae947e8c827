/**
 * Satchel: server-side sessions for Hono on Bun, Deno and Node 24+.
 *
 * A session is found through a **state** (how its id travels: a signed
 * cookie, a header) and kept in a **store** (where its data lives: SQLite by
 * default, or memory, Redis, an encrypted cookie). Writes are patches applied
 * atomically, so concurrent requests never erase each other's changes.
 *
 * This module holds the middleware, the Session types, the errors, the
 * serializers, the states and the two stores that need no service
 * (SqliteStore, MemoryStore). Every other store is its own import, so an app
 * bundles only the store it uses: `satchel/redis`, `satchel/cookie`,
 * `satchel/deno-kv`, `satchel/d1`, `satchel/null`. The store contract (for a
 * store of your own, or a `SessionStore` variable) is `satchel/store`; its
 * conformance suite, `satchel/testing`.
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
  type SessionEvent,
  type SessionOptions,
} from "./src/middleware.ts";
export { Session, type UserSession } from "./src/session/session.ts";
export type { SessionRequestOptions, SessionStatus } from "./src/session/core.ts";
export {
  SessionDataError,
  SessionError,
  SessionTooLargeError,
  StoreFullError,
  StoreUnavailableError,
} from "./src/errors.ts";
export { jsonSerializer, type RoundTripCheck, type Serializer, superjsonSerializer } from "./src/serializer.ts";
export type { SessionState } from "./src/state/types.ts";
export { CookieState, type CookieStateOptions } from "./src/state/cookie.ts";
export { HeaderState, type HeaderStateOptions } from "./src/state/header.ts";
export { SqliteStore, type SqliteStoreOptions } from "./src/store/sqlite.ts";
export { MemoryStore, type MemoryStoreOptions } from "./src/store/memory.ts";
export type { SweepEvent } from "./src/store/sweeper.ts";
