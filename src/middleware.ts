/**
 * `session(options)`: the Hono middleware. Loads the session the client's
 * token names, hands the handler a {@linkcode Session}, and after the handler
 * commits what the request changed: nothing for an untouched session, an
 * expiry `touch` past the refresh threshold, the patch applied atomically
 * through `store.update` otherwise.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { describeError } from "./_internal/errors.ts";
import { addResponseHeader } from "./_internal/http.ts";
import { checkNumber } from "./_internal/numbers.ts";
import { rejectUnknownKeys } from "./_internal/options.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "./_internal/sizes.ts";
import { checkStoreShape } from "./_internal/store-shape.ts";
import { after, isThenable } from "./awaitable.ts";
import { systemClock } from "./clock.ts";
import { Signer } from "./crypto/sign.ts";
import { superjsonSerializer } from "./serializer.ts";
import { apply, decide, type Decision } from "./session/commit.ts";
import { type CoreConfig, type Loaded, SessionCore } from "./session/core.ts";
import { pastDeadline } from "./session/expiry.ts";
import {
  bindingOf,
  type InvalidTokenReason,
  MAX_TOKEN,
  OPTION_KEYS,
  policyOf,
  type SessionBinding,
  type SessionOptions,
} from "./session/options.ts";
import { decodePayload } from "./session/payload.ts";
import { Session } from "./session/session.ts";
import { CookieState } from "./state/cookie.ts";
import { SqliteStore } from "./store/sqlite.ts";
import {
  type Awaitable,
  hasGroupCommit,
  isRequestBound,
  isSynchronousStore,
  type RequestBound,
  type SessionStore,
  type StoredSession,
} from "./store/types.ts";

export type { InvalidTokenReason, SessionBinding, SessionOptions };

/**
 * Hono environment that types `c.get("session")`.
 * @typeParam T The shape of the session's data.
 */
export type SessionEnv<T extends object = Record<string, unknown>> = {
  Variables: { session: Session<T> };
};

/**
 * Run `work` after the response is handed back: through the context's
 * `executionCtx.waitUntil` where the runtime has one (Cloudflare Workers drops
 * a plain timer's work once the response is sent), else on a timer.
 */
function runLate(c: Context, work: () => Promise<unknown>): void {
  let waitUntil: ((p: Promise<unknown>) => void) | undefined;
  try {
    const ctx = c.executionCtx;
    waitUntil = ctx.waitUntil.bind(ctx);
  } catch {
    // Hono throws when the runtime gave no ExecutionContext (Bun, Deno, Node).
  }
  const late = new Promise<unknown>((resolve) => setTimeout(() => resolve(work()), 0));
  waitUntil?.(late);
}

/**
 * The session middleware.
 *
 * @typeParam T The shape of the session's data.
 * @param options See {@linkcode SessionOptions}; only `secret` is required.
 * @returns A Hono middleware that sets `c.get("session")`.
 * @throws {TypeError | RangeError} at setup, on a missing or short secret, an unknown option or a bad one.
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
  rejectUnknownKeys("session middleware", options, OPTION_KEYS);
  if (options.state !== undefined && options.cookie !== undefined) {
    throw new TypeError(
      "Cannot create session middleware: give either state or cookie options, not both " +
        "(cookie configures the default CookieState)",
    );
  }
  if (options.touch !== undefined && options.touch !== "used" && options.touch !== "always") {
    throw new TypeError(
      `Cannot create session middleware: touch must be "used" or "always": received ${String(options.touch)}`,
    );
  }
  const policy = policyOf(options);
  const signer = new Signer(options.secret ?? [], options.verifiedTokenCache);
  const clock = options.clock ?? systemClock;
  const serializer = options.serializer ?? superjsonSerializer;
  const state = options.state ?? new CookieState(options.cookie);
  if (options.store !== undefined && options.name !== undefined) {
    throw new TypeError(
      "Cannot create session middleware: name only names the default store's file; " +
        "with your own store, drop name (give SqliteStore a path instead)",
    );
  }
  if (options.store !== undefined) checkStoreShape(options.store);
  const baseStore: SessionStore | RequestBound = options.store ?? new SqliteStore({ name: options.name, clock });
  const maxPayloadBytes = options.maxPayloadBytes ?? baseStore.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  checkNumber("session middleware", "maxPayloadBytes", maxPayloadBytes, { integer: true, min: 1 });
  if (baseStore.maxPayloadBytes !== undefined && maxPayloadBytes > baseStore.maxPayloadBytes) {
    throw new RangeError(
      `Cannot create session middleware: maxPayloadBytes (${maxPayloadBytes}) exceeds what the store accepts ` +
        `(${baseStore.maxPayloadBytes}); raise the store's maxPayloadBytes or lower this one`,
    );
  }
  const bindValues = bindingOf(options.bind);
  const touchAlways = options.touch === "always";
  const persistent = state.persistent === true;
  const onInvalid = options.onInvalidToken;
  const onLateError = options.onLateStoreError ??
    ((e: unknown) => console.error(`satchel: late store failed: ${describeError(e)}`));

  const NONE: Loaded = { kind: "none" };
  const INVALID: Loaded = { kind: "refused", invalid: true };
  const GONE: Loaded = { kind: "refused", invalid: false };

  /** Refuse the client's token and say why. */
  function refuse(c: Context, reason: InvalidTokenReason): Loaded {
    onInvalid?.(c, reason);
    return reason === "unknown" || reason === "expired" ? GONE : INVALID;
  }

  /**
   * The session the client's token names. Shape and signature are checked
   * before any store access: junk and forgeries never reach it. Synchronous
   * when the store is.
   */
  function load(c: Context, store: SessionStore): Awaitable<Loaded> {
    const token = state.read(c);
    if (token === undefined) return NONE;
    const verified = token.length <= MAX_TOKEN ? signer.verify(token) : "malformed";
    if (typeof verified === "string") return refuse(c, verified);
    const stored = store.get(verified.id);
    return isThenable(stored)
      ? Promise.resolve(stored).then((s) => open(c, store, verified.id, verified.stale, s))
      : open(c, store, verified.id, verified.stale, stored);
  }

  /** The session made of what the store returned for a verified id. */
  function open(
    c: Context,
    store: SessionStore,
    id: string,
    stale: boolean,
    stored: StoredSession | null,
  ): Awaitable<Loaded> {
    if (stored === null) return refuse(c, "unknown");
    if (pastDeadline(policy, clock(), stored.createdAt)) return end(c, store, id, "expired");
    const decoded = decodePayload(serializer, stored.payload);
    if (decoded === null) return refuse(c, "corrupt");
    if (bindValues === undefined) return { kind: "live", id, stored, decoded, stale };
    const values = bindValues(c);
    const bound = signer.checkBindTag(values, decoded.bind);
    // Another client holds this token: end the session rather than hand its data over.
    if (bound === false) return end(c, store, id, "binding");
    const rebind = bound === "stale" ? signer.bindTag(values) : undefined;
    return { kind: "live", id, stored, decoded, stale, rebind };
  }

  /** Delete a session that must not be used again, and say why. */
  function end(c: Context, store: SessionStore, id: string, reason: InvalidTokenReason): Awaitable<Loaded> {
    return after(store.delete(id), () => refuse(c, reason));
  }

  const config: CoreConfig = {
    serializer,
    maxPayloadBytes,
    policy,
    load: (c, store) => load(c, store) as Loaded,
  };

  /** Commit through the store's group commit when it has one (SqliteStore), else directly. */
  function commit(store: SessionStore, decision: Decision, core: SessionCore, now: number): Awaitable<boolean> {
    // A store with batch answers synchronously, so apply does too (batch refuses a promise).
    return hasGroupCommit(store)
      ? store.batch(() => apply(decision, core, store, now) as boolean)
      : apply(decision, core, store, now);
  }

  function deliver(c: Context, decision: Decision, core: SessionCore, now: number): void {
    const cookie = decision.cookie;
    if (cookie.op === "keep") return;
    if (cookie.op === "clear") {
      state.clear(c);
    } else {
      const maxAge = Math.ceil((cookie.expiresAt - now) / 1000);
      state.write(c, signer.sign(core.id), maxAge, persistent || core.lifetime !== undefined);
    }
    // A response that sets or clears the session token must never be cached for someone else.
    if (!c.res.headers.has("Cache-Control")) addResponseHeader(c, "Cache-Control", "no-store");
  }

  return async function session(c, next) {
    const store = isRequestBound(baseStore) ? baseStore.forRequest(c) : baseStore;
    const core = new SessionCore(config, c, store);
    // A store that answers asynchronously is loaded before the handler, so the Session API stays synchronous.
    if (!isSynchronousStore(store)) {
      const loaded = load(c, store);
      core.preload(isThenable(loaded) ? await loaded : loaded);
    }
    c.set("session", new Session<T>(core));
    await next();
    core.seal();
    if (!core.accessed) {
      if (!touchAlways) return;
      core.ensure();
    }
    const failed = c.error !== undefined || c.res.status >= 500;
    if (bindValues !== undefined && core.bindTag === undefined && core.dirty && !failed) {
      core.bind(signer.bindTag(bindValues(c)));
    }
    const now = clock();
    const decision = decide(core.facts(), { now, policy, failed, persistent });
    if (decision.store.op === "none" && decision.cookie.op === "keep") return;
    // A store bound to the request (CookieStore) writes into the response itself: lateStore is moot there.
    if (core.options.lateStore && !failed && !isRequestBound(baseStore)) {
      deliver(c, decision, core, now);
      runLate(c, () => Promise.resolve().then(() => commit(store, decision, core, now)).catch(onLateError));
      return;
    }
    // A row that vanished meanwhile (another request rotated or ended it) is not revived, and its cookie is left alone.
    if (await commit(store, decision, core, now)) deliver(c, decision, core, now);
  };
}
