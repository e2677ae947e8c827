/**
 * Session ids: 192 random bits from `crypto.getRandomValues`, base64url,
 * and the shape check every id passes before it reaches a store.
 * @module
 */
import { BASE64URL, encodeBase64url } from "./_internal/base64url.ts";

const ID_BYTES = 24;
/** Length of an id in characters: 24 bytes are exactly 32 base64url characters. */
export const ID_LENGTH = 32;

/**
 * A new session id: 192 bits from the platform's CSPRNG, base64url.
 * @example
 * ```ts
 * import { generateId, isValidId } from "satchel/store";
 * const id = generateId(); // 32 characters of [A-Za-z0-9_-]
 * console.assert(isValidId(id));
 * ```
 */
export function generateId(): string {
  // Drawn when made, never from a buffer of ours: a process cloned after it started (a VM snapshot, CRIU, Lambda
  // SnapStart after a warm-up, a Node startup snapshot) would hand out that buffer's bytes again in every clone.
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(ID_BYTES)));
}

/**
 * Whether `id` has the shape of an id Satchel issues: a string of exactly 32
 * base64url characters. Anything else (other types, other lengths, `.`, `%`,
 * quotes, NUL, non-ASCII) is refused before it can reach SQL or Redis.
 */
export function isValidId(id: unknown): id is string {
  return typeof id === "string" && id.length === ID_LENGTH && BASE64URL.test(id);
}
