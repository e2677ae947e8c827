/**
 * HMAC-SHA256 signing of session ids with key rotation: sign with the first
 * secret, accept any. Verification is Web Crypto's `verify`, which compares
 * in constant time. A bounded cache of tokens already verified keeps the HMAC
 * off the hot path for returning clients; it holds only tokens that passed a
 * full verification (or that we signed), so it cannot admit a forgery.
 * @module
 */
import { base64url, isValidId } from "../id.ts";

const encoder = new TextEncoder();
/** Length of a base64url HMAC-SHA256 signature. */
const SIG_LENGTH = 43;
const SIG_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** Shortest secret accepted, in bytes (HMAC-SHA256's block of entropy). */
export const MIN_SECRET_BYTES = 32;

/** A verified token: the id it carries and whether an old key signed it. */
export interface Unsigned {
  id: string;
  /** True when a secret other than the first signed it: re-sign and resend. */
  stale: boolean;
}

function decodeSig(sig: string): Uint8Array | null {
  if (sig.length !== SIG_LENGTH || !SIG_SHAPE.test(sig)) return null;
  const b64 = sig.replace(/-/g, "+").replace(/_/g, "/") + "=";
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Only the canonical spelling: the last character carries 2 unused bits,
  // and a token that differs in them must not verify as the same signature.
  return base64url(out) === sig ? out : null;
}

/** Signs ids into `id.signature` tokens and verifies them. */
export class Signer {
  #keys: Promise<CryptoKey[]>;
  #cache = new Map<string, Unsigned>();
  #cacheSize: number;

  /**
   * @param secrets One secret or several; the first signs, all verify.
   * @param cacheSize How many verified tokens to remember (0 turns the cache off).
   * @throws {TypeError} when no secret is given.
   * @throws {RangeError} when a secret is shorter than 32 bytes.
   */
  constructor(secrets: string | readonly string[], cacheSize = 10_000) {
    const list = typeof secrets === "string" ? [secrets] : [...secrets];
    if (list.length === 0 || list.some((s) => typeof s !== "string")) {
      throw new TypeError("Cannot create session signer: secret must be a string or a non-empty array of strings");
    }
    for (const s of list) {
      const size = encoder.encode(s).length;
      if (size < MIN_SECRET_BYTES) {
        throw new RangeError(
          `Cannot create session signer: each secret must be at least ${MIN_SECRET_BYTES} bytes: received ${size}` +
            ` (generate one with: openssl rand -base64 48)`,
        );
      }
    }
    this.#cacheSize = cacheSize;
    this.#keys = Promise.all(list.map((s) =>
      crypto.subtle.importKey("raw", encoder.encode(s), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"])
    ));
  }

  #remember(token: string, value: Unsigned): void {
    if (this.#cacheSize === 0) return;
    if (this.#cache.size >= this.#cacheSize) {
      // Evict the oldest entry (Map keeps insertion order).
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(token, value);
  }

  /** The token for `id`: `id + "." + base64url(HMAC-SHA256(first secret, id))`. */
  async sign(id: string): Promise<string> {
    const [key] = await this.#keys;
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key!, encoder.encode(id)));
    const token = `${id}.${base64url(mac)}`;
    this.#remember(token, { id, stale: false });
    return token;
  }

  /** The id inside a token this signer (or a rotated-out secret) signed, or `null`. */
  async unsign(token: string): Promise<Unsigned | null> {
    const hit = this.#cache.get(token);
    if (hit !== undefined) return hit;
    const dot = token.indexOf(".");
    if (dot === -1) return null;
    const id = token.slice(0, dot);
    if (!isValidId(id)) return null;
    const sig = decodeSig(token.slice(dot + 1));
    if (sig === null) return null;
    const keys = await this.#keys;
    const data = encoder.encode(id);
    for (let i = 0; i < keys.length; i++) {
      if (await crypto.subtle.verify("HMAC", keys[i]!, sig as Uint8Array<ArrayBuffer>, data)) {
        const value = { id, stale: i > 0 };
        this.#remember(token, value);
        return value;
      }
    }
    return null;
  }
}
