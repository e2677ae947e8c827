/**
 * The shape check of a store object given to `session()`: a store missing a
 * required method fails at setup, by name, instead of answering 500 on the
 * first request that needs the method.
 * @module
 */
import { isRequestBound, type RequestBound, type SessionStore } from "../store/types.ts";

/** The methods every {@linkcode SessionStore} must have; the rest are optional capabilities. */
const REQUIRED = ["get", "set", "delete", "update"] as const;

/**
 * Throw unless `store` has every required method of {@linkcode SessionStore},
 * or is {@linkcode RequestBound} (CookieStore).
 * @param store What the caller passed as `store`.
 * @throws {TypeError} naming the missing (or non-function) methods, with a hint
 *   for a plain get/set/delete cache (a `Map`, a KV client).
 */
export function checkStoreShape(store: unknown): asserts store is SessionStore | RequestBound {
  if (typeof store !== "object" || store === null) {
    throw new TypeError(
      `Cannot create session middleware: store must be a SessionStore object (e.g. new MemoryStore()): received ${
        store === null ? "null" : typeof store
      }`,
    );
  }
  if (isRequestBound(store as SessionStore)) return;
  const missing = REQUIRED.filter((m) => typeof (store as Record<string, unknown>)[m] !== "function");
  if (missing.length === 0) return;
  const cacheLike = missing.every((m) => m === "update");
  throw new TypeError(
    `Cannot create session middleware: the store lacks ${missing.map((m) => `${m}()`).join(", ")}; ` +
      `a session store needs get, set, delete and update` +
      (cacheLike
        ? " (a get/set/delete cache cannot update a session atomically: " +
          "wrap it in a class implementing SessionStore, or use MemoryStore, SqliteStore or RedisStore)"
        : ""),
  );
}
