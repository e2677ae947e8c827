/**
 * HMAC-SHA256 signing of session ids, with key rotation: the first secret
 * signs, every secret verifies. The MAC is computed synchronously by
 * {@linkcode HmacSha256} (./hmac.ts: about 3 µs, where an awaited
 * `crypto.subtle.sign` cost 10 to 45 µs of CPU; that module says why and how
 * it is checked against Web Crypto), and compared in constant time here.
 *
 * Every MAC covers a context label before the data (`satchel/id/1:` for
 * tokens, `satchel/bind/1:` for binding tags), so a MAC made for one purpose
 * never verifies for another, and a secret shared by mistake with Hono's
 * signed cookies (which MAC the bare value) cannot be used to mint a token.
 *
 * ## The verified-token cache, and why it does not weaken anything
 *
 * A bounded map remembers, per id, the signature that last passed a full
 * HMAC verification (or that this signer made), so a returning client skips
 * the HMAC (about 3 µs, against well under 1 µs for a hit; 35 to 80 µs
 * when the MAC went through Web Crypto, which is what the cache was built for).
 * Binding tags have a second map of the same kind, keyed by the tag (which
 * only the server writes, into the store) and holding the values it was
 * verified for, compared in constant time. The cache was checked against
 * these attacks:
 *
 * - **Forgery / poisoning.** Only signatures that passed a full HMAC check
 *   or that `sign()` produced are ever inserted; a rejected token is never
 *   remembered (no negative cache), so an attacker cannot insert anything
 *   they could not already present as a valid token. A presented signature
 *   that differs from the cached one is not refused on that basis: it goes
 *   through the full verification like any uncached token.
 * - **Timing.** The cache is looked up by the id, then the presented
 *   signature is compared with the cached one by a loop that does not stop at
 *   the first difference. A hit or a miss only says whether that id was seen
 *   recently, which requires already knowing a 192-bit id; the signature is
 *   never compared with an early exit (an earlier version keyed the map by the
 *   whole token, whose hash-bucket string compare can stop early).
 * - **Rotation.** The secrets are read once, when the signer is made; a
 *   rotation is a new signer (a new middleware, usually a restart) with an
 *   empty cache. A token signed by a secret that has since been removed can
 *   never be answered from the cache. Entries remember whether an old secret
 *   made them, so such tokens are still re-signed with the first secret.
 * - **Revocation.** The cache only vouches for a signature, never for a
 *   session: every request still asks the store, so a destroyed, expired or
 *   regenerated session's token gets a fresh session even on a cache hit.
 * - **Memory.** At most `cacheSize` entries in each map (default 10 000: about 2.5 MB
 *   for tokens, measured on Node), in two generations: the older half is
 *   dropped whole when the younger fills, and an entry hit in the older half
 *   moves to the younger one; the size must be a finite integer, checked at
 *   setup. Binding entries also hold the bound
 *   values, which the client partly chooses (its user agent): values over 512
 *   characters are never cached, so that map stays under about 11 MB
 *   (10 000 values of 512 characters, measured on Node).
 *   An attacker who creates many sessions only evicts entries, which costs
 *   legitimate clients one HMAC each, the same as with no cache at all.
 *
 * @module
 */
import { base64url, ID_LENGTH, isValidId } from "../id.ts";
import { HmacSha256 } from "./hmac.ts";

const encoder = new TextEncoder();
/** Length of a base64url HMAC-SHA256 signature. */
const SIG_LENGTH = 43;
const SIG_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** Length of a token: id, ".", signature. */
export const TOKEN_LENGTH = ID_LENGTH + 1 + SIG_LENGTH;
/** Shortest secret accepted, in bytes (the size of an HMAC-SHA256 output). */
export const MIN_SECRET_BYTES = 32;
/** Longest bound values remembered: a request's user agent is the client's to choose, and must not fill memory. */
const MAX_CACHED_VALUES = 512;
/**
 * Longest bound values MACed whole. The user agent is the client's to choose
 * (a 16 KB one made every request hash 16 KB, uncached: issue 15); longer
 * values are cut to their first and last halves of this and their length.
 */
export const MAX_BOUND_VALUES = 1024;
const ID_CONTEXT = "satchel/id/1:";
const BIND_CONTEXT = "satchel/bind/1:";

/** A verified token: the id it carries and whether an old key signed it. */
export interface Unsigned {
  id: string;
  /** True when a secret other than the first signed it: re-sign and resend. */
  stale: boolean;
}

/**
 * What {@linkcode Signer.verify} found: the id, or why the token was refused —
 * `"malformed"` (not the shape of a token Satchel issues) or `"signature"`
 * (the right shape, but no secret signed it: tampered, forged, or signed by
 * a secret no longer configured).
 */
export type Verdict = Unsigned | "malformed" | "signature";

/** Decode a base64url MAC; `null` unless it is the canonical spelling of 32 bytes. */
function decodeMac(mac: string): Uint8Array<ArrayBuffer> | null {
  if (mac.length !== SIG_LENGTH || !SIG_SHAPE.test(mac)) return null;
  const bin = atob(mac.replace(/-/g, "+").replace(/_/g, "/") + "=");
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Only the canonical spelling: the last character carries 2 unused bits,
  // and a token that differs in them must not verify as the same signature.
  return base64url(out) === mac ? out : null;
}

/**
 * A bounded map in two generations: inserts go to the young map, and when it
 * holds half the size the old map is dropped whole and the young one takes
 * its place. A hit in the old map is copied into the young one (a second
 * chance), so a client in use is never evicted while it keeps coming back.
 * No entry is ever deleted one by one: deleting and re-inserting keys of a
 * large `Map` leaves holes that later inserts and iterations pay for
 * (issue 15), and re-signing a cached id (a rolling cookie) did exactly that.
 */
class Generations<V> {
  #young = new Map<string, V>();
  #old = new Map<string, V>();
  #half: number;

  /** @param size At most this many entries (rounded up to even); 0 remembers nothing. */
  constructor(size: number) {
    this.#half = Math.ceil(size / 2);
  }

  get(key: string): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) this.#insert(key, old);
    return old;
  }

  /** Remember `value` under `key`; an equal entry already young is left where it is. */
  set(key: string, value: V): void {
    if (this.#half === 0) return;
    if (this.#young.has(key)) this.#young.set(key, value); // in place: no hole, no move
    else this.#insert(key, value);
  }

  #insert(key: string, value: V): void {
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}

/**
 * `values`, or for longer ones their first and last 512 characters and their
 * length: the work per request is bounded whatever the client sends. The
 * short form is longer than any uncut value, so it can never equal one; two
 * long values agree only if they share the cut parts and the length: a
 * thief must still send the victim's user agent, as for any binding.
 */
function boundedValues(values: string): string {
  if (values.length <= MAX_BOUND_VALUES) return values;
  const half = MAX_BOUND_VALUES / 2;
  return `${values.slice(0, half)}\u0000${values.length}\u0000${values.slice(-half)}`;
}

/** Compare two MACs without stopping at the first difference. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Compare two strings without stopping at the first difference. */
function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Signs ids into `id.signature` tokens and verifies them; also makes and
 * checks the tags that bind a session to its client (`bind` option).
 * Made by the middleware; exported for tests and custom states.
 */
export class Signer {
  #keys: HmacSha256[];
  /** id → the signature last verified or made for it (see the module doc). */
  #cache: Generations<Unsigned & { sig: string }>;
  /** Binding tag → the values it was verified (or made) for; the same rules as #cache. */
  #bindCache: Generations<{ values: string; stale: boolean }>;

  /**
   * @param secrets One secret or several; the first signs, all verify.
   * @param cacheSize How many verified tokens to remember (0 turns the cache off).
   * @throws {TypeError} when no secret is given, or a secret is not a string.
   * @throws {RangeError} when a secret is shorter than 32 bytes, or `cacheSize` is not a non-negative integer.
   */
  constructor(secrets: string | readonly string[], cacheSize = 10_000) {
    const list = typeof secrets === "string" ? [secrets] : Array.isArray(secrets) ? [...secrets] : [];
    if (list.length === 0 || list.some((s) => typeof s !== "string")) {
      throw new TypeError(
        "Cannot create session signer: secret must be a string or a non-empty array of strings " +
          "(generate one with: openssl rand -base64 48)",
      );
    }
    list.forEach((s, i) => {
      const size = encoder.encode(s).length;
      if (size < MIN_SECRET_BYTES) {
        const which = list.length > 1 ? `secret[${i}]` : "secret";
        throw new RangeError(
          `Cannot create session signer: ${which} must be at least ${MIN_SECRET_BYTES} bytes: received ${size}` +
            ` (generate one with: openssl rand -base64 48)`,
        );
      }
    });
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
      throw new RangeError(
        `Cannot create session signer: verifiedTokenCache must be a non-negative integer: received ${cacheSize}`,
      );
    }
    this.#cache = new Generations(cacheSize);
    this.#bindCache = new Generations(cacheSize);
    this.#keys = list.map((s) => new HmacSha256(encoder.encode(s)));
  }

  #remember(id: string, sig: string, stale: boolean): void {
    const hit = this.#cache.get(id);
    // Re-signing a cached id (a rolling cookie) writes nothing.
    if (hit !== undefined && hit.sig === sig && hit.stale === stale) return;
    this.#cache.set(id, { id, sig, stale });
  }

  /**
   * The token for `id`: `id + "." + base64url(HMAC-SHA256(first secret, "satchel/id/1:" + id))`.
   * @throws {TypeError} when `id` is not the shape of an id Satchel issues.
   */
  sign(id: string): string {
    if (!isValidId(id)) throw new TypeError("Cannot sign session id: it is not an id Satchel issues (32 base64url characters)");
    const mac = base64url(this.#keys[0]!.mac(ID_CONTEXT + id));
    this.#remember(id, mac, false);
    return `${id}.${mac}`;
  }

  /**
   * Check a token: its shape first (length, alphabet, canonical base64url,
   * no HMAC spent on junk), then its signature against every secret.
   */
  verify(token: string): Verdict {
    if (typeof token !== "string" || token.length !== TOKEN_LENGTH || token[ID_LENGTH] !== ".") return "malformed";
    const id = token.slice(0, ID_LENGTH);
    const sig = token.slice(ID_LENGTH + 1);
    if (!isValidId(id)) return "malformed";
    const hit = this.#cache.get(id);
    if (hit !== undefined && equalConstantTime(hit.sig, sig)) return { id, stale: hit.stale };
    const mac = decodeMac(sig);
    if (mac === null) return "malformed";
    const index = this.#verifyMac(ID_CONTEXT + id, mac);
    if (index === -1) return "signature";
    this.#remember(id, sig, index > 0);
    return { id, stale: index > 0 };
  }

  /** The id inside a token this signer (or a rotated-out secret) signed, or `null`. */
  unsign(token: string): Unsigned | null {
    const verdict = this.verify(token);
    return typeof verdict === "string" ? null : verdict;
  }

  /** Index of the first secret whose MAC of `data` is `mac`, or -1. */
  #verifyMac(data: string, mac: Uint8Array): number {
    const keys = this.#keys;
    const bytes = encoder.encode(data);
    for (let i = 0; i < keys.length; i++) {
      if (equalBytes(keys[i]!.mac(bytes), mac)) return i;
    }
    return -1;
  }

  /**
   * A tag binding a session to `values` (the bound client properties,
   * already joined unambiguously): a MAC, so the store holds neither the
   * address nor the user agent, nor a plain hash one could brute-force.
   */
  bindTag(values: string): string {
    const bound = boundedValues(values);
    const tag = base64url(this.#keys[0]!.mac(BIND_CONTEXT + bound));
    if (bound.length <= MAX_CACHED_VALUES) this.#bindCache.set(tag, { values: bound, stale: false });
    return tag;
  }

  /**
   * Whether `tag` binds `values`: `"ok"`, `"stale"` (an old secret made it;
   * store a new tag), or `false`. Compared in constant time.
   */
  checkBindTag(values: string, tag: unknown): "ok" | "stale" | false {
    if (typeof tag !== "string") return false;
    const bound = boundedValues(values);
    // The tag comes from the store (only the server writes it); the values from the request.
    const hit = this.#bindCache.get(tag);
    if (hit !== undefined && equalConstantTime(hit.values, bound)) return hit.stale ? "stale" : "ok";
    const mac = decodeMac(tag);
    if (mac === null) return false;
    const index = this.#verifyMac(BIND_CONTEXT + bound, mac);
    if (index === -1) return false;
    if (bound.length <= MAX_CACHED_VALUES) this.#bindCache.set(tag, { values: bound, stale: index > 0 });
    return index === 0 ? "ok" : "stale";
  }
}
