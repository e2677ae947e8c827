/**
 * Sealing for the cookie store: XChaCha20-Poly1305 in plain JavaScript
 * (./chacha.ts), synchronous, under one key per secret derived once.
 *
 * Each secret's key is HKDF-SHA256(secret, salt, info) (RFC 5869, with the
 * JavaScript HMAC of ./hmac.ts), computed when the sealer is made. Each seal
 * draws a random 24-byte nonce: at that size random nonces do not repeat
 * under one key however many values are sealed, so no per-seal key
 * derivation is needed. The caller's associated data (the session id) is
 * authenticated, not stored: a value sealed for one id does not open for
 * another.
 *
 * Sealed layout, base64url without padding:
 * `version (1 byte, 2) | nonce (24) | ciphertext | tag (16)`.
 * (Version 1, AES-256-GCM through Web Crypto with an HKDF per seal, is no
 * longer opened; see CHANGELOG.md.)
 *
 * Nothing is compressed, on purpose: compressing attacker-influenced data
 * next to secrets leaks them through the length (CRIME, BREACH).
 * @module
 */
import { KEY_BYTES, TAG_BYTES, XNONCE_BYTES, xchacha20Poly1305Open, xchacha20Poly1305Seal } from "./chacha.ts";
import { HmacSha256 } from "./hmac.ts";

const encoder = new TextEncoder();
const VERSION = 2;
/** Bytes a seal adds to the plaintext before base64url. */
export const SEAL_OVERHEAD = 1 + XNONCE_BYTES + TAG_BYTES;
/** Shortest secret accepted, in bytes. */
export const MIN_SEAL_SECRET_BYTES = 32;
const SALT = encoder.encode("satchel/cookie-store");
const INFO = encoder.encode("satchel cookie-store xchacha20-poly1305 v2");

/** Length in characters of `bytes` bytes in base64url without padding. */
export function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ENCODE = Uint8Array.from(ALPHABET, (ch) => ch.charCodeAt(0));
/** base64url character code → its 6-bit value, or 64 for any other code below 128. */
const DECODE = (() => {
  const table = new Uint8Array(128).fill(64);
  for (let i = 0; i < 64; i++) table[ENCODE[i]!] = i;
  return table;
})();
const ascii = new TextDecoder();

/** `bytes` in base64url without padding; the characters go through one native decode instead of a string per character. */
export function toBase64url(bytes: Uint8Array): string {
  const out = new Uint8Array(base64urlLength(bytes.length));
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[n >>> 18]!;
    out[o++] = ENCODE[(n >>> 12) & 63]!;
    out[o++] = ENCODE[(n >>> 6) & 63]!;
    out[o++] = ENCODE[n & 63]!;
  }
  if (bytes.length - i === 1) {
    out[o++] = ENCODE[bytes[i]! >>> 2]!;
    out[o] = ENCODE[(bytes[i]! & 3) << 4]!;
  } else if (bytes.length - i === 2) {
    const n = (bytes[i]! << 8) | bytes[i + 1]!;
    out[o++] = ENCODE[n >>> 10]!;
    out[o++] = ENCODE[(n >>> 4) & 63]!;
    out[o] = ENCODE[(n << 2) & 63]!;
  }
  return ascii.decode(out);
}

/** The 6-bit value of the character at `i`, or 64 when it is not base64url. */
function sextet(s: string, i: number): number {
  const code = s.charCodeAt(i);
  return code < 128 ? DECODE[code]! : 64;
}

/**
 * The bytes of a canonical unpadded base64url string, or null for any other
 * character, an impossible length, or unused bits that are not zero (a second
 * spelling of the same bytes).
 */
export function fromBase64url(s: string): Uint8Array<ArrayBuffer> | null {
  const rest = s.length % 4;
  if (rest === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  const whole = s.length - rest;
  let bad = 0;
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = sextet(s, i), b = sextet(s, i + 1), c = sextet(s, i + 2), d = sextet(s, i + 3);
    bad |= a | b | c | d;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = n >>> 8;
    out[o++] = n;
  }
  if (rest > 0) {
    const a = sextet(s, whole), b = sextet(s, whole + 1), c = rest === 3 ? sextet(s, whole + 2) : 0;
    bad |= a | b | c;
    const n = (a << 18) | (b << 12) | (c << 6);
    // The bits past the last whole byte must be zero.
    bad |= rest === 2 ? (n & 0xffff) && 64 : (n & 0xff) && 64;
    out[o++] = n >>> 16;
    if (rest === 3) out[o] = n >>> 8;
  }
  return (bad & 64) === 0 ? out : null;
}

/** Random nonces drawn from the CSPRNG in batches: one call per 170 seals instead of one each. */
const pool = new Uint8Array(XNONCE_BYTES * 170);
let poolAt = pool.length;

function randomNonce(into: Uint8Array): void {
  if (poolAt + XNONCE_BYTES > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  into.set(pool.subarray(poolAt, poolAt + XNONCE_BYTES));
  poolAt += XNONCE_BYTES;
}

/** HKDF-SHA256 (RFC 5869) of a secret to one 32-byte key. */
export function deriveKey(secret: string, salt: Uint8Array = SALT, info: Uint8Array = INFO): Uint8Array<ArrayBuffer> {
  const prk = new HmacSha256(salt).mac(encoder.encode(secret));
  const block = new Uint8Array(info.length + 1);
  block.set(info);
  block[info.length] = 1;
  return new HmacSha256(prk).mac(block).slice(0, KEY_BYTES);
}

/** A value opened by {@linkcode Sealer.open}. */
export interface Opened {
  plaintext: Uint8Array;
  /** True when a secret other than the first sealed it: seal again to move it to the current key. */
  stale: boolean;
}

/**
 * Seals and opens values with key rotation: seal with the first secret, open
 * with any. Synchronous: no Web Crypto, no promise.
 */
export class Sealer {
  #keys: Uint8Array[];

  /**
   * Derives one key per secret, once.
   * @param secrets One secret or several, each at least 32 bytes; the first seals, all open.
   * @param what Names the caller in error messages, e.g. "CookieStore".
   * @throws {TypeError} when no secret is given.
   * @throws {RangeError} when a secret is shorter than 32 bytes.
   */
  constructor(secrets: string | readonly string[], what = "sealer") {
    const list = typeof secrets === "string" ? [secrets] : Array.isArray(secrets) ? [...secrets] : [];
    if (list.length === 0 || list.some((s) => typeof s !== "string")) {
      throw new TypeError(`Cannot create ${what}: secret must be a string or a non-empty array of strings`);
    }
    for (const s of list) {
      const size = encoder.encode(s).length;
      if (size < MIN_SEAL_SECRET_BYTES) {
        throw new RangeError(
          `Cannot create ${what}: each secret must be at least ${MIN_SEAL_SECRET_BYTES} bytes: received ${size}` +
            ` (generate one with: openssl rand -base64 48)`,
        );
      }
    }
    this.#keys = list.map((s) => deriveKey(s));
  }

  /** `plaintext` sealed with the first secret, bound to `associated`, in base64url. */
  seal(plaintext: Uint8Array, associated: Uint8Array): string {
    const out = new Uint8Array(SEAL_OVERHEAD + plaintext.length);
    out[0] = VERSION;
    const nonce = out.subarray(1, 1 + XNONCE_BYTES);
    randomNonce(nonce);
    xchacha20Poly1305Seal(this.#keys[0]!, nonce, plaintext, associated, out, 1 + XNONCE_BYTES);
    return toBase64url(out);
  }

  /**
   * The plaintext of a sealed value, or `null` when it is malformed, was
   * tampered with, was sealed with none of the secrets, or for other associated data.
   */
  open(sealed: string, associated: Uint8Array): Opened | null {
    const bytes = fromBase64url(sealed);
    if (bytes === null || bytes.length < SEAL_OVERHEAD || bytes[0] !== VERSION) return null;
    const nonce = bytes.subarray(1, 1 + XNONCE_BYTES);
    for (let i = 0; i < this.#keys.length; i++) {
      const plaintext = xchacha20Poly1305Open(this.#keys[i]!, nonce, bytes, 1 + XNONCE_BYTES, associated);
      if (plaintext !== null) return { plaintext, stale: i > 0 };
    }
    return null;
  }
}
