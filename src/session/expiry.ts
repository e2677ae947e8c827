/**
 * The expiry rule, in one place: idle lifetime (the app's `expires`, or a
 * session's own from `setExpires`), absolute cap from creation, and the
 * refresh threshold. Pure functions of times in milliseconds.
 * @module
 */
import { isStorableTime } from "../clock.ts";

/** The app-wide expiry settings, in milliseconds. */
export interface ExpiryPolicy {
  /** Idle lifetime of a session without its own (`expires`). */
  readonly ttl: number;
  /** Longest life from creation, however active (`absoluteTimeout`). */
  readonly absolute: number | undefined;
  /** Refresh only when less than this is left (`refreshThreshold`); 0: a session ends `ttl` after its last write. */
  readonly threshold: number;
}

/** The refresh threshold for a session whose idle lifetime is `lifetime`. */
export function thresholdFor(policy: ExpiryPolicy, lifetime: number): number {
  if (lifetime === policy.ttl || policy.threshold === 0) return policy.threshold;
  // A session with its own lifetime is refreshed as often as the app's sessions are (at most once per
  // `ttl - threshold`), and at least once per half of its lifetime.
  return lifetime - Math.min(policy.ttl - policy.threshold, lifetime / 2);
}

/**
 * When a session created at `createdAt` and used at `now` expires: `lifetime`
 * later, never past its absolute deadline. Every expiry Satchel writes comes
 * from here.
 * @throws {RangeError} when the result is not a time every store can hold (a broken clock).
 */
export function expiryAt(policy: ExpiryPolicy, now: number, createdAt: number, lifetime: number): number {
  const idle = now + lifetime;
  const at = policy.absolute === undefined ? idle : Math.min(idle, createdAt + policy.absolute);
  if (!isStorableTime(at)) {
    throw new RangeError(`Cannot commit the session: its expiry is not a valid time: received ${at}; check the clock`);
  }
  return at;
}

/** Whether a session created at `createdAt` is past its absolute deadline at `now`. */
export function pastDeadline(policy: ExpiryPolicy, now: number, createdAt: number): boolean {
  return policy.absolute !== undefined && createdAt + policy.absolute <= now;
}

/** The new expiry when a refresh is due (less than the threshold left, and it would move), else undefined. */
export function refreshTo(
  policy: ExpiryPolicy,
  stored: { expiresAt: number; createdAt: number },
  now: number,
  lifetime: number,
): number | undefined {
  if (stored.expiresAt - now >= thresholdFor(policy, lifetime)) return undefined;
  const to = expiryAt(policy, now, stored.createdAt, lifetime);
  return to > stored.expiresAt ? to : undefined;
}

/**
 * The expiry a data write stores. It moves by the refresh rule only, so a
 * write that leaves it alone leaves the store's expiry index alone too; with
 * a threshold of 0, or when the session's lifetime changed, every write moves it.
 */
export function writeExpiry(
  policy: ExpiryPolicy,
  stored: { expiresAt: number; createdAt: number },
  now: number,
  lifetime: number,
  lifetimeChanged: boolean,
): number {
  if (lifetimeChanged || policy.threshold === 0) return expiryAt(policy, now, stored.createdAt, lifetime);
  return refreshTo(policy, stored, now, lifetime) ??
    Math.min(stored.expiresAt, expiryAt(policy, now, stored.createdAt, lifetime));
}
