/**
 * The shape check of a store object given to `session()`: a store missing a
 * required method fails at setup, by name, instead of answering 500 on the
 * first request that needs the method.
 * @module
 */
import type { SessionStore } from "../store/types.ts";

/** The methods every {@linkcode SessionStore} must have. */
const REQUIRED = ["get", "set", "delete", "touch", "update", "deleteExpired"] as const;

/**
 * Throw unless `store` has every required method of {@linkcode SessionStore}.
 * @param store What the caller passed as `store`.
 * @throws {TypeError} naming the missing (or non-function) methods, with a hint
 *   for a plain get/set/delete cache (a `Map`, a KV client).
 */
export function checkStoreShape(store: unknown): asserts store is SessionStore {
  if (typeof store !== "object" || store === null) {
    throw new TypeError(
      `Cannot create session middleware: store must be a SessionStore object (e.g. new MemoryStore()): received ${
        store === null ? "null" : typeof store
      }`,
    );
  }
  const missing = REQUIRED.filter((m) => typeof (store as Record<string, unknown>)[m] !== "function");
  if (missing.length === 0) return;
  const cacheLike = missing.every((m) => m === "touch" || m === "update" || m === "deleteExpired");
  throw new TypeError(
    `Cannot create session middleware: the store lacks ${missing.map((m) => `${m}()`).join(", ")}; ` +
      `a session store needs get, set, delete, touch, update and deleteExpired` +
      (cacheLike
        ? " (a get/set/delete cache cannot update a session atomically or move its expiry: " +
          "wrap it in a class implementing SessionStore, or use MemoryStore, SqliteStore or RedisStore)"
        : ""),
  );
}
