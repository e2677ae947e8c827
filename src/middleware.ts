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
import { callSafely } from "./_internal/listener.ts";
import { addResponseHeader } from "./_internal/http.ts";
import { checkNumber } from "./_internal/numbers.ts";
import { rejectUnknownKeys } from "./_internal/options.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "./_internal/sizes.ts";
import { checkStoreShape } from "./_internal/store-shape.ts";
import { after, isThenable } from "./awaitable.ts";
import { systemClock } from "./clock.ts";
import { Signer } from "./crypto/mod.ts";
import { superjsonSerializer } from "./serializer.ts";
import { apply, type CommitPlan, decide, NOTHING } from "./session/commit.ts";
import { type CoreConfig, SessionCore } from "./session/core.ts";
import { SessionEvents } from "./session/events.ts";
import {
  bindingOf,
  type InvalidTokenReason,
  OPTION_KEYS,
  policyOf,
  type SessionBinding,
  type SessionOptions,
} from "./session/options.ts";
import { Session } from "./session/session.ts";
import { tokenPipeline } from "./session/token.ts";
import { CookieState } from "./state/cookie.ts";
import { SqliteStore } from "./store/sqlite.ts";
import {
  type Awaitable,
  hasGroupCommit,
  isRequestBound,
  isSynchronousStore,
  type RequestBound,
  type SessionStore,
} from "./store/types.ts";

export type { SessionEvent } from "./session/events.ts";
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
 * Whether the request failed, so that it commits nothing but a `destroy()`:
 * it answered 5xx, or the handler threw something other than an
 * `HTTPException` (Hono's way to answer an error, recognised as Hono's own
 * error handler does, by `getResponse`). A 4xx, returned or thrown, commits.
 */
function requestFailed(c: Context): boolean {
  const error = c.error;
  return c.res.status >= 500 || (error !== undefined && !(typeof error === "object" && "getResponse" in error));
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
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") {
    throw new TypeError("Cannot create session middleware: onEvent must be a function (event, c) => void");
  }
  // Built only when the app listens: without a listener the middleware does no event work at all.
  const events = options.onEvent === undefined ? undefined : new SessionEvents(options.onEvent);
  const tokens = tokenPipeline({
    events,
    state,
    signer,
    serializer,
    policy,
    clock,
    bindValues,
    onInvalidToken: options.onInvalidToken,
  });
  const touchAlways = options.touch === "always";
  if (options.preload !== undefined && typeof options.preload !== "boolean") {
    throw new TypeError(
      `Cannot create session middleware: preload must be true or false: received ${String(options.preload)}`,
    );
  }
  const preload = options.preload === true;
  const persistent = state.persistent === true;
  const binding = bindValues !== undefined;
  const requestBound = isRequestBound(baseStore);
  const onLateError = options.onLateStoreError ??
    ((e: unknown) => console.error(`satchel: late store failed: ${describeError(e)}`));
  const config: CoreConfig = { serializer, maxPayloadBytes, load: tokens.load, events };

  /** The store side of a plan, through the store's group commit when it has one (SqliteStore). */
  function commit(store: SessionStore, plan: CommitPlan, core: SessionCore): Awaitable<boolean> {
    // A store with batch answers synchronously, so apply does too (batch refuses a promise).
    return hasGroupCommit(store)
      ? store.batch(() => apply(plan.store, core, store) as boolean)
      : apply(plan.store, core, store);
  }

  /** The client side of a plan, once its store side ran and `found` the row it worked on (or not). */
  function deliver(c: Context, plan: CommitPlan, now: number, found: boolean): void {
    const cookie = plan.cookie;
    if (cookie.op === "keep" || (cookie.op === "send" && cookie.ifFound && !found)) return;
    if (cookie.op === "clear") state.clear(c);
    else state.write(c, tokens.sign(cookie.id), Math.ceil((cookie.expiresAt - now) / 1000), cookie.persistent);
    // A response that sets or clears the session token must never be cached for someone else.
    if (!c.res.headers.has("Cache-Control")) addResponseHeader(c, "Cache-Control", "no-store");
  }

  /** Commit the request's session: synchronous until there is something to commit (no promise for an untouched one). */
  function finish(c: Context, core: SessionCore, store: SessionStore, threw: boolean): Awaitable<void> {
    core.seal();
    const failed = threw || requestFailed(c);
    // A failed request commits nothing but a destroy(), which only a loaded session can have asked for.
    if (touchAlways && !failed) {
      const loading = core.load();
      if (isThenable(loading)) return loading.then(() => settle(c, core, store, failed));
    }
    return settle(c, core, store, failed);
  }

  function settle(c: Context, core: SessionCore, store: SessionStore, failed: boolean): Awaitable<void> {
    const facts = core.facts();
    if (facts === undefined) return;
    const now = clock();
    const plan = decide(facts, { now, policy, failed, persistent, touchAlways, binding, requestBound });
    if (plan === NOTHING) return;
    if (plan.bind) core.bind(tokens.bindTag(c));
    if (plan.when === "late") {
      deliver(c, plan, now, true);
      runLate(c, () =>
        Promise.resolve().then(() => commit(store, plan, core)).then(
          (found) => void (found && events?.committed(c, plan, core)),
          (e: unknown) => callSafely("onLateStoreError", onLateError, e),
        ));
      return;
    }
    return after(plan.store.op === "none" ? true : commit(store, plan, core), (found) => {
      deliver(c, plan, now, found);
      if (found) events?.committed(c, plan, core);
    });
  }

  /**
   * {@linkcode finish}, then the request's events, whatever the commit did: what the request did before a commit
   * that failed or had nothing to do (a refused token, sign-out-everywhere). Synchronous when the commit is.
   */
  function finishAndTell(c: Context, core: SessionCore, store: SessionStore, threw: boolean): Awaitable<void> {
    const flush = () => events!.flush(c);
    let done: Awaitable<void>;
    try {
      done = finish(c, core, store, threw);
    } catch (e) {
      flush();
      throw e;
    }
    if (!isThenable(done)) return flush();
    return Promise.resolve(done).finally(flush);
  }

  /** The commit and its events; for a request whose `next()` threw, its own error wins over one of its commit. */
  function commitRequest(c: Context, core: SessionCore, store: SessionStore, threw: boolean): Awaitable<void> {
    if (!threw) return events === undefined ? finish(c, core, store, false) : finishAndTell(c, core, store, false);
    try {
      const done = events === undefined ? finish(c, core, store, true) : finishAndTell(c, core, store, true);
      return isThenable(done) ? Promise.resolve(done).then(undefined, () => {}) : undefined;
    } catch {
      return undefined;
    }
  }

  return async function session(c, next) {
    const store = isRequestBound(baseStore) ? baseStore.forRequest(c) : baseStore;
    const core = new SessionCore(config, c, store);
    // A store that answers asynchronously loads when the handler calls load(), or here with preload: true.
    if (preload && !isSynchronousStore(store)) {
      const l = core.load();
      if (isThenable(l)) await l;
    }
    c.set("session", new Session<T>(core));
    // Hono turns a handler's Error into c.error; what still rejects here (a non-Error thrown, an onError that
    // rethrows) fails the request too, and a destroy() it asked for is still committed.
    let threw = false;
    try {
      await next();
    } catch (e) {
      threw = true;
      throw e;
    } finally {
      const done = commitRequest(c, core, store, threw);
      if (isThenable(done)) await done;
    }
  };
}
