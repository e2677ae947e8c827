/**
 * Sessions kept by the client: the whole session sealed (AES-256-GCM) in a
 * second cookie next to the id cookie. No server state, nothing to share
 * between processes or machines, nothing to sweep.
 * @module
 */
import type { Context } from "hono";
import { type Clock, systemClock } from "../clock.ts";
import { base64urlLength, SEAL_OVERHEAD, Sealer } from "../crypto/seal.ts";
import { SessionTooLargeError } from "../errors.ts";
import { CookieState, type CookieStateOptions } from "../state/cookie.ts";
import type { SessionState } from "../state/types.ts";
import type { SessionStore, StoredSession, UpdateFn } from "./types.ts";

/** Options of {@linkcode CookieStore}. */
export interface CookieStoreOptions {
  /**
   * Secret(s) the AES-256-GCM keys are derived from (HKDF-SHA256), each at
   * least 32 bytes. An array rotates: the first seals, all open. Keep a
   * retired secret in the list for one idle lifetime (`expires`): every
   * session in use is sealed again with the first secret when it is next
   * written or refreshed.
   */
  secret: string | readonly string[];
  /**
   * Attributes of the data cookie, as for the id cookie. It always carries
   * `Max-Age` = the session's remaining life, but expiry is checked inside
   * the sealed value, never trusted to the browser.
   * @default { name: "satchel-data" } and CookieState's defaults (HttpOnly, SameSite=Lax, Path=/, Secure on https)
   */
  cookie?: Omit<CookieStateOptions, "persistent">;
  /**
   * Carry the sealed data some other way than a cookie, e.g.
   * `new HeaderState({ name: "X-Session-Data" })` for API clients that send
   * their id in a header. Not together with `cookie`.
   * @default a CookieState built from `cookie`
   */
  state?: SessionState;
  /** Time source for the expiry sealed in the value. @default Date.now */
  clock?: Clock;
}

/** Browsers drop a cookie whose name and value exceed 4096 bytes (RFC 6265bis). */
export const MAX_COOKIE_BYTES = 4096;
/** Longest header line of the sealed plaintext: `[expiresAt,createdAt,null]` with 13-digit times. */
const HEADER_BYTES = "[9999999999999,9999999999999,null]\n".length;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function encode(s: StoredSession): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${JSON.stringify([s.expiresAt, s.createdAt, s.userId ?? null])}\n${s.payload}`);
}

function decode(bytes: Uint8Array): StoredSession | null {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return null;
  }
  const nl = text.indexOf("\n");
  if (nl === -1) return null;
  let head: unknown;
  try {
    head = JSON.parse(text.slice(0, nl));
  } catch {
    return null;
  }
  if (!Array.isArray(head) || head.length !== 3) return null;
  const [expiresAt, createdAt, userId] = head as unknown[];
  if (typeof expiresAt !== "number" || typeof createdAt !== "number") return null;
  if (userId !== null && typeof userId !== "string") return null;
  return { payload: text.slice(nl + 1), expiresAt, createdAt, userId };
}

/** What the per-request views share. */
interface Shared {
  sealer: Sealer;
  state: SessionState;
  name: string;
  clock: Clock;
  maxPayloadBytes: number;
}

/**
 * A {@linkcode SessionStore} that keeps each session in the client's cookie,
 * sealed with AES-256-GCM (Web Crypto) under a key derived by HKDF from the
 * secret, with a fresh salt and IV per seal.
 *
 * - The sealed value is bound to the session id (authenticated associated
 *   data): a data cookie copied next to another id cookie opens as nothing.
 * - Expiry is sealed inside the value and checked on every read.
 * - A session whose cookie would pass 4096 bytes (name and value) throws
 *   {@linkcode SessionTooLargeError} before any `Set-Cookie` is written: the
 *   client keeps its previous cookie. About 2.9 KB of serialized data fit.
 * - `update` is last write wins: two requests of one session that run at the
 *   same time each start from the cookie they were sent, and the response
 *   that arrives last decides what the browser keeps. There is nothing
 *   shared to merge with; use a server-side store when that matters.
 * - `deleteByUser` is not offered (the data lives in browsers), and
 *   `deleteExpired` has nothing to do. Logging out is clearing the cookie;
 *   a copy of an old cookie stays valid until its sealed expiry, so keep
 *   `expires` short, or rotate the secret to end every session at once.
 * - Do not use `lateStore` with it: the data must leave with the response.
 *
 * The middleware reaches it through {@linkcode CookieStore.forRequest}; its
 * own methods throw outside a request.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { CookieStore, session } from "satchel";
 *
 * const app = new Hono();
 * app.use(session({
 *   secret: "replace with 32+ random bytes, e.g. from openssl",
 *   store: new CookieStore({ secret: "another 32+ random bytes for the encryption key" }),
 * }));
 * ```
 */
export class CookieStore implements SessionStore {
  /** The largest serialized session that fits in the cookie (with no user id). */
  readonly maxPayloadBytes: number;
  #shared: Shared;

  /**
   * A store that seals each session into an encrypted cookie with keys derived from `secret`.
   * @throws {TypeError} on a missing secret, a bad cookie option, or both `cookie` and `state`.
   * @throws {RangeError} when a secret is shorter than 32 bytes.
   */
  constructor(options: CookieStoreOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot create CookieStore: options are required, at least { secret }");
    }
    if (options.state !== undefined && options.cookie !== undefined) {
      throw new TypeError("Cannot create CookieStore: give either state or cookie options, not both (cookie configures the data cookie)");
    }
    const sealer = new Sealer(options.secret, "CookieStore");
    const state = options.state ?? new CookieState({ name: "satchel-data", ...options.cookie, persistent: true });
    const name = (state as { name?: unknown }).name;
    const nameBytes = typeof name === "string" ? name.length : 0;
    const room = Math.floor(((MAX_COOKIE_BYTES - nameBytes - 1) * 3) / 4);
    this.maxPayloadBytes = room - SEAL_OVERHEAD - HEADER_BYTES;
    this.#shared = { sealer, state, name: typeof name === "string" ? name : "", clock: options.clock ?? systemClock, maxPayloadBytes: this.maxPayloadBytes };
  }

  /** The view of this store for one request: reads the request's data cookie, writes `Set-Cookie`. */
  forRequest(c: Context): SessionStore {
    return new CookieSessions(this.#shared, c);
  }

  #outside(method: string): never {
    throw new TypeError(
      `Cannot use CookieStore.${method}() outside a request: the data lives in each request's cookie; ` +
        "use the session middleware, or call store.forRequest(c) in a handler",
    );
  }

  /** Throws: the store works only through `forRequest`. */
  get(_id: string): never {
    return this.#outside("get");
  }
  /** Throws: the store works only through `forRequest`. */
  set(_id: string, _session: StoredSession): never {
    return this.#outside("set");
  }
  /** Throws: the store works only through `forRequest`. */
  delete(_id: string): never {
    return this.#outside("delete");
  }
  /** Throws: the store works only through `forRequest`. */
  touch(_id: string, _expiresAt: number): never {
    return this.#outside("touch");
  }
  /** Throws: the store works only through `forRequest`. */
  update(_id: string, _fn: UpdateFn): never {
    return this.#outside("update");
  }
  /** Nothing is kept on the server: always 0. */
  deleteExpired(_now?: number): number {
    return 0;
  }
}

/** One request's data cookie. */
class CookieSessions implements SessionStore {
  readonly maxPayloadBytes: number;
  #s: Shared;
  #c: Context;
  /** What this request wrote last: the response's cookie now holds this id's session (or nothing). */
  #written: { id: string; session: StoredSession | null } | undefined;

  constructor(shared: Shared, c: Context) {
    this.#s = shared;
    this.#c = c;
    this.maxPayloadBytes = shared.maxPayloadBytes;
  }

  /** The session the request's cookie holds for `id`, expired or not; null when there is none for that id. */
  async #fromRequest(id: string): Promise<StoredSession | null> {
    const raw = this.#s.state.read(this.#c);
    if (raw === undefined || raw === "") return null;
    const opened = await this.#s.sealer.open(raw, encoder.encode(id));
    return opened === null ? null : decode(opened.plaintext);
  }

  #live(s: StoredSession | null): StoredSession | null {
    return s !== null && s.expiresAt > this.#s.clock() ? { ...s } : null;
  }

  /** Remove the data cookie lines this response already carries, so it ends with one. */
  #dropEarlier(): void {
    if (this.#s.name === "" || !(this.#s.state instanceof CookieState)) return;
    const prefix = `${this.#s.name}=`;
    const lines = this.#c.res.headers.getSetCookie();
    if (!lines.some((l) => l.startsWith(prefix))) return;
    this.#c.header("Set-Cookie", undefined);
    for (const l of lines) if (!l.startsWith(prefix)) this.#c.header("Set-Cookie", l, { append: true });
  }

  async get(id: string): Promise<StoredSession | null> {
    if (this.#written !== undefined) return this.#written.id === id ? this.#live(this.#written.session) : null;
    return this.#live(await this.#fromRequest(id));
  }

  async set(id: string, session: StoredSession): Promise<void> {
    const now = this.#s.clock();
    if (session.expiresAt <= now) return await this.#clear(id);
    const plain = encode(session);
    // The sealed length is known before sealing: refuse without spending the encryption.
    const size = this.#s.name.length + 1 + base64urlLength(plain.length + SEAL_OVERHEAD);
    if (size > MAX_COOKIE_BYTES) {
      const e = new SessionTooLargeError(size, MAX_COOKIE_BYTES);
      e.message = `Cannot store session: its sealed cookie would be ${size} bytes, over the ${MAX_COOKIE_BYTES} bytes browsers keep; ` +
        `keep less in the session (about ${this.maxPayloadBytes} bytes of serialized data fit) or use a server-side store`;
      throw e;
    }
    const value = await this.#s.sealer.seal(plain, encoder.encode(id));
    this.#dropEarlier();
    this.#s.state.write(this.#c, value, Math.max(1, Math.ceil((session.expiresAt - now) / 1000)));
    this.#written = { id, session: { ...session } };
  }

  async #clear(id: string): Promise<void> {
    this.#dropEarlier();
    this.#s.state.clear(this.#c);
    this.#written = { id, session: null };
  }

  async delete(id: string): Promise<void> {
    if (this.#written !== undefined) {
      if (this.#written.id === id && this.#written.session !== null) await this.#clear(id);
      return;
    }
    // Clear the client's cookie only when it holds this id's session, live or expired.
    if ((await this.#fromRequest(id)) !== null) await this.#clear(id);
  }

  async touch(id: string, expiresAt: number): Promise<void> {
    const cur = await this.get(id);
    if (cur !== null) await this.set(id, { ...cur, expiresAt });
  }

  async update(id: string, fn: UpdateFn): Promise<StoredSession | null> {
    const cur = await this.get(id);
    const next = fn(cur);
    if (next === null) {
      await this.delete(id);
      return null;
    }
    await this.set(id, next);
    return next;
  }

  deleteExpired(_now?: number): number {
    return 0;
  }
}
