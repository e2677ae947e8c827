/**
 * Sealing for CookieStore: XChaCha20-Poly1305 (./chacha.ts), synchronous,
 * under one HKDF-SHA256 key per secret, derived once. Each seal draws a
 * random 24-byte nonce and authenticates the session id as associated data,
 * so a value sealed for one id does not open for another. Layout, in
 * base64url: `version (1 byte, 2) | nonce (24) | ciphertext | tag (16)`
 * (version 1 is no longer opened: CHANGELOG.md). Nothing is compressed:
 * compressed attacker-influenced data leaks secrets through its length (CRIME, BREACH).
 * @module
 */
import { decodeBase64url, encodeBase64url } from "../_internal/base64url.ts";
import { secretList } from "../_internal/secrets.ts";
import { KEY_BYTES, TAG_BYTES, xchacha20Poly1305Open, xchacha20Poly1305Seal, XNONCE_BYTES } from "./chacha.ts";
import { HmacSha256 } from "./hmac.ts";

const encoder = new TextEncoder();
const VERSION = 2;
/** Bytes a seal adds to the plaintext before base64url. */
export const SEAL_OVERHEAD = 1 + XNONCE_BYTES + TAG_BYTES;
const SALT = encoder.encode("satchel/cookie-store");
const INFO = encoder.encode("satchel cookie-store xchacha20-poly1305 v2");

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
   * @throws {TypeError} when no secret is given, or a secret is not a string.
   * @throws {RangeError} when a secret is shorter than 32 bytes.
   */
  constructor(secrets: string | readonly string[], what = "sealer") {
    const list = secretList(what, secrets);
    this.#keys = list.map((s) => deriveKey(s));
  }

  /** `plaintext` sealed with the first secret, bound to `associated`, in base64url. */
  seal(plaintext: Uint8Array, associated: Uint8Array): string {
    const out = new Uint8Array(SEAL_OVERHEAD + plaintext.length);
    out[0] = VERSION;
    const nonce = out.subarray(1, 1 + XNONCE_BYTES);
    // Drawn per seal, never from a pool of ours: a process cloned after it started (a VM snapshot, CRIU, Lambda
    // SnapStart) would repeat the pool's nonces in every clone, and a nonce repeated under one key gives away the
    // plaintexts' XOR and Poly1305's one-time key.
    crypto.getRandomValues(nonce);
    xchacha20Poly1305Seal(this.#keys[0]!, nonce, plaintext, associated, out, 1 + XNONCE_BYTES);
    return encodeBase64url(out);
  }

  /**
   * The plaintext of a sealed value, or `null` when it is malformed, was
   * tampered with, was sealed with none of the secrets, or for other associated data.
   */
  open(sealed: string, associated: Uint8Array): Opened | null {
    const bytes = decodeBase64url(sealed);
    if (bytes === null || bytes.length < SEAL_OVERHEAD || bytes[0] !== VERSION) return null;
    const nonce = bytes.subarray(1, 1 + XNONCE_BYTES);
    for (let i = 0; i < this.#keys.length; i++) {
      const plaintext = xchacha20Poly1305Open(this.#keys[i]!, nonce, bytes, 1 + XNONCE_BYTES, associated);
      if (plaintext !== null) return { plaintext, stale: i > 0 };
    }
    return null;
  }
}
