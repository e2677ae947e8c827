/**
 * `SessionCore`: the state behind one request's {@linkcode Session}, in three
 * parts: the snapshot (what the token pipeline loaded: its row stays as
 * loaded, its data map becomes the handler's view), the patch (what the
 * request changed), and the lifecycle (attached to the loaded row, renewed,
 * or destroyed). It loads on first access and hands the commit its
 * {@linkcode CommitFacts}.
 * @module
 */
import type { Context } from "hono";
import { isThenable } from "../awaitable.ts";
import { SessionDataError, SessionError } from "../errors.ts";
import { generateId } from "../id.ts";
import type { Serializer } from "../serializer.ts";
import { type Awaitable, isSynchronousStore, type SessionStore, type StoredSession } from "../store/types.ts";
import { checkValue, FORBIDDEN_KEYS } from "../value-guard.ts";
import { type CommitFacts, expiryOver, type FreshWrite, type Lifecycle, type RowWrite } from "./commit.ts";
import { decodePayload, encodePayload, type Wire } from "./payload.ts";
import type { LiveSession, Loaded } from "./token.ts";
import type { SessionEvent, SessionEvents } from "./events.ts";

/**
 * Where the session's state machine stands: `renewed` when its row was
 * deleted under the request and it lives on under a new id
 * (`destroyUserSessions(id, { keepCurrent: true })`).
 */
export type SessionStatus = "unchanged" | "changed" | "regenerated" | "renewed" | "destroyed";

/** Per-request options. */
export interface SessionRequestOptions {
  /**
   * Write nothing for this request: no store call, no cookie. `destroy()` and
   * `regenerate()` still take effect (they win over `noStore`). @default false
   */
  noStore: boolean;
  /**
   * Commit after the response is handed back instead of before. A request
   * that follows at once may not see the write yet. Ignored by stores that
   * keep the data in the response itself (CookieStore). @default false
   */
  lateStore: boolean;
}

/** Per-app settings every request's core shares; built once by the middleware. */
export interface CoreConfig {
  readonly serializer: Serializer;
  readonly maxPayloadBytes: number;
  /** Read and check the client's token and load its session; synchronous when the store is. */
  load(c: Context, store: SessionStore): Awaitable<Loaded>;
  /** The app's lifecycle events (`onEvent`), or undefined when it does not listen. */
  readonly events?: SessionEvents;
}

type Op = { t: "set"; v: unknown } | { t: "del" } | { t: "upd"; fns: ((v: unknown) => unknown)[] };

/** What the request changed. A new, empty patch is a session nobody changed. */
interface Patch {
  /** Per key, the last change: a value set, a deletion, or update functions to re-run at commit. */
  ops: Map<string, Op> | undefined;
  /** `clear()`: the patch applies to an empty session. */
  cleared: boolean;
  /** Flash keys read (consumed at commit unless `keepFlash`). */
  flashRead: Set<string> | undefined;
  keepFlash: boolean;
  flashOut: Map<string, unknown> | undefined;
  /** Set by `setUser`. */
  user: { readonly id: string | null } | undefined;
  /** Set by `setLifetime`. */
  lifetime: { readonly ms: number | undefined } | undefined;
  /** A call changed the session (status "changed"). */
  changed: boolean;
}

const emptyPatch = (): Patch => ({
  ops: undefined,
  cleared: false,
  flashRead: undefined,
  keepFlash: false,
  flashOut: undefined,
  user: undefined,
  lifetime: undefined,
  changed: false,
});

/** The patch of a session nobody changed, shared: a request that never changes its session allocates none. */
const NO_CHANGES: Readonly<Patch> = Object.freeze(emptyPatch());

const ATTACHED: Lifecycle = { kind: "attached", regenerated: false };
const REGENERATED: Lifecycle = { kind: "attached", regenerated: true };
const RENEWED: Lifecycle = { kind: "renewed" };
const DESTROYED: Lifecycle = { kind: "destroyed" };

/** The error for a use of the session, on a store that answers asynchronously, before `load()`. */
function notLoaded(store: SessionStore): SessionError {
  const name = store.constructor?.name ?? "The store";
  return new SessionError(500, {
    message: `Cannot use the session before it is loaded: ${name} answers asynchronously (it does not declare ` +
      'synchronous: true), so the session loads when asked: write `await c.get("session").load()` before using it ' +
      "(in the handler, or in a middleware of the routes that use it), or pass preload: true to session() to load it " +
      "before every handler",
  });
}

function checkKey(key: string): void {
  if (typeof key !== "string") throw new TypeError(`Cannot use session key: keys are strings: received ${typeof key}`);
  if (FORBIDDEN_KEYS.has(key)) {
    throw new SessionDataError(`Cannot use session key "${key}": it is reserved (prototype pollution)`);
  }
}

/** The state behind a {@linkcode Session}; the middleware drives it. Not part of the public API. */
export class SessionCore {
  readonly store: SessionStore;
  readonly config: CoreConfig;
  #c: Context;
  /** What the token pipeline loaded; undefined until the first access. */
  #snapshot: Loaded | undefined;
  /** The load under way on a store that answers asynchronously: concurrent `load()` calls share it. */
  #loading: Promise<void> | undefined;
  #patch: Readonly<Patch> = NO_CHANGES;
  #lifecycle: Lifecycle = ATTACHED;
  /** The handler used the session. */
  #used = false;
  /** The id the session is written under: the loaded row's, or a new one once needed. */
  #id: string | undefined;
  /** The data as the handler sees it: the loaded data (or none) with the patch applied. */
  #view: Map<string, unknown> | undefined;
  /** A binding tag made at commit for a session stored without one. */
  #madeTag: string | undefined;
  #sealed = false;
  #options: SessionRequestOptions | undefined;

  constructor(config: CoreConfig, c: Context, store: SessionStore) {
    this.config = config;
    this.#c = c;
    this.store = store;
  }

  /**
   * Load the stored session unless it is loaded; concurrent calls share one load. Synchronous when the
   * store is. Loading is not a use: a session loaded and never touched commits nothing.
   */
  load(): Awaitable<void> {
    if (this.#snapshot !== undefined) return;
    if (this.#loading !== undefined) return this.#loading;
    const loaded = this.config.load(this.#c, this.store);
    if (!isThenable(loaded)) return this.#take(loaded);
    // A failed load (store unreachable) is not kept: a later load() tries again.
    this.#loading = Promise.resolve(loaded).then((l) => this.#take(l), (e: unknown) => {
      this.#loading = undefined;
      throw e;
    });
    return this.#loading;
  }

  /**
   * Mark the session used, loading it on first use when the store answers synchronously.
   * @throws {SessionError} on a store that answers asynchronously when `load()` has not resolved yet.
   */
  ensure(): void {
    if (this.#snapshot === undefined) {
      // Never load an asynchronous store here, even when no store call would be needed (no token):
      // a handler that forgot load() fails on every request, not only on those of signed-in users.
      if (!isSynchronousStore(this.store)) throw notLoaded(this.store);
      this.#take(this.config.load(this.#c, this.store) as Loaded);
    }
    this.#used = true;
  }

  /** Whether the handler used the session: a session loaded (by `load()` or `preload`) that nobody touched counts as unused. */
  get accessed(): boolean {
    return this.#used;
  }

  #take(loaded: Loaded): void {
    this.#snapshot = loaded;
    // The decoded map was made for this request alone: the view takes it over, no copy.
    this.#view = loaded.kind === "live" ? loaded.decoded.data : new Map();
    if (loaded.kind === "live") this.#id = loaded.id;
  }

  /** The loaded session, if the token named a live one. */
  get #live(): LiveSession | undefined {
    const s = this.#snapshot;
    return s !== undefined && s.kind === "live" ? s : undefined;
  }

  /** The loaded session while the request still works on it (not after `destroy()`). */
  get #base(): LiveSession | undefined {
    return this.#lifecycle.kind === "destroyed" ? undefined : this.#live;
  }

  /** Refuse a change once the commit ran: it would be lost. */
  #mutable(): Patch {
    this.ensure();
    if (this.#sealed) {
      throw new SessionError(500, {
        message:
          "Cannot change the session: this request's session was already committed (the handler had returned); " +
          "make changes before the handler returns (not from a streamed body or a timer)",
      });
    }
    return this.#patch === NO_CHANGES ? (this.#patch = emptyPatch()) : this.#patch as Patch;
  }

  /** A change through the public API: the patch for it, marked changed. */
  #change(): Patch {
    const patch = this.#mutable();
    patch.changed = true;
    return patch;
  }

  /** Throw unless the session may still change (the commit has not run). */
  assertMutable(): void {
    this.#mutable();
  }

  /** The user the loaded row was stored with, or `null`. */
  get storedUserId(): string | null {
    this.ensure();
    return this.#live?.stored.userId ?? null;
  }

  /** Record a lifecycle event, sent after the commit; `make` runs only when the app listens (`onEvent`). */
  note(make: () => SessionEvent): void {
    this.config.events?.note(this.#c, make());
  }

  /** No more changes: the commit is being decided. */
  seal(): void {
    this.#sealed = true;
  }

  get options(): SessionRequestOptions {
    return (this.#options ??= { noStore: false, lateStore: false });
  }

  // --- reads -----------------------------------------------------------------

  get id(): string {
    this.ensure();
    return (this.#id ??= generateId());
  }

  /** What the store's `get` returned for `id` in this request, if this request loaded that row (for `update`'s `loaded`). */
  loadedRow(id: string): StoredSession | undefined {
    const live = this.#live;
    return live !== undefined && live.id === id ? live.stored : undefined;
  }

  /** The id of the stored row this request loaded, if any. */
  get loadedId(): string | undefined {
    this.ensure();
    return this.#live?.id;
  }

  /** True when the stored row this request loaded is still the one being written. */
  get attached(): boolean {
    this.ensure();
    return this.#live !== undefined && this.#lifecycle.kind === "attached";
  }

  get status(): SessionStatus {
    this.ensure();
    const lifecycle = this.#lifecycle;
    if (lifecycle.kind !== "attached") return lifecycle.kind;
    if (lifecycle.regenerated) return "regenerated";
    return this.#patch.changed ? "changed" : "unchanged";
  }

  get userId(): string | null {
    this.ensure();
    return this.#userId;
  }

  get #userId(): string | null {
    const user = this.#patch.user;
    return user !== undefined ? user.id : this.#base?.stored.userId ?? null;
  }

  /** The session's own idle lifetime in ms, if it has one. */
  get lifetime(): number | undefined {
    this.ensure();
    return this.#lifetime;
  }

  get #lifetime(): number | undefined {
    const own = this.#patch.lifetime;
    return own !== undefined ? own.ms : this.#base?.decoded.lifetime;
  }

  get data(): ReadonlyMap<string, unknown> {
    this.ensure();
    return this.#view!;
  }

  /** The tag binding the session to its client: made at commit, renewed after a rotation, or as loaded. */
  get bindTag(): string | undefined {
    const live = this.#live;
    return this.#madeTag ?? live?.rebind ?? live?.decoded.bind;
  }

  /** A flash value an earlier request left; reading it consumes it when this request commits. */
  readFlash(key: string): unknown {
    // A read after the commit could not be consumed: it would show again on the next page.
    const patch = this.#mutable();
    const flash = this.#base?.decoded.flash;
    if (flash === undefined || !(key in flash)) return undefined;
    (patch.flashRead ??= new Set()).add(key);
    return flash[key];
  }

  // --- changes ---------------------------------------------------------------

  set(key: string, value: unknown): void {
    checkKey(key);
    const patch = this.#mutable();
    checkValue(key, value, this.config.maxPayloadBytes, this.config.serializer);
    this.#view!.set(key, value);
    (patch.ops ??= new Map()).set(key, { t: "set", v: value });
    patch.changed = true;
  }

  delete(key: string): void {
    checkKey(key);
    const patch = this.#change();
    this.#view!.delete(key);
    (patch.ops ??= new Map()).set(key, { t: "del" });
  }

  clear(): void {
    const patch = this.#change();
    this.#view!.clear();
    patch.ops?.clear();
    patch.cleared = true;
  }

  update(key: string, fn: (v: unknown) => unknown): unknown {
    checkKey(key);
    const patch = this.#mutable();
    const v = fn(this.#view!.get(key));
    checkValue(key, v, this.config.maxPayloadBytes, this.config.serializer);
    this.#view!.set(key, v);
    const ops = (patch.ops ??= new Map());
    const op = ops.get(key);
    if (op === undefined) ops.set(key, { t: "upd", fns: [fn] });
    else if (op.t === "upd") op.fns.push(fn);
    else ops.set(key, { t: "set", v });
    patch.changed = true;
    return v;
  }

  writeFlash(key: string, value: unknown): void {
    checkKey(key);
    const patch = this.#mutable();
    checkValue(key, value, this.config.maxPayloadBytes, this.config.serializer);
    (patch.flashOut ??= new Map()).set(key, value);
    patch.changed = true;
  }

  /** Keep the flash values this request reads for a later read. */
  keepFlash(): void {
    this.#mutable().keepFlash = true;
  }

  setUser(userId: string | null): void {
    this.#change().user = { id: userId };
  }

  /** This session's own idle lifetime in ms; `undefined` goes back to the app's. */
  setLifetime(ms: number | undefined): void {
    this.#change().lifetime = { ms };
  }

  /** A new id for the same data; the old row goes once the new one is written. */
  regenerate(): void {
    this.#mutable();
    this.#id = generateId();
    // After destroy() the session is already gone, and a renewed one is written anew: a new id is all there is to give.
    if (this.#lifecycle.kind === "attached") this.#lifecycle = REGENERATED;
  }

  /** The session ends: its row is deleted and the token cleared. A later change starts a new one. */
  destroy(): void {
    this.#mutable();
    this.#patch = NO_CHANGES;
    this.#view = new Map();
    this.#id = generateId();
    this.#lifecycle = DESTROYED;
  }

  /**
   * The loaded row was deleted under the request (sign-out-everywhere that
   * keeps this session): write the data anew under a new id, keeping the
   * session's creation time, so its absolute deadline does not move.
   */
  renew(): void {
    this.#mutable();
    if (this.#live === undefined || this.#lifecycle.kind !== "attached") return;
    this.#id = generateId();
    this.#lifecycle = RENEWED;
  }

  /** Tag binding a new session to its client, stored with the data. */
  bind(tag: string): void {
    this.#madeTag = tag;
  }

  // --- commit ----------------------------------------------------------------

  get #flashConsumed(): boolean {
    const patch = this.#patch;
    return !patch.keepFlash && patch.flashRead !== undefined && patch.flashRead.size > 0;
  }

  /** Whether commit must write data (not just touch). */
  get dirty(): boolean {
    const patch = this.#patch;
    const lifecycle = this.#lifecycle;
    return (patch.ops?.size ?? 0) > 0 || patch.cleared || patch.flashOut !== undefined ||
      patch.user !== undefined || patch.lifetime !== undefined || this.#flashConsumed ||
      lifecycle.kind === "renewed" || (lifecycle.kind === "attached" && lifecycle.regenerated) ||
      // A binding made with a retired secret is rewritten, but only on the row it belongs to.
      (lifecycle.kind === "attached" && this.#live?.rebind !== undefined);
  }

  /** What the commit decision needs, as plain data; `undefined` when the session was never loaded (nothing to commit). */
  facts(): CommitFacts | undefined {
    if (this.#snapshot === undefined) return undefined;
    const loaded = this.#snapshot;
    const live = this.#live;
    const dirty = this.dirty;
    return {
      accessed: this.#used,
      hadToken: loaded.kind !== "none",
      tokenInvalid: loaded.kind === "refused" && loaded.invalid,
      stale: live?.stale ?? false,
      row: live && { id: live.id, expiresAt: live.stored.expiresAt, createdAt: live.stored.createdAt },
      lifecycle: this.#lifecycle,
      // A session that writes needs an id; one that does not gets none made for it.
      id: dirty ? (this.#id ??= generateId()) : this.#id,
      dirty,
      lifetime: this.#lifetime,
      lifetimeChanged: this.#patch.lifetime !== undefined,
      bound: this.bindTag !== undefined,
      noStore: this.#options?.noStore ?? false,
      lateStore: this.#options?.lateStore ?? false,
    };
  }

  #apply(base: Map<string, unknown>): Map<string, unknown> {
    const patch = this.#patch;
    const data = patch.cleared ? new Map<string, unknown>() : new Map(base);
    for (const [k, op] of patch.ops ?? []) {
      if (op.t === "set") data.set(k, op.v);
      else if (op.t === "del") data.delete(k);
      else {
        let v = data.get(k);
        for (const fn of op.fns) v = fn(v);
        // The re-run may give what set() would refuse (NaN with jsonSerializer): refuse it the same way.
        checkValue(k, v, this.config.maxPayloadBytes, this.config.serializer);
        data.set(k, v);
      }
    }
    return data;
  }

  /** Flash values to store: those not consumed here, and the ones this request set. */
  #flashToStore(base: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    const read = this.#flashConsumed ? this.#patch.flashRead : undefined;
    const loaded = this.#base?.decoded.flash;
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(base ?? {})) {
      // A value another request flashed under the same key since this one read it is a new message: keep it.
      const consumed = read !== undefined && read.has(k) && (base === loaded || this.#sameValue(base![k], loaded?.[k]));
      if (!consumed) (out ??= {})[k] = base![k];
    }
    for (const [k, v] of this.#patch.flashOut ?? []) (out ??= {})[k] = v;
    return out;
  }

  /** Whether two decoded values are the same once written out. */
  #sameValue(a: unknown, b: unknown): boolean {
    try {
      const { serializer } = this.config;
      return serializer.stringify({ v: a }) === serializer.stringify({ v: b });
    } catch {
      return false;
    }
  }

  /**
   * The session to store for a planned write: a fresh row from this
   * request's view (`insert`, `replace`), or the patch applied to the
   * store's `current` value of the loaded row (`merge`, `move`). `null` when
   * that row is gone from the store (destroyed or expired meanwhile): a
   * destroy is never undone.
   * @throws {SessionTooLargeError} when the result is over the limit.
   * @throws {SessionDataError} when the serializer refuses a value, or an update function's re-run gives one.
   */
  stored(current: StoredSession | null, write: RowWrite | FreshWrite): StoredSession | null {
    const { serializer, maxPayloadBytes } = this.config;
    const patch = this.#patch;
    let lifetime = this.#lifetime;
    let data = this.#view!;
    let flashBase = this.#base?.decoded.flash;
    let userId = this.#userId;
    let createdAt: number;
    let expiresAt: number;
    if (write.op === "insert" || write.op === "replace") {
      ({ createdAt, expiresAt } = write);
    } else {
      if (current === null) return null;
      createdAt = current.createdAt;
      if (patch.user === undefined) userId = current.userId ?? null;
      if (current.payload !== this.#live!.stored.payload) {
        // Someone else wrote since we loaded: re-apply our patch to their value.
        const theirs = decodePayload(serializer, current.payload);
        data = this.#apply(theirs?.data ?? new Map());
        flashBase = theirs?.flash;
        // Their "remember me" stands unless this request set a lifetime itself.
        if (patch.lifetime === undefined) lifetime = theirs?.lifetime;
      }
      expiresAt = expiryOver(write, current, lifetime ?? write.rebase.policy.ttl);
    }
    const wire: Wire = { d: Object.fromEntries(data) };
    const tag = this.bindTag;
    if (tag !== undefined) wire.b = tag;
    const flash = this.#flashToStore(flashBase);
    if (flash !== undefined) wire.f = flash;
    if (lifetime !== undefined) wire.e = lifetime / 1000;
    const payload = encodePayload(serializer, wire, maxPayloadBytes);
    return { payload, expiresAt, createdAt, userId };
  }
}
