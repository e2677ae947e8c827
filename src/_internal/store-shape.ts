/**
 * The setup-time check that an object can serve as a session store.
 * @module
 */
import type { SessionStore } from "../store/types.ts";

/** The methods every store must have (see the store contract). */
const REQUIRED = ["get", "set", "delete", "touch", "update", "deleteExpired"] as const;

/**
 * Throw unless `store` has every required method of the store contract.
 * @throws {TypeError} naming the missing methods.
 */
export function checkStoreShape(store: unknown): asserts store is SessionStore {
  if (typeof store !== "object" || store === null) {
    throw new TypeError(`Cannot create session middleware: store must be a session store object: received ${store === null ? "null" : typeof store}`);
  }
  const missing = REQUIRED.filter((m) => typeof (store as Record<string, unknown>)[m] !== "function");
  if (missing.length === 0) return;
  throw new TypeError(
    `Cannot create session middleware: the store has no ${missing.join(", ")} method${missing.length > 1 ? "s" : ""}; ` +
      "a session store needs get, set, delete, touch, update (atomic read-modify-write) and deleteExpired " +
      "(a plain get/set/delete cache is not enough: wrap it, or use MemoryStore, SqliteStore or RedisStore)",
  );
}
