/**
 * Sessions kept by the client: the whole session sealed (XChaCha20-Poly1305)
 * into one to `maxCookies` cookies next to the id cookie. No server state,
 * nothing to share between processes or machines, nothing to sweep.
 * @module
 */
import type { Context } from "hono";
import { isThenable } from "../awaitable.ts";
import type { Clock } from "../clock.ts";
import { SEAL_OVERHEAD, Sealer } from "../crypto/mod.ts";
import { SessionTooLargeError } from "../errors.ts";
import { BASE64URL, base64urlLength } from "../_internal/base64url.ts";
import { addResponseHeader } from "../_internal/http.ts";
import { clockOption, integer, option, optional, readOptions, required } from "./kit/mod.ts";
import { CookieState, type CookieStateOptions } from "../state/cookie.ts";
import type { SessionState } from "../state/types.ts";
import type {
  GroupCommit,
  RequestBound,
  SessionStore,
  StoredSession,
  SynchronousStore,
  Touch,
  UpdateFn,
} from "./types.ts";

/** Options of {@linkcode CookieStore}. */
export interface CookieStoreOptions {
  /**
   * Secret(s) the encryption keys are derived from (HKDF-SHA256, once per
   * secret), each at least 32 bytes. An array rotates: the first seals, all
   * open. Keep a retired secret in the list for one idle lifetime
   * (`expires`): every session in use is sealed again with the first secret
   * when it is next written or refreshed.
   */
  secret: string | readonly string[];
  /**
   * Attributes of the data cookies, as for the id cookie; the cookies are
   * named `<name>.0`, `<name>.1`, … They always carry `Max-Age` = the
   * session's remaining life, but expiry is checked inside the sealed value,
   * never trusted to the browser.
   * @default { name: "satchel-data" } and CookieState's defaults (HttpOnly, SameSite=Lax, Path=/, Secure and __Host- unless plain HTTP to a loopback host)
   */
  cookie?: Omit<CookieStateOptions, "persistent">;
  /**
   * Carry the sealed data some other way than cookies, e.g.
   * `new HeaderState({ name: "X-Session-Data" })` for API clients that send
   * their id in a header. The value then travels whole, in one piece of at
   * most 4096 bytes. Not together with `cookie` or `maxCookies`.
   * @default cookies built from `cookie`
   */
  state?: SessionState;
  /**
   * How many cookies one session may span, from 1 to 9. Each `Set-Cookie`
   * line stays under 4096 bytes, so each cookie adds about 3 KB of room
   * (`maxPayloadBytes` says exactly), and as much to every request's
   * `Cookie` header: check your proxies' header limits before raising it.
   * @default 3
   */
  maxCookies?: number;
  /** Time source for the expiry sealed in the value. @default Date.now */
  clock?: Clock;
}

/** Browsers keep a cookie only when its name and value fit in 4096 bytes (RFC 6265bis); each line stays under that. */
export const MAX_COOKIE_BYTES = 4096;
/** Most cookies one session may span: the part number is one digit. */
const MOST_COOKIES = 9;

const SPEC = {
  // Checked by the Sealer, which says what a secret must be.
  secret: required<string | readonly string[]>("{ secret }, 32 or more random bytes"),
  cookie: optional<Omit<CookieStateOptions, "persistent">>(),
  state: optional<SessionState>(),
  maxCookies: option<number>(3, integer({ min: 1, max: MOST_COOKIES })),
  clock: clockOption,
};
/** Longest header line of the sealed plaintext: `[expiresAt,createdAt,null]` with 13-digit times. */
const HEADER_BYTES = "[9999999999999,9999999999999,null]\n".length;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The plaintext: a header line, then the payload. Times are sealed as whole
 * milliseconds (rounded down: a session never outlives what it was given),
 * so a clock with fractions of a millisecond cannot push the header past
 * HEADER_BYTES and refuse a payload that `maxPayloadBytes` says fits.
 */
function encode(s: StoredSession): Uint8Array {
  const head = JSON.stringify([Math.floor(s.expiresAt), Math.floor(s.createdAt), s.userId ?? null]);
  return encoder.encode(`${head}\n${s.payload}`);
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

/**
 * Where the sealed value travels: numbered slots (cookies `<name>.0`, `.1`,
 * …, or one slot of a custom state), each holding at most `partChars`.
 */
interface Slots {
  readonly count: number;
  /**
   * How many slots a client may hold parts in: `count`, or for cookies all
   * nine, so parts left from a larger `maxCookies` are cleared too.
   */
  readonly held: number;
  readonly partChars: number;
  read(c: Context, i: number): string | undefined;
  write(c: Context, i: number, value: string, maxAge: number): void;
  clear(c: Context, i: number): void;
  /** Remove the lines this response already carries for these slots, so it ends with one per slot. */
  dropWritten(c: Context): void;
}

/** Drop the `Set-Cookie` lines of `c`'s response that set any of `names`. */
function dropCookieLines(c: Context, names: readonly string[]): void {
  const prefixes = names.map((n) => `${n}=`);
  const lines = c.res.headers.getSetCookie();
  const ours = (l: string) => prefixes.some((p) => l.startsWith(p));
  if (!lines.some(ours)) return;
  c.header("Set-Cookie", undefined);
  for (const l of lines) if (!ours(l)) c.header("Set-Cookie", l, { append: true });
}

function cookieSlots(options: CookieStoreOptions["cookie"], count: number): Slots {
  const base = { name: "satchel-data", ...options };
  // Slots past `count` are only read and cleared: parts an app with a larger maxCookies wrote.
  const states = Array.from(
    { length: MOST_COOKIES },
    (_, i) => new CookieState({ ...base, name: `${base.name}.${i}`, persistent: true }),
  );
  // Every line under 4096 bytes, whatever its Max-Age and Secure.
  const partChars = MAX_COOKIE_BYTES - 1 - Math.max(...states.slice(0, count).map((s) => s.maxLineBytes(0)));
  if (partChars < 256) {
    throw new RangeError(
      `Cannot create CookieStore: the data cookie's name and attributes leave only ${partChars} bytes for its value`,
    );
  }
  return {
    count,
    held: MOST_COOKIES,
    partChars,
    read: (c, i) => states[i]!.read(c),
    write: (c, i, value, maxAge) => states[i]!.write(c, value, maxAge),
    clear: (c, i) => states[i]!.clear(c),
    dropWritten: (c) => dropCookieLines(c, states.map((s) => s.nameFor(c))),
  };
}

function stateSlots(state: SessionState): Slots {
  const name = (state as { name?: unknown }).name;
  // A cookie's whole line stays under 4096 bytes; another carrier is held to a cookie's name and value.
  const partChars = state instanceof CookieState
    ? MAX_COOKIE_BYTES - 1 - state.maxLineBytes(0)
    : MAX_COOKIE_BYTES - (typeof name === "string" ? name.length : 0) - 1;
  return {
    count: 1,
    held: 1,
    partChars,
    read: (c) => state.read(c),
    write: (c, _i, value, maxAge) => state.write(c, value, maxAge),
    clear: (c) => state.clear(c),
    dropWritten: (c) => {
      if (state instanceof CookieState) dropCookieLines(c, [state.nameFor(c)]);
    },
  };
}

/**
 * CookieStore's view of one request ({@linkcode CookieStore.forRequest}):
 * every method answers synchronously, and {@linkcode GroupCommit.batch}
 * puts a commit's cookies on the response only when all of it succeeded.
 */
export interface CookieRequestStore extends SessionStore, SynchronousStore, GroupCommit, Touch {
  /** The session the request's data cookies hold for `id`, or `null`. */
  get(id: string): StoredSession | null;
  /** Seal `session` into the response's data cookies. */
  set(id: string, session: StoredSession): void;
  /** Clear the data cookies when they hold `id`'s session. */
  delete(id: string): void;
  /** Seal the session again with a new expiry. */
  touch(id: string, expiresAt: number): void;
  /** Read, change and seal again (last write wins: there is nothing shared to merge with). */
  update(id: string, fn: UpdateFn): StoredSession | null;
}

/** What the per-request views share. */
interface Shared {
  sealer: Sealer;
  slots: Slots;
  clock: Clock;
  /** Most characters of a sealed value, its part-count digit included. */
  capacity: number;
  maxPayloadBytes: number;
}

/**
 * A store that keeps each session in the client's
 * cookies, sealed with XChaCha20-Poly1305 and bound to the session id, over
 * up to `maxCookies` cookies whose `Set-Cookie` lines stay under 4096 bytes.
 * Synchronous JavaScript, no Web Crypto (docs/stores.md#cookiestore).
 *
 * - Expiry is sealed inside the value and checked on every read. Cookies
 *   longer than this store writes, or not base64url, are refused undecoded;
 *   a set with a part missing, reordered or changed opens as nothing.
 * - A session that does not fit throws {@linkcode SessionTooLargeError}
 *   before any `Set-Cookie`; a failed commit leaves the client's cookies as
 *   they were. Responses that set a data cookie get `Cache-Control: no-store`
 *   unless the app set `Cache-Control`.
 * - `update` is last write wins: concurrent requests of one session each
 *   start from the cookies they were sent. Use a server-side store when that matters.
 * - No `deleteByUser`: a copy of old cookies stays valid until its sealed
 *   expiry; keep `expires` short, or rotate the secret to end every session.
 * - Not with `lateStore`: the data must leave with the response.
 *
 * It is not a server-side {@linkcode SessionStore}: its data lives in each
 * request, so it is {@linkcode RequestBound}, and the middleware reaches the
 * request's sessions through {@linkcode CookieStore.forRequest}.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { session } from "satchel";
 * import { CookieStore } from "satchel/cookie";
 *
 * const app = new Hono();
 * app.use(session({
 *   secret: "replace with 32+ random bytes, e.g. from openssl",
 *   store: new CookieStore({ secret: "another 32+ random bytes for the encryption key" }),
 * }));
 * ```
 */
export class CookieStore implements RequestBound {
  /** The largest serialized session that fits in `maxCookies` cookies (with no user id). */
  readonly maxPayloadBytes: number;
  #shared: Shared;

  /**
   * A store that seals each session into encrypted cookies with keys derived from `secret`.
   * @throws {TypeError} on a missing secret, an unknown option, a bad cookie option,
   *   or `state` with `cookie` or `maxCookies`.
   * @throws {RangeError} when a secret is shorter than 32 bytes, or `maxCookies` is not an integer from 1 to 9.
   */
  constructor(options: CookieStoreOptions) {
    const o = readOptions("CookieStore", options, SPEC);
    if (o.state !== undefined && (o.cookie !== undefined || options.maxCookies !== undefined)) {
      throw new TypeError(
        "Cannot create CookieStore: give either state or cookie options, not both " +
          "(cookie and maxCookies configure the data cookies; with state the sealed value travels whole)",
      );
    }
    if ((options.cookie as { persistent?: unknown } | undefined)?.persistent !== undefined) {
      throw new TypeError(
        "Cannot create CookieStore: cookie.persistent is not an option of the data cookies " +
          "(they always carry Max-Age = the session's remaining life); drop it",
      );
    }
    const sealer = new Sealer(o.secret, "CookieStore");
    const slots = o.state === undefined ? cookieSlots(o.cookie, o.maxCookies) : stateSlots(o.state);
    const capacity = slots.count * slots.partChars;
    // One character of the capacity holds the part count; the rest is base64url of the sealed bytes.
    this.maxPayloadBytes = Math.floor(((capacity - 1) * 3) / 4) - SEAL_OVERHEAD - HEADER_BYTES;
    this.#shared = {
      sealer,
      slots,
      clock: o.clock,
      capacity,
      maxPayloadBytes: this.maxPayloadBytes,
    };
  }

  /** The view of this store for one request: reads the request's data cookies, writes `Set-Cookie`. */
  forRequest(c: Context): CookieRequestStore {
    return new CookieSessions(this.#shared, c);
  }
}

/** What a request wrote for one id: its session sealed into `sealed`, or nothing (`null`: cleared). */
interface Written {
  id: string;
  session: StoredSession | null;
  sealed: string | null;
  maxAge: number;
}

/**
 * One request's data cookies. Writes made inside {@linkcode CookieSessions.batch}
 * reach the response when the batch returns; writes outside one, at once.
 */
class CookieSessions implements CookieRequestStore {
  readonly synchronous = true;
  readonly maxPayloadBytes: number;
  #s: Shared;
  #c: Context;
  /** What the response carries: undefined until this request writes, and then the request's cookies no longer count. */
  #committed: Written | undefined;
  /** Inside a batch: what the response will carry if the batch succeeds. */
  #pending: Written | undefined;
  #inBatch = false;
  /** Whether this view already put data cookie lines on the response. */
  #emitted = false;
  /** The request's sealed value (parts joined), null when absent or malformed; undefined until read. */
  #raw: string | null | undefined;
  /** The request's session opened for one id, so a request decrypts once. */
  #opened: { id: string; session: StoredSession | null } | undefined;

  constructor(shared: Shared, c: Context) {
    this.#s = shared;
    this.#c = c;
    this.maxPayloadBytes = shared.maxPayloadBytes;
  }

  /**
   * The sealed value the request carries, or null. Its shape (part count,
   * lengths, alphabet) is checked before anything is decoded: a cookie
   * longer than this store ever writes costs no decoding and no crypto.
   */
  #requestValue(): string | null {
    if (this.#raw !== undefined) return this.#raw;
    this.#raw = null;
    const { slots } = this.#s;
    const first = slots.read(this.#c, 0);
    if (first === undefined || first.length < 2) return null;
    const n = first.charCodeAt(0) - 48;
    if (n < 1 || n > slots.count) return null;
    const parts = [first.slice(1)];
    for (let i = 1; i < n; i++) {
      const part = slots.read(this.#c, i);
      if (part === undefined) return null;
      parts.push(part);
    }
    // Every part but the last is full; none is longer than a part can be.
    for (let i = 0; i < n; i++) {
      const chars = parts[i]!.length + (i === 0 ? 1 : 0);
      if (chars > slots.partChars || (i < n - 1 && chars !== slots.partChars) || !BASE64URL.test(parts[i]!)) {
        return null;
      }
    }
    const raw = parts.join("");
    // Not a length base64url has, or too short to hold a seal: malformed, refused undecoded.
    if (raw.length % 4 === 1 || raw.length < base64urlLength(SEAL_OVERHEAD)) return null;
    this.#raw = raw;
    return raw;
  }

  /** The session the request's cookies hold for `id`, expired or not; null when there is none for that id. */
  #fromRequest(id: string): StoredSession | null {
    if (this.#opened?.id === id) return this.#opened.session;
    const raw = this.#requestValue();
    const opened = raw === null ? null : this.#s.sealer.open(raw, encoder.encode(id));
    const session = opened === null ? null : decode(opened.plaintext);
    this.#opened = { id, session };
    return session;
  }

  #live(s: StoredSession | null): StoredSession | null {
    return s !== null && s.expiresAt > this.#s.clock() ? { ...s } : null;
  }

  /** What the response will carry at the end of the current write, or undefined when this request wrote nothing yet. */
  #current(): Written | undefined {
    return this.#inBatch && this.#pending !== undefined ? this.#pending : this.#committed;
  }

  #write(w: Written): void {
    if (this.#inBatch) {
      this.#pending = w;
      return;
    }
    this.#committed = w;
    this.#emit(w);
  }

  /** Put `w` on the response: its parts, clears for the request's other parts, and no-store. */
  #emit(w: Written): void {
    const { slots } = this.#s;
    const c = this.#c;
    if (this.#emitted) slots.dropWritten(c);
    this.#emitted = true;
    let lines = 0;
    const parts = w.sealed === null ? 0 : Math.ceil(w.sealed.length / slots.partChars);
    for (let i = 0; i < parts; i++) {
      slots.write(c, i, w.sealed!.slice(i * slots.partChars, (i + 1) * slots.partChars), w.maxAge);
      lines++;
    }
    // Parts of a larger earlier session (or all of a cleared one) that the client holds, past maxCookies too.
    for (let i = parts; i < slots.held; i++) {
      if (slots.read(c, i) === undefined) continue;
      slots.clear(c, i);
      lines++;
    }
    // A response carrying someone's sealed session must never be cached for someone else.
    if (lines > 0 && !c.res.headers.has("Cache-Control")) addResponseHeader(c, "Cache-Control", "no-store");
  }

  #tooLarge(chars: number): SessionTooLargeError {
    const { capacity, slots } = this.#s;
    const e = new SessionTooLargeError(chars, capacity);
    e.message = `Cannot store session: sealed, it is ${chars} bytes, over the ${capacity} bytes that ${slots.count} ` +
      `cookie${slots.count > 1 ? "s" : ""} of under ${MAX_COOKIE_BYTES} bytes hold; keep less in the session ` +
      `(about ${this.maxPayloadBytes} bytes of serialized data fit), raise maxCookies, or use a server-side store`;
    return e;
  }

  /**
   * Run `work`, which calls this view's methods synchronously, and put the
   * cookies it wrote on the response only when it returns: work that throws
   * leaves the response's cookies as they were.
   * @throws {TypeError} (as a rejection) when `work` returns a promise.
   */
  batch<T>(work: () => T): Promise<T> {
    if (this.#inBatch) return Promise.resolve(work());
    this.#inBatch = true;
    this.#pending = undefined;
    try {
      const result = work();
      if (isThenable(result)) {
        Promise.resolve(result).catch(() => {});
        throw new TypeError(
          "Cannot commit to CookieStore: batch work must be synchronous, its writes go into this response",
        );
      }
      if (this.#pending !== undefined) {
        this.#committed = this.#pending;
        this.#emit(this.#pending);
      }
      return Promise.resolve(result);
    } catch (e) {
      return Promise.reject(e);
    } finally {
      this.#inBatch = false;
      this.#pending = undefined;
    }
  }

  get(id: string): StoredSession | null {
    const w = this.#current();
    if (w !== undefined) return w.id === id ? this.#live(w.session) : null;
    return this.#live(this.#fromRequest(id));
  }

  set(id: string, session: StoredSession): void {
    const now = this.#s.clock();
    if (session.expiresAt <= now) return this.#write({ id, session: null, sealed: null, maxAge: 0 });
    const plain = encode(session);
    // The sealed length is known before sealing: refuse without spending the encryption.
    const chars = 1 + base64urlLength(plain.length + SEAL_OVERHEAD);
    if (chars > this.#s.capacity) throw this.#tooLarge(chars);
    const parts = Math.ceil(chars / this.#s.slots.partChars);
    const sealed = `${parts}${this.#s.sealer.seal(plain, encoder.encode(id))}`;
    this.#write({
      id,
      session: { ...session },
      sealed,
      maxAge: Math.max(1, Math.ceil((session.expiresAt - now) / 1000)),
    });
  }

  delete(id: string): void {
    const w = this.#current();
    // Clear the client's cookies only when they hold this id's session (live or expired), or this request wrote it.
    const holds = w !== undefined ? w.id === id && w.session !== null : this.#fromRequest(id) !== null;
    if (holds) this.#write({ id, session: null, sealed: null, maxAge: 0 });
  }

  touch(id: string, expiresAt: number): void {
    const cur = this.get(id);
    if (cur !== null) this.set(id, { ...cur, expiresAt });
  }

  update(id: string, fn: UpdateFn): StoredSession | null {
    const next = fn(this.get(id));
    if (next === null) {
      this.delete(id);
      return null;
    }
    this.set(id, next);
    return next;
  }
}
