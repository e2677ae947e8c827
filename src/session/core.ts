/**
 * `SessionCore`: the state behind one request's {@linkcode Session}. It loads
 * the stored session on first access, records a patch of what the request
 * changes, and moves through named transitions (destroy, regenerate, renew).
 * The middleware reads its {@linkcode CommitFacts} to decide the commit.
 * @module
 */
import type { Context } from "hono";
import { SessionDataError, SessionError } from "../errors.ts";
import { generateId } from "../id.ts";
import type { Serializer } from "../serializer.ts";
import type { SessionStore, StoredSession } from "../store/types.ts";
import { checkValue, FORBIDDEN_KEYS } from "../value-guard.ts";
import type { SessionEvent, SessionEvents } from "./events.ts";
import { expiryAt, type ExpiryPolicy, writeExpiry } from "./expiry.ts";
import { type Decoded, decodePayload, encodePayload, type Wire } from "./payload.ts";

/** Where the session's state machine stands. */
export type SessionStatus = "unchanged" | "changed" | "regenerated" | "destroyed";

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

/** What reading the client's token gave. */
export type Loaded =
  | { readonly kind: "none" }
  /** Refused. `invalid`: the token itself was bad (it may be cleared); otherwise its session is gone. */
  | { readonly kind: "refused"; readonly invalid: boolean }
  | {
    readonly kind: "live";
    readonly id: string;
    readonly stored: StoredSession;
    readonly decoded: Decoded;
    /** Signed with an older secret: send it again, signed with the current one. */
    readonly stale: boolean;
    /** A binding tag to store instead of the one made with an older secret. */
    readonly rebind?: string;
  };

/** Per-app settings every request's core shares; built once by the middleware. */
export interface CoreConfig {
  readonly serializer: Serializer;
  readonly maxPayloadBytes: number;
  readonly policy: ExpiryPolicy;
  /** Read and check the client's token and load its session, synchronously (stores with `synchronous`). */
  load(c: Context, store: SessionStore): Loaded;
  /** The app's lifecycle events (`onEvent`), or undefined when it does not listen. */
  readonly events?: SessionEvents;
}

/** What the commit decision needs to know about a session: plain data, see `decide()`. */
export interface CommitFacts {
  /** The session was loaded: the handler touched it (or `touch: "always"`). */
  accessed: boolean;
  /** The client sent a token. */
  hadToken: boolean;
  /** The token the client sent was itself bad (shape, signature, binding, unreadable data). */
  tokenInvalid: boolean;
  /** The client's token was signed with an older secret. */
  stale: boolean;
  /** Times of the stored session this request loaded, if any. */
  row: { expiresAt: number; createdAt: number } | undefined;
  status: SessionStatus;
  /** The loaded row was deleted during the request (sign-out-everywhere keeping this one): insert it anew. */
  renewed: boolean;
  /** The data changed: commit must write, not just touch. */
  dirty: boolean;
  /** The session's own idle lifetime in ms (`setExpires`), if it has one. */
  lifetime: number | undefined;
  lifetimeChanged: boolean;
  noStore: boolean;
}

type Op = { t: "set"; v: unknown } | { t: "del" } | { t: "upd"; fns: ((v: unknown) => unknown)[] };

const NOT_LOADED = { kind: "none" } as const;

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
  #loaded: Loaded | undefined;
  /** The handler (or the middleware, for `touch: "always"`) used the session. */
  #used = false;
  #id: string | undefined;
  #status: SessionStatus = "unchanged";
  #data!: Map<string, unknown>;
  #ops: Map<string, Op> | undefined;
  #cleared = false;
  #flashIn: Record<string, unknown> | undefined;
  #flashRead: Set<string> | undefined;
  #keepFlash = false;
  #flashOut: Map<string, unknown> | undefined;
  #userId: string | null = null;
  #userChanged = false;
  #lifetime: number | undefined;
  #lifetimeChanged = false;
  /** The loaded row is not written again under its id (destroy, or renew). */
  #detached = false;
  /** createdAt of a loaded row deleted during the request, to insert it anew (renew). */
  #renewedFrom: number | undefined;
  #bindTag: string | undefined;
  #bindStale = false;
  #committed = false;
  #options: SessionRequestOptions | undefined;

  constructor(config: CoreConfig, c: Context, store: SessionStore) {
    this.config = config;
    this.#c = c;
    this.store = store;
  }

  /** Take a session loaded before the handler ran (stores whose `get` is asynchronous). */
  preload(loaded: Loaded): void {
    this.#take(loaded);
  }

  /** Mark the session used, and load it on first use. */
  ensure(): void {
    this.#used = true;
    if (this.#loaded === undefined) this.#take(this.config.load(this.#c, this.store));
  }

  /** Whether the session was used: a preloaded session nobody touched counts as unused. */
  get accessed(): boolean {
    return this.#used;
  }

  #take(loaded: Loaded): void {
    this.#loaded = loaded;
    if (loaded.kind !== "live") {
      this.#data = new Map();
      return;
    }
    this.#id = loaded.id;
    // The decoded map was made for this request alone: no copy needed.
    this.#data = loaded.decoded.data;
    this.#flashIn = loaded.decoded.flash;
    this.#lifetime = loaded.decoded.lifetime;
    this.#userId = loaded.stored.userId ?? null;
    this.#bindTag = loaded.rebind ?? loaded.decoded.bind;
    this.#bindStale = loaded.rebind !== undefined;
  }

  get #live(): Extract<Loaded, { kind: "live" }> | undefined {
    this.ensure();
    const l = this.#loaded!;
    return l.kind === "live" ? l : undefined;
  }

  /** Refuse a change once the commit ran: it would be lost. */
  #mutable(): void {
    this.ensure();
    if (this.#committed) {
      throw new SessionError(500, {
        message:
          "Cannot change the session: this request's session was already committed (the handler had returned); " +
          "make changes before the handler returns (not from a streamed body or a timer)",
      });
    }
  }

  #changed(): void {
    if (this.#status === "unchanged") this.#status = "changed";
  }

  /** Throw unless the session may still change (the commit has not run). */
  assertMutable(): void {
    this.#mutable();
  }

  /** The user the loaded row was stored with, or `null`. */
  get storedUserId(): string | null {
    return this.#live?.stored.userId ?? null;
  }

  /** Record a lifecycle event, sent after the commit; `make` runs only when the app listens (`onEvent`). */
  note(make: () => SessionEvent): void {
    this.config.events?.note(this.#c, make());
  }

  /** No more changes: the commit is being decided. */
  seal(): void {
    this.#committed = true;
  }

  get options(): SessionRequestOptions {
    return (this.#options ??= { noStore: false, lateStore: false });
  }

  // --- reads -----------------------------------------------------------------

  get id(): string {
    this.ensure();
    return (this.#id ??= generateId());
  }

  /** The id of the stored row this request loaded, if any. */
  get loadedId(): string | undefined {
    return this.#live?.id;
  }

  /** True when the stored row this request loaded is still the one being written. */
  get attached(): boolean {
    return this.#live !== undefined && !this.#detached;
  }

  get status(): SessionStatus {
    this.ensure();
    return this.#status;
  }

  get userId(): string | null {
    this.ensure();
    return this.#userId;
  }

  /** The session's own idle lifetime in ms, if it has one. */
  get lifetime(): number | undefined {
    this.ensure();
    return this.#lifetime;
  }

  get data(): ReadonlyMap<string, unknown> {
    this.ensure();
    return this.#data;
  }

  get bindTag(): string | undefined {
    return this.#bindTag;
  }

  /** A flash value an earlier request left; reading it consumes it when this request commits. */
  readFlash(key: string): unknown {
    this.ensure();
    const flash = this.#flashIn;
    if (flash === undefined || !(key in flash)) return undefined;
    (this.#flashRead ??= new Set()).add(key);
    return flash[key];
  }

  // --- changes ---------------------------------------------------------------

  set(key: string, value: unknown): void {
    checkKey(key);
    this.#mutable();
    checkValue(key, value, this.config.maxPayloadBytes, this.config.serializer);
    this.#data.set(key, value);
    (this.#ops ??= new Map()).set(key, { t: "set", v: value });
    this.#changed();
  }

  delete(key: string): void {
    checkKey(key);
    this.#mutable();
    this.#data.delete(key);
    (this.#ops ??= new Map()).set(key, { t: "del" });
    this.#changed();
  }

  clear(): void {
    this.#mutable();
    this.#data.clear();
    this.#ops?.clear();
    this.#cleared = true;
    this.#changed();
  }

  update(key: string, fn: (v: unknown) => unknown): unknown {
    checkKey(key);
    this.#mutable();
    const v = fn(this.#data.get(key));
    checkValue(key, v, this.config.maxPayloadBytes, this.config.serializer);
    this.#data.set(key, v);
    const ops = (this.#ops ??= new Map());
    const op = ops.get(key);
    if (op === undefined) ops.set(key, { t: "upd", fns: [fn] });
    else if (op.t === "upd") op.fns.push(fn);
    else ops.set(key, { t: "set", v });
    this.#changed();
    return v;
  }

  writeFlash(key: string, value: unknown): void {
    checkKey(key);
    this.#mutable();
    checkValue(key, value, this.config.maxPayloadBytes, this.config.serializer);
    (this.#flashOut ??= new Map()).set(key, value);
    this.#changed();
  }

  /** Keep the flash values this request reads for a later read. */
  keepFlash(): void {
    this.#mutable();
    this.#keepFlash = true;
  }

  setUser(userId: string | null): void {
    this.#mutable();
    this.#userId = userId;
    this.#userChanged = true;
    this.#changed();
  }

  /** This session's own idle lifetime in ms; `undefined` goes back to the app's. */
  setLifetime(ms: number | undefined): void {
    this.#mutable();
    this.#lifetime = ms;
    this.#lifetimeChanged = true;
    this.#changed();
  }

  /** A new id for the same data; the old row goes once the new one is written. */
  regenerate(): void {
    this.#mutable();
    this.#id = generateId();
    // After destroy() the session is already gone: a new id is all there is to give.
    if (this.#status !== "destroyed") this.#status = "regenerated";
  }

  /** The session ends: its row is deleted and the token cleared. A later change starts a new one. */
  destroy(): void {
    this.#mutable();
    this.#detached = true;
    this.#renewedFrom = undefined;
    this.#data.clear();
    this.#ops?.clear();
    this.#cleared = false;
    this.#flashIn = undefined;
    this.#flashRead = undefined;
    this.#flashOut = undefined;
    this.#userId = null;
    this.#userChanged = false;
    this.#lifetime = undefined;
    this.#lifetimeChanged = false;
    this.#id = generateId();
    this.#status = "destroyed";
  }

  /**
   * The loaded row was deleted under the request (sign-out-everywhere that
   * keeps this session): write the data anew under a new id, keeping the
   * session's creation time, so its absolute deadline does not move.
   */
  renew(): void {
    this.#mutable();
    const live = this.#live;
    if (live === undefined || this.#detached) return;
    this.#detached = true;
    this.#renewedFrom = live.stored.createdAt;
    this.#id = generateId();
    this.#status = "regenerated";
  }

  /** Tag binding a new session to its client, stored with the data. */
  bind(tag: string): void {
    this.#bindTag = tag;
  }

  // --- commit ----------------------------------------------------------------

  get #flashConsumed(): boolean {
    return !this.#keepFlash && this.#flashRead !== undefined && this.#flashRead.size > 0;
  }

  /** Whether commit must write data (not just touch). */
  get dirty(): boolean {
    return (this.#ops?.size ?? 0) > 0 || this.#cleared || this.#flashOut !== undefined || this.#userChanged ||
      this.#flashConsumed || this.#status === "regenerated" || this.#bindStale || this.#lifetimeChanged;
  }

  /** What the commit decision needs, as plain data. */
  facts(): CommitFacts {
    const loaded = this.#loaded ?? NOT_LOADED;
    const live = loaded.kind === "live" ? loaded : undefined;
    return {
      accessed: this.#used,
      hadToken: loaded.kind !== "none",
      tokenInvalid: loaded.kind === "refused" && loaded.invalid,
      stale: live?.stale ?? false,
      row: live && { expiresAt: live.stored.expiresAt, createdAt: live.stored.createdAt },
      status: this.#status,
      renewed: this.#renewedFrom !== undefined,
      dirty: this.#used && this.dirty,
      lifetime: this.#lifetime,
      lifetimeChanged: this.#lifetimeChanged,
      noStore: this.#options?.noStore ?? false,
    };
  }

  #apply(base: Map<string, unknown>): Map<string, unknown> {
    const data = this.#cleared ? new Map<string, unknown>() : new Map(base);
    for (const [k, op] of this.#ops ?? []) {
      if (op.t === "set") data.set(k, op.v);
      else if (op.t === "del") data.delete(k);
      else {
        let v = data.get(k);
        for (const fn of op.fns) v = fn(v);
        data.set(k, v);
      }
    }
    return data;
  }

  /** Flash values to store: those not consumed here, and the ones this request set. */
  #flashToStore(base: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(base ?? {})) {
      // A value another request flashed under the same key since this one read it is a new message: keep it.
      const read = this.#flashConsumed && this.#flashRead!.has(k) &&
        (base === this.#flashIn || this.#sameValue(base![k], this.#flashIn?.[k]));
      if (!read) (out ??= {})[k] = base![k];
    }
    for (const [k, v] of this.#flashOut ?? []) (out ??= {})[k] = v;
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
   * The session to store, given the store's current value: the patch applied
   * to it, with the expiry `mode` calls for ("insert" a new row, "merge" into
   * the loaded row, "move" it to the new id). `null` when the loaded row is
   * gone from the store (destroyed or expired meanwhile): a destroy is never undone.
   * @throws {SessionTooLargeError} when the result is over the limit.
   * @throws {SessionDataError} when the serializer refuses a value.
   */
  stored(current: StoredSession | null, now: number, mode: "insert" | "merge" | "move"): StoredSession | null {
    const { serializer, maxPayloadBytes, policy } = this.config;
    let ownLifetime = this.#lifetime;
    let data = this.#data;
    let flashBase = this.#flashIn;
    let createdAt = this.#renewedFrom ?? now;
    let userId = this.#userId;
    const live = mode === "insert" ? undefined : this.#live;
    if (live !== undefined) {
      if (current === null) return null;
      createdAt = current.createdAt;
      if (!this.#userChanged) userId = current.userId ?? null;
      if (current.payload !== live.stored.payload) {
        // Someone else wrote since we loaded: re-apply our patch to their value.
        const theirs = decodePayload(serializer, current.payload);
        data = this.#apply(theirs?.data ?? new Map());
        flashBase = theirs?.flash;
        // Their "remember me" stands unless this request set a lifetime itself.
        if (!this.#lifetimeChanged) ownLifetime = theirs?.lifetime;
      }
    }
    const lifetime = ownLifetime ?? policy.ttl;
    const wire: Wire = { d: Object.fromEntries(data) };
    if (this.#bindTag !== undefined) wire.b = this.#bindTag;
    const flash = this.#flashToStore(flashBase);
    if (flash !== undefined) wire.f = flash;
    if (ownLifetime !== undefined) wire.e = ownLifetime / 1000;
    const payload = encodePayload(serializer, wire, maxPayloadBytes);
    const expiresAt = mode === "merge"
      ? writeExpiry(policy, current!, now, lifetime, this.#lifetimeChanged)
      : expiryAt(policy, now, createdAt, lifetime);
    return { payload, expiresAt, createdAt, userId };
  }
}
