/**
 * The times a store is handed: checked before anything is sent, so a time
 * no store can hold is refused whole with a `RangeError` instead of a
 * driver's error (or a TTL no server accepts). The middleware never hands a
 * store such a time (src/session/expiry.ts); direct callers can.
 * @module
 */
import { isStorableTime, MAX_TIME } from "../../clock.ts";
import type { StoredSession } from "../types.ts";

/**
 * Throw unless `value` is a time a store can hold (0 to {@linkcode MAX_TIME} ms).
 * @throws {RangeError} naming the field and the limit.
 */
export function checkTime(action: string, name: string, value: number): void {
  if (!isStorableTime(value)) {
    throw new RangeError(
      `Cannot ${action} session: ${name} must be a time in ms from 0 to ${MAX_TIME} ` +
        `(the latest a JavaScript Date holds): received ${value}`,
    );
  }
}

/** Both times of a session to be written. */
export function checkTimes(action: string, s: StoredSession): void {
  checkTime(action, "expiresAt", s.expiresAt);
  checkTime(action, "createdAt", s.createdAt);
}
