/**
 * `session(options)`: the Hono middleware. Loads the session the client's
 * token names, hands the handler a {@linkcode Session}, and after the handler
 * commits what the request changed: nothing for an untouched session, an
 * expiry `touch` past the refresh threshold, the patch applied atomically
 * through `store.update` otherwise.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { after, isThenable } from "./awaitable.ts";
import { type Clock, systemClock } from "./clock.ts";
import { Signer } from "./crypto/sign.ts";
import { type Serializer, superjsonSerializer } from "./serializer.ts";
import { decodePayload, Session, SessionCore } from "./session.ts";
import { addResponseHeader, CookieState, type CookieStateOptions } from "./state/cookie.ts";
import type { SessionState } from "./state/types.ts";
import { SqliteStore } from "./store/sqlite.ts";
import { type Awaitable, hasGroupCommit, isRequestBound, type SessionStore, type StoredSession } from "./store/types.ts";

/** Why a token the client sent did not yield its session. */
export type InvalidTokenReason =
  | "malformed" // not the shape of a token Satchel issues (length, alphabet, canonical base64url)
  | "signature" // the right shape, but no configured secret signed it (tampered, forged, or a retired secret)
  | "unknown" // signed by us, but no live session has that id (destroyed, expired, swept)
  | "expired" // past the absolute timeout
  | "corrupt" // the stored payload could not be decoded
  | "binding"; // the session is bound (`bind`) to another user agent or address: it was ended

/**
 * What a session is bound to (Catalyst's `verify_user_agent` / `verify_address`).
 * A request whose values differ from those the session was created with gets
 * a new, empty session; the old one is deleted, its data never reaches the
 * handler, and `onInvalidToken` hears `"binding"`. The store keeps only an
 * HMAC of the values, never the values.
 */
export interface SessionBinding {
  /** Bind to the `User-Agent` header. @default false */
  userAgent?: boolean;
  /**
   * Bind to the client address this function returns, e.g. from
   * `getConnInfo(c).remote.address` (hono/bun, hono/deno, @hono/node-server)
   * or, behind a proxy you run, from the header it sets.
   * @default undefined (not bound)
   */
  address?: (c: Context) => string | undefined;
}

/** Options of {@linkcode session}. */
export interface SessionOptions {
  /**
   * Secret(s) for the HMAC-SHA256 signature of the session token, each at
   * least 32 bytes. An array rotates: the first signs, all verify, and tokens
   * signed with an older one are re-signed with the first.
   */
  secret: string | readonly string[];
  /** Where sessions live. @default a SqliteStore at `<os temp dir>/satchel-<uid>/<name>.sqlite` */
  store?: SessionStore;
  /** Names the default store's file. @default "app" */
  name?: string;
  /** How the token travels. @default a CookieState built from `cookie` */
  state?: SessionState;
  /** Options of the default cookie state; not allowed together with `state`. */
  cookie?: CookieStateOptions;
  /** Idle lifetime in seconds: a session unused this long is gone. @default 3600 */
  expires?: number;
  /** Absolute lifetime in seconds from creation, however active. @default undefined (none) */
  absoluteTimeout?: number;
  /**
   * Refresh the idle expiry (a `touch`, never a rewrite of the data) only when
   * less than this many seconds of it remain; 0 never refreshes (a session
   * then ends `expires` seconds after its last write).
   * @default expires - 60 (at most one touch a minute per session; expires / 2 when expires < 120)
   */
  refreshThreshold?: number;
  /**
   * How session data becomes the stored string and back: `superjsonSerializer`
   * (Date, Map, Set, BigInt survive) or `jsonSerializer`.
   * @default superjson
   */
  serializer?: Serializer;
  /** Largest serialized session in bytes. @default the store's `maxPayloadBytes`, else 1 MiB */
  maxPayloadBytes?: number;
  /** Time source (ms since epoch). @default Date.now */
  clock?: Clock;
  /**
   * Bind each session to its client: a request from another user agent or
   * address gets a new session. @default undefined (no binding)
   */
  bind?: SessionBinding;
  /**
   * Called when a client's token is refused (bad shape or signature, unknown
   * or expired id, binding mismatch): for logging and rate limiting. The client
   * gets a fresh session either way. Satchel itself never logs attacker input.
   */
  onInvalidToken?: (c: Context, reason: InvalidTokenReason) => void;
  /** Called when a `lateStore` commit fails after the response left. @default logs the error's name and message */
  onLateStoreError?: (error: unknown) => void;
  /** How many verified tokens to remember, skipping their HMAC. @default 10000 */
  verifiedTokenCache?: number;
}

/**
 * Hono environment that types `c.get("session")`.
 * @typeParam T The shape of the session's data.
 */
export type SessionEnv<T extends object = Record<string, unknown>> = {
  Variables: { session: Session<T> };
};

/** The function joining a request's bound values into one unambiguous string, or undefined without `bind`. */
function bindingOf(bind: SessionBinding | undefined): ((c: Context) => string) | undefined {
  if (bind === undefined) return undefined;
  const fail = (why: string): never => {
    throw new TypeError(`Cannot create session middleware: ${why}`);
  };
  if (typeof bind !== "object" || bind === null) fail("bind must be an object such as { userAgent: true }");
  const { userAgent = false, address } = bind;
  if (typeof userAgent !== "boolean") fail(`bind.userAgent must be a boolean: received ${typeof userAgent}`);
  if (address !== undefined && typeof address !== "function") fail("bind.address must be a function (c) => string");
  if (!userAgent && address === undefined) fail("bind needs userAgent: true, an address function, or both; or leave bind out");
  return (c) => JSON.stringify([userAgent ? c.req.header("user-agent") ?? "" : null, address ? String(address(c) ?? "") : null]);
}

/** Longest token read: an id, a dot and a signature are 76 characters. */
const MAX_TOKEN = 128;

function positive(name: string, value: number | undefined, allowZero = false): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`Cannot create session middleware: ${name} must be a ${allowZero ? "non-negative" : "positive"} number of seconds: received ${value}`);
  }
}

/**
 * Runs `work` after the response is handed back: through the context's
 * `executionCtx.waitUntil` where the runtime has one (Cloudflare Workers
 * drops a plain timer's work once the response is sent), else on a timer.
 */
function runLate(c: Context, work: () => Promise<unknown>): void {
  let waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  try {
    const ctx = c.executionCtx; // Hono's getter throws where there is no execution context
    waitUntil = ctx.waitUntil.bind(ctx);
  } catch {
    waitUntil = undefined;
  }
  if (waitUntil === undefined) setTimeout(work, 0);
  else waitUntil(new Promise((resolve) => setTimeout(resolve, 0)).then(work));
}

/**
 * The session middleware.
 *
 * @typeParam T The shape of the session's data.
 * @param options See {@linkcode SessionOptions}; only `secret` is required.
 * @returns A Hono middleware that sets `c.get("session")`.
 * @throws {TypeError | RangeError} at setup, on a missing or short secret or a bad option.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { session, type SessionEnv } from "satchel";
 *
 * const app = new Hono<SessionEnv<{ count: number }>>();
 * app.use(session({ secret: "replace with 32+ random bytes, e.g. from openssl" }));
 * app.get("/", (c) => {
 *   const n = c.get("session").update("count", (n) => (n ?? 0) + 1);
 *   return c.text(`visits: ${n}`);
 * });
 * ```
 */
export function session<T extends object = Record<string, unknown>>(
  options: SessionOptions,
): MiddlewareHandler<SessionEnv<T>> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot create session middleware: options are required, at least { secret }");
  }
  if (options.state !== undefined && options.cookie !== undefined) {
    throw new TypeError("Cannot create session middleware: give either state or cookie options, not both (cookie configures the default CookieState)");
  }
  positive("expires", options.expires);
  positive("absoluteTimeout", options.absoluteTimeout);
  positive("refreshThreshold", options.refreshThreshold, true);
  const signer = new Signer(options.secret ?? [], options.verifiedTokenCache);
  const expires = options.expires ?? 3600;
  const ttl = expires * 1000;
  const absolute = options.absoluteTimeout === undefined ? undefined : options.absoluteTimeout * 1000;
  const threshold = (options.refreshThreshold ?? expires - Math.min(60, expires / 2)) * 1000;
  if (threshold > ttl) {
    throw new RangeError(`Cannot create session middleware: refreshThreshold (${threshold / 1000}) must not exceed expires (${expires})`);
  }
  const clock = options.clock ?? systemClock;
  const serializer = options.serializer ?? superjsonSerializer;
  const state = options.state ?? new CookieState(options.cookie);
  if (options.store !== undefined && options.name !== undefined) {
    throw new TypeError("Cannot create session middleware: name only names the default store's file; with your own store, drop name (give SqliteStore a path instead)");
  }
  const baseStore: SessionStore = options.store ?? new SqliteStore({ name: options.name, clock });
  const maxPayloadBytes = options.maxPayloadBytes ?? baseStore.maxPayloadBytes ?? 1024 * 1024;
  if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes <= 0) {
    throw new RangeError(`Cannot create session middleware: maxPayloadBytes must be a positive integer: received ${maxPayloadBytes}`);
  }
  if (baseStore.maxPayloadBytes !== undefined && maxPayloadBytes > baseStore.maxPayloadBytes) {
    throw new RangeError(
      `Cannot create session middleware: maxPayloadBytes (${maxPayloadBytes}) exceeds what the store accepts ` +
        `(${baseStore.maxPayloadBytes}); raise the store's maxPayloadBytes or lower this one`,
    );
  }
  const bindValues = bindingOf(options.bind);
  const onInvalid = options.onInvalidToken;
  const onLateError = options.onLateStoreError ??
    ((e: unknown) => console.error(`satchel: late store failed: ${e instanceof Error ? `${e.name}: ${e.message}` : "unknown error"}`));

  /** The idle expiry of a session written at `now`: never past its absolute deadline. */
  function expiryAt(now: number, createdAt: number): number {
    return absolute === undefined ? now + ttl : Math.min(now + ttl, createdAt + absolute);
  }

  /** The new expiry when a refresh is due (less than `threshold` left and it would move), else undefined. */
  function refreshTo(stored: StoredSession, now: number): number | undefined {
    if (stored.expiresAt - now >= threshold) return undefined;
    const to = expiryAt(now, stored.createdAt);
    return to > stored.expiresAt ? to : undefined;
  }

  /**
   * A data write moves the idle expiry by the same rule as a refresh: only
   * when less than `threshold` is left. Otherwise the stored expiry stays,
   * and so does its entry in the store's expiry index (on SQLite, a write
   * that leaves `expires_at` alone dirties one page instead of three).
   */
  function keepExpiry(next: StoredSession | null, cur: StoredSession | null, now: number): StoredSession | null {
    // refreshThreshold 0 means "expires after the last write": every data write moves it.
    if (threshold === 0 || next === null || cur === null || cur.createdAt !== next.createdAt || refreshTo(cur, now) !== undefined) return next;
    return next.expiresAt === cur.expiresAt ? next : { ...next, expiresAt: cur.expiresAt };
  }

  /** A merged session with its expiry capped at the absolute deadline. */
  function capped(s: StoredSession | null): StoredSession | null {
    return s === null || absolute === undefined ? s : { ...s, expiresAt: Math.min(s.expiresAt, s.createdAt + absolute) };
  }

  type Loaded = { core: SessionCore; stale: boolean } | undefined;

  /**
   * The session a token names, or undefined (the reason went to onInvalidToken).
   * Synchronous when the store's get is (SQLite, memory): no promise, no
   * microtask on the hot path; a promise otherwise.
   */
  function load(c: Context, store: SessionStore, token: string): Loaded | Promise<Loaded> {
    // Shape and signature are checked before any store access: junk and forgeries never reach it.
    const verified = token.length <= MAX_TOKEN ? signer.verify(token) : "malformed";
    if (typeof verified === "string") return void onInvalid?.(c, verified);
    const stored = store.get(verified.id);
    return isThenable(stored)
      ? Promise.resolve(stored).then((s) => open(c, store, verified.id, verified.stale, s))
      : open(c, store, verified.id, verified.stale, stored);
  }

  /** The session made of what the store returned for a verified id. */
  function open(c: Context, store: SessionStore, id: string, stale: boolean, stored: StoredSession | null): Loaded | Promise<Loaded> {
    if (stored === null) return void onInvalid?.(c, "unknown");
    if (absolute !== undefined && stored.createdAt + absolute <= clock()) return end(c, store, id, "expired");
    const decoded = decodePayload(serializer, stored.payload);
    if (decoded === null) return void onInvalid?.(c, "corrupt");
    let rebind: string | undefined;
    if (bindValues !== undefined) {
      const values = bindValues(c);
      const bound = signer.checkBindTag(values, decoded.bind);
      // Another client holds this token: end the session rather than hand its data over.
      if (bound === false) return end(c, store, id, "binding");
      if (bound === "stale") rebind = signer.bindTag(values);
    }
    const core = new SessionCore({ serializer, ttl, maxPayloadBytes, store, loaded: { id, stored, decoded } });
    if (rebind !== undefined) {
      core.bindTag = rebind;
      core.bindStale = true;
    }
    return { core, stale };
  }

  /** Delete a session that must not be used again, and say why. */
  async function end(c: Context, store: SessionStore, id: string, reason: InvalidTokenReason): Promise<undefined> {
    await store.delete(id);
    onInvalid?.(c, reason);
  }

  /** Cookie outcome of a commit: send this id (valid until then), clear the client's token, or leave it. */
  type Outcome = { send: string; until: number } | "clear" | "keep";

  /** What the commit will do, decided before any store I/O. */
  function plan(core: SessionCore, hadToken: boolean, stale: boolean, now: number): Outcome {
    if (core.attached) {
      const stored = core.init.loaded!.stored;
      if (core.status === "regenerated") return { send: core.id, until: expiryAt(now, stored.createdAt) };
      // A data write stores the refreshed expiry when one is due, else keeps the stored one (see keepExpiry).
      // The expiry moves on a refresh that is due, or on any data write when refreshThreshold is 0 (see keepExpiry);
      // only then does a persistent cookie need a new Max-Age.
      const until = core.dirty && threshold === 0 ? expiryAt(now, stored.createdAt) : refreshTo(stored, now);
      if ((until !== undefined && state.persistent) || stale) return { send: core.id, until: until ?? stored.expiresAt };
      return "keep";
    }
    if (core.dirty) return { send: core.id, until: expiryAt(now, now) };
    return hadToken ? "clear" : "keep";
  }

  /**
   * Apply the session's changes to the store; "clear" when its row vanished
   * meanwhile. Synchronous when the store is, so a store's `batch` can run it
   * inside its shared transaction.
   */
  function write(store: SessionStore, core: SessionCore, now: number): Awaitable<"clear" | undefined> {
    const loadedId = core.loadedId;
    const done = (): undefined => undefined;
    if (core.attached) {
      const loaded = core.init.loaded!;
      if (core.status === "regenerated") {
        let moved = null as StoredSession | null;
        return after(store.update(loadedId!, (cur) => (moved = capped(core.merge(cur, now)), null)), () => {
          if (moved === null) return "clear" as const;
          return after(store.set(core.id, moved), done);
        });
      }
      if (core.dirty) {
        return after(
          store.update(loadedId!, (cur) => keepExpiry(capped(core.merge(cur, now)), cur, now)),
          (stored) => (stored === null ? "clear" as const : undefined),
        );
      }
      const to = refreshTo(loaded.stored, now);
      return to === undefined ? undefined : after(store.touch(loadedId!, to), done);
    }
    const deleted = loadedId === undefined ? undefined : store.delete(loadedId);
    return after(deleted, () => (core.dirty ? after(store.set(core.id, capped(core.merge(null, now))!), done) : undefined));
  }

  /** Commit through the store's group commit when it has one (SqliteStore.batch), else directly. */
  function commit(store: SessionStore, core: SessionCore, now: number): Awaitable<"clear" | undefined> {
    // A store with batch answers synchronously, so write does too (batch refuses a promise).
    return hasGroupCommit(store) ? store.batch(() => write(store, core, now) as "clear" | undefined) : write(store, core, now);
  }

  function deliver(c: Context, outcome: Outcome, now: number): void {
    if (outcome === "keep") return;
    if (outcome === "clear") state.clear(c);
    else state.write(c, signer.sign(outcome.send), Math.ceil((outcome.until - now) / 1000));
    // A response that sets or clears the session token must never be cached for someone else.
    if (!c.res.headers.has("Cache-Control")) addResponseHeader(c, "Cache-Control", "no-store");
  }

  return async function session(c, next) {
    const store = isRequestBound(baseStore) ? baseStore.forRequest(c) : baseStore;
    const token = state.read(c);
    let loaded = token === undefined ? undefined : load(c, store, token);
    if (loaded instanceof Promise) loaded = await loaded;
    const core = loaded?.core ?? new SessionCore({ serializer, ttl, maxPayloadBytes, store });
    c.set("session", new Session<T>(core));
    await next();
    // Hot path: no token came in and the handler wrote nothing: nothing to store or send.
    if (core.options.noStore || (token === undefined && !core.dirty)) return;
    if (c.error !== undefined || c.res.status >= 500) {
      // A failed request persists none of its changes (as Django does for 5xx):
      // a half-done login must not stick. A destroy() it asked for still happens.
      if (core.detached && core.loadedId !== undefined) {
        const id = core.loadedId;
        // In order with the commits queued before it (group commit), as without batching.
        await (hasGroupCommit(store) ? store.batch(() => store.delete(id) as void) : store.delete(id));
        deliver(c, "clear", 0);
      }
      return;
    }
    if (bindValues !== undefined && core.bindTag === undefined && core.dirty) core.bindTag = signer.bindTag(bindValues(c));
    const now = clock();
    let outcome = plan(core, token !== undefined, loaded?.stale ?? false, now);
    // Read-only hot path: the loaded session is unchanged and no refresh is due: no store call, no cookie.
    if (outcome === "keep" && core.attached && !core.dirty && refreshTo(core.init.loaded!.stored, now) === undefined) return;
    // A store bound to the request (CookieStore) writes into the response itself,
    // so its commit cannot wait until after the response: lateStore is moot there.
    if (core.options.lateStore && !isRequestBound(baseStore)) {
      deliver(c, outcome, now);
      runLate(c, () => Promise.resolve().then(() => commit(store, core, now)).catch(onLateError));
      return;
    }
    if ((await commit(store, core, now)) === "clear") outcome = token !== undefined ? "clear" : "keep";
    deliver(c, outcome, now);
  };
}
