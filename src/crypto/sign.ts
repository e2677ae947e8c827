/**
 * HMAC-SHA256 signing of session ids, with key rotation: the first secret
 * signs, every secret verifies, and MACs are compared in constant time. Each
 * MAC covers a context label before the data (`satchel/id/1:` for tokens,
 * `satchel/bind/1:` for binding tags), so a MAC made for one purpose, or by
 * Hono's signed cookies under a shared secret, never verifies for another.
 *
 * A bounded cache remembers per id the signature that last passed a full
 * check, so a returning client skips the HMAC
 * (bench/RESULTS.md#verified-token-cache-and-bind-issue-15). It weakens
 * nothing (SECURITY.md):
 * - only signatures that verified are inserted, never a rejected one;
 * - it is looked up by id, and the presented signature is compared without an early exit;
 * - secrets are read once: a rotation is a new signer with an empty cache;
 * - it vouches for a signature, never for a session: the store is still asked;
 * - it holds at most `cacheSize` entries, and bound values over 512 characters are never cached.
 * @module
 */
import { decodeBase64url, encodeBase64url } from "../_internal/base64url.ts";
import { checkNumber } from "../_internal/numbers.ts";
import { secretList } from "../_internal/secrets.ts";
import { ID_LENGTH, isValidId } from "../id.ts";
import { timingSafeEqual } from "./equal.ts";
import { HmacSha256 } from "./hmac.ts";

const encoder = new TextEncoder();
/** Length of a base64url HMAC-SHA256 signature. */
const SIG_LENGTH = 43;
/** Length of a token: id, ".", signature. */
export const TOKEN_LENGTH = ID_LENGTH + 1 + SIG_LENGTH;
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
export interface VerifiedToken {
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
export type Verdict = VerifiedToken | "malformed" | "signature";

/** Decode a base64url MAC; `null` unless it is the canonical spelling of 32 bytes. */
function decodeMac(mac: string): Uint8Array<ArrayBuffer> | null {
  return mac.length === SIG_LENGTH ? decodeBase64url(mac) : null;
}

/**
 * A bounded map in two generations: inserts go to the young map, and when it
 * holds half the size the old map is dropped whole and the young one takes
 * its place. A hit in the old map is copied into the young one (a second
 * chance), so a client in use is never evicted while it keeps coming back.
 * No entry is ever deleted one by one: deleting and re-inserting keys of a
 * large `Map` leaves holes that later inserts and iterations pay for
 * (issue 15).
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

/**
 * Signs ids into `id.signature` tokens and verifies them; also makes and
 * checks the tags that bind a session to its client (`bind` option).
 * Made by the middleware; exported for tests and custom states.
 */
export class Signer {
  #keys: HmacSha256[];
  /** id → the signature last verified for it (see the module doc). */
  #cache: Generations<VerifiedToken & { sig: string }>;
  /** Binding tag → the values it was verified for; the same rules as #cache. */
  #bindCache: Generations<{ values: string; stale: boolean }>;

  /**
   * @param secrets One secret or several; the first signs, all verify.
   * @param cacheSize How many verified tokens to remember (0 turns the cache off).
   * @throws {TypeError} when no secret is given, or a secret is not a string.
   * @throws {RangeError} when a secret is shorter than 32 bytes, or `cacheSize` is not a non-negative integer.
   */
  constructor(secrets: string | readonly string[], cacheSize = 10_000) {
    const list = secretList("session signer", secrets);
    checkNumber("session signer", "verifiedTokenCache", cacheSize, { integer: true, min: 0 });
    this.#cache = new Generations(cacheSize);
    this.#bindCache = new Generations(cacheSize);
    this.#keys = list.map((s) => new HmacSha256(encoder.encode(s)));
  }

  /** After a full verification (a cached signature that matched returned earlier): what verified, for next time. */
  #remember(id: string, sig: string, stale: boolean): void {
    this.#cache.set(id, { id, sig, stale });
  }

  /**
   * The token for `id`: `id + "." + base64url(HMAC-SHA256(first secret, "satchel/id/1:" + id))`.
   * @throws {TypeError} when `id` is not the shape of an id Satchel issues.
   */
  sign(id: string): string {
    if (!isValidId(id)) {
      throw new TypeError("Cannot sign session id: it is not an id Satchel issues (32 base64url characters)");
    }
    // Not remembered: a token is cached when it first comes back. Caching every new one (a visitor who never
    // returns, a crawler) kept entries alive just long enough to burden every garbage collection; the price is one
    // HMAC on a session's second request. Measured:
    // bench/RESULTS.md#redisstore-against-honosession-on-redis-issue-23
    return `${id}.${encodeBase64url(this.#keys[0]!.mac(ID_CONTEXT + id))}`;
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
    if (hit !== undefined && timingSafeEqual(hit.sig, sig)) return { id, stale: hit.stale };
    const mac = decodeMac(sig);
    if (mac === null) return "malformed";
    const index = this.#verifyMac(ID_CONTEXT + id, mac);
    if (index === -1) return "signature";
    this.#remember(id, sig, index > 0);
    return { id, stale: index > 0 };
  }

  /** Index of the first secret whose MAC of `data` is `mac`, or -1. */
  #verifyMac(data: string, mac: Uint8Array): number {
    const keys = this.#keys;
    const bytes = encoder.encode(data);
    for (let i = 0; i < keys.length; i++) {
      if (timingSafeEqual(keys[i]!.mac(bytes), mac)) return i;
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
    // Not cached, as sign() caches no token: the tag is cached when it is first checked.
    return encodeBase64url(this.#keys[0]!.mac(BIND_CONTEXT + bound));
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
    if (hit !== undefined && timingSafeEqual(hit.values, bound)) return hit.stale ? "stale" : "ok";
    const mac = decodeMac(tag);
    if (mac === null) return false;
    const index = this.#verifyMac(BIND_CONTEXT + bound, mac);
    if (index === -1) return false;
    if (bound.length <= MAX_CACHED_VALUES) this.#bindCache.set(tag, { values: bound, stale: index > 0 });
    return index === 0 ? "ok" : "stale";
  }
}
