/**
 * The one constant-time comparison of the crypto code: MACs, tags and the
 * cached signatures and bound values they vouch for.
 * @module
 */

/**
 * Whether `a` and `b` are equal, looking at every element: no early exit at
 * the first difference, so the time taken tells an attacker nothing about
 * how much of a forged MAC was right. Only the length may leak, and every
 * caller compares values of a public length (a MAC, a tag, a token part).
 */
export function timingSafeEqual(a: string, b: string): boolean;
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
export function timingSafeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  // One branch per kind, so every property access in it sees one shape (strings are compared on the hot path).
  let diff = 0;
  if (typeof a === "string") {
    if (typeof b !== "string" || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  } else {
    if (typeof b === "string" || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  }
  return diff === 0;
}
