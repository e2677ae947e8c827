/**
 * AES-256-GCM sealing for the cookie store, with Web Crypto only.
 *
 * Each seal draws a random 16-byte salt and a random 12-byte IV; the key is
 * HKDF-SHA256(secret, salt, info), so no (key, IV) pair ever repeats however
 * many values are sealed (plain random IVs under one key are only safe for
 * about 2^32 seals). The caller's associated data (the session id) is
 * authenticated, not stored: a value sealed for one id does not open for another.
 *
 * Sealed layout, base64url without padding:
 * `version (1 byte, 1) | salt (16) | iv (12) | ciphertext | tag (16)`.
 *
 * Nothing is compressed, on purpose: compressing attacker-influenced data
 * next to secrets leaks them through the length (CRIME, BREACH).
 * @module
 */
import { base64url } from "../id.ts";

const encoder = new TextEncoder();
const VERSION = 1;
const SALT = 16;
const IV = 12;
const TAG = 16;
/** Bytes a seal adds to the plaintext before base64url. */
export const SEAL_OVERHEAD = 1 + SALT + IV + TAG;
/** Shortest secret accepted, in bytes. */
export const MIN_SEAL_SECRET_BYTES = 32;
const INFO = encoder.encode("satchel cookie-store aes-256-gcm v1");
const B64URL = /^[A-Za-z0-9_-]*$/;

/** Length in characters of `bytes` bytes in base64url without padding. */
export function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

function fromBase64url(s: string): Uint8Array | null {
  if (!B64URL.test(s) || s.length % 4 === 1) return null;
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Only the canonical spelling: a last character differing in its unused bits is not the same value.
  return base64url(out) === s ? out : null;
}

/** A value opened by {@linkcode Sealer.open}. */
export interface Opened {
  plaintext: Uint8Array;
  /** True when a secret other than the first sealed it: seal again to move it to the current key. */
  stale: boolean;
}

/**
 * Seals and opens values with key rotation: seal with the first secret, open
 * with any.
 */
export class Sealer {
  #keys: Promise<CryptoKey[]>;

  /**
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
    this.#keys = Promise.all(list.map((s) => crypto.subtle.importKey("raw", encoder.encode(s), "HKDF", false, ["deriveKey"])));
  }

  static #derive(base: CryptoKey, salt: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
    return crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt, info: INFO },
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  }

  /** `plaintext` sealed with the first secret, bound to `associated`. */
  async seal(plaintext: Uint8Array<ArrayBuffer>, associated: Uint8Array<ArrayBuffer>): Promise<string> {
    const [base] = await this.#keys;
    const salt = crypto.getRandomValues(new Uint8Array(SALT));
    const iv = crypto.getRandomValues(new Uint8Array(IV));
    const key = await Sealer.#derive(base!, salt);
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: associated }, key, plaintext));
    const out = new Uint8Array(1 + SALT + IV + ct.length);
    out[0] = VERSION;
    out.set(salt, 1);
    out.set(iv, 1 + SALT);
    out.set(ct, 1 + SALT + IV);
    return base64url(out);
  }

  /**
   * The plaintext of a sealed value, or `null` when it is malformed, was
   * tampered with, was sealed with none of the secrets, or for other associated data.
   */
  async open(sealed: string, associated: Uint8Array<ArrayBuffer>): Promise<Opened | null> {
    const bytes = fromBase64url(sealed);
    if (bytes === null || bytes.length < SEAL_OVERHEAD || bytes[0] !== VERSION) return null;
    const salt = bytes.slice(1, 1 + SALT);
    const iv = bytes.slice(1 + SALT, 1 + SALT + IV);
    const ct = bytes.slice(1 + SALT + IV);
    const keys = await this.#keys;
    for (let i = 0; i < keys.length; i++) {
      const key = await Sealer.#derive(keys[i]!, salt);
      try {
        const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: associated }, key, ct);
        return { plaintext: new Uint8Array(plain), stale: i > 0 };
      } catch {
        // Not this key (or tampered): try the next one.
      }
    }
    return null;
  }
}
