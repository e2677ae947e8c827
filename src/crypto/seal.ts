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
import { base64url } from "../id.ts";
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

/** base64url character code → its 6-bit value, or 64 for any other code. */
const DECODE = (() => {
  const table = new Uint8Array(128).fill(64);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * The bytes of a canonical unpadded base64url string, or null for any other
 * character, an impossible length, or unused bits that are not zero (a second
 * spelling of the same bytes).
 */
export function fromBase64url(s: string): Uint8Array<ArrayBuffer> | null {
  const rest = s.length % 4;
  if (rest === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let bad = 0;
  let o = 0;
  const value = (i: number): number => {
    const code = s.charCodeAt(i);
    const v = code < 128 ? DECODE[code]! : 64;
    bad |= v & 64;
    return v & 63;
  };
  const whole = s.length - rest;
  for (let i = 0; i < whole; i += 4) {
    const n = (value(i) << 18) | (value(i + 1) << 12) | (value(i + 2) << 6) | value(i + 3);
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (rest === 2) {
    const n = (value(whole) << 18) | (value(whole + 1) << 12);
    bad |= n & 0xffff;
    out[o] = n >>> 16;
  } else if (rest === 3) {
    const n = (value(whole) << 18) | (value(whole + 1) << 12) | (value(whole + 2) << 6);
    bad |= n & 0xff;
    out[o++] = n >>> 16;
    out[o] = (n >>> 8) & 0xff;
  }
  return bad === 0 ? out : null;
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
    crypto.getRandomValues(nonce);
    xchacha20Poly1305Seal(this.#keys[0]!, nonce, plaintext, associated, out, 1 + XNONCE_BYTES);
    return base64url(out);
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
