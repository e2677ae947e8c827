/**
 * `Session<T>`: what a handler sees. It records a patch of what the request
 * changed (keys set, deleted, updated with a function, flash, user), which the
 * middleware applies to the store's current value inside `store.update`, so
 * concurrent requests of one session never erase each other's writes.
 * @module
 */
import { SessionDataError, SessionTooLargeError } from "./errors.ts";
import { generateId } from "./id.ts";
import type { Serializer } from "./serializer.ts";
import type { Awaitable, StoredSession } from "./store/types.ts";
import { checkValue, FORBIDDEN_KEYS } from "./value-guard.ts";

/** Where the session's state machine stands. */
export type SessionStatus = "unchanged" | "changed" | "regenerated" | "destroyed";

/** Per-request options (Plack's `psgix.session.options`). */
export interface SessionRequestOptions {
  /** Write nothing for this request: no store call, no cookie. @default false */
  noStore: boolean;
  /**
   * Commit after the response is handed back instead of before. Ignored by
   * stores that keep the data in the response itself (CookieStore). @default false
   */
  lateStore: boolean;
}

type Op = { t: "set"; v: unknown } | { t: "del" } | { t: "upd"; fns: ((v: unknown) => unknown)[] };
/** The payload: data, flash, and (with the `bind` option) the tag binding it to its client. */
type Wire = { d: Record<string, unknown>; f?: Record<string, unknown>; b?: string };

const encoder = new TextEncoder();

function byteLength(s: string, limit: number): number {
  // UTF-8 takes between 1 and 3 bytes per UTF-16 unit: skip the encode when the answer is clear.
  if (s.length * 3 <= limit) return s.length;
  return encoder.encode(s).length;
}

function checkKey(key: string): void {
  if (typeof key !== "string") throw new TypeError(`Cannot use session key: keys are strings: received ${typeof key}`);
  if (FORBIDDEN_KEYS.has(key)) {
    throw new SessionDataError(`Cannot use session key "${key}": it is reserved (prototype pollution)`);
  }
}

/** Decoded stored session: its data and the flash values it carries. */
export interface Decoded {
  data: Map<string, unknown>;
  flash: Record<string, unknown> | undefined;
  /** The binding tag stored with the session, if any. */
  bind: string | undefined;
}

/** Turn a payload into data; `null` when it cannot be read (corrupt, or another serializer's). */
export function decodePayload(serializer: Serializer, payload: string): Decoded | null {
  let wire: unknown;
  try {
    wire = serializer.parse(payload);
  } catch {
    return null;
  }
  if (typeof wire !== "object" || wire === null) return null;
  const { d, f, b } = wire as Partial<Wire>;
  if (typeof d !== "object" || d === null) return null;
  const data = new Map<string, unknown>();
  for (const k of Object.keys(d)) {
    if (!FORBIDDEN_KEYS.has(k)) data.set(k, (d as Record<string, unknown>)[k]);
  }
  // Own keys only, in an object without a prototype: a crafted payload can neither
  // reach Object.prototype nor make flash("toString") answer an inherited function.
  let flash: Record<string, unknown> | undefined;
  if (typeof f === "object" && f !== null) {
    flash = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(f)) if (!FORBIDDEN_KEYS.has(k)) flash[k] = (f as Record<string, unknown>)[k];
  }
  return { data, flash, bind: typeof b === "string" ? b : undefined };
}

/** What the middleware needs to build a session for one request. */
export interface SessionInit {
  serializer: Serializer;
  /** Idle lifetime in ms. */
  ttl: number;
  maxPayloadBytes: number;
  /** The stored session this request loaded, with its id; absent for a new one. */
  loaded?: { id: string; stored: StoredSession; decoded: Decoded };
  /** The request's store, for {@linkcode Session.destroyUserSessions}. */
  store?: { deleteByUser?(userId: string): Awaitable<number>; batch?<R>(work: () => R): Promise<R> };
}

/**
 * The state behind a {@linkcode Session}; the middleware drives it. Not part
 * of the public API.
 */
export class SessionCore {
  readonly init: SessionInit;
  status: SessionStatus = "unchanged";
  /** The id the client holds (loaded sessions only), to delete on regenerate/destroy. */
  readonly loadedId: string | undefined;
  #id: string | undefined;
  data: Map<string, unknown>;
  ops: Map<string, Op> = new Map();
  cleared = false;
  flashIn: Record<string, unknown> | undefined;
  flashOut: Map<string, unknown> | undefined;
  userId: string | null | undefined;
  userChanged = false;
  /** The session loaded from the store is gone (destroy, or regenerate) for this request. */
  detached = false;
  /** Tag binding the session to this request's client (`bind` option); written with the data. */
  bindTag: string | undefined;
  /** The stored tag was made with an old secret: rewrite it even if nothing else changed. */
  bindStale = false;
  readonly options: SessionRequestOptions = { noStore: false, lateStore: false };

  constructor(init: SessionInit) {
    this.init = init;
    this.loadedId = init.loaded?.id;
    this.#id = init.loaded?.id;
    // The decoded map was made for this request alone: no copy needed.
    this.data = init.loaded ? init.loaded.decoded.data : new Map();
    this.flashIn = init.loaded?.decoded.flash;
    this.bindTag = init.loaded?.decoded.bind;
    this.userId = init.loaded?.stored.userId ?? null;
  }

  get id(): string {
    return (this.#id ??= generateId());
  }

  /** True when the stored row this request loaded is still the one being written. */
  get attached(): boolean {
    return this.loadedId !== undefined && !this.detached;
  }

  newId(): void {
    this.#id = generateId();
  }

  markChanged(): void {
    if (this.status === "unchanged") this.status = "changed";
  }

  /** Whether commit must write data (not just touch). */
  get dirty(): boolean {
    return this.ops.size > 0 || this.cleared || this.flashOut !== undefined || this.userChanged ||
      (this.flashIn !== undefined && Object.keys(this.flashIn).length > 0) || this.status === "regenerated" || this.bindStale;
  }

  #apply(base: Map<string, unknown>): Map<string, unknown> {
    const data = this.cleared ? new Map<string, unknown>() : new Map(base);
    for (const [k, op] of this.ops) {
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

  /**
   * The session to store given the store's current value: the patch applied to
   * it. `null` when this request's session was loaded but is gone from the
   * store (destroyed or expired meanwhile): a destroy is never undone.
   * @throws {SessionTooLargeError} when the result is over the limit.
   */
  merge(current: StoredSession | null, now: number): StoredSession | null {
    const { serializer, ttl, maxPayloadBytes, loaded } = this.init;
    let data = this.data;
    let flash: Record<string, unknown> | undefined;
    let createdAt = now;
    let userId = this.userId;
    if (loaded !== undefined && this.attached) {
      if (current === null) return null;
      createdAt = current.createdAt;
      if (!this.userChanged) userId = current.userId ?? null;
      if (current.payload !== loaded.stored.payload) {
        // Someone else wrote since we loaded: re-apply our patch to their value.
        const theirs = decodePayload(serializer, current.payload);
        data = this.#apply(theirs?.data ?? new Map());
        // Keep flash values another request set meanwhile (not the ones we consumed).
        for (const [k, v] of Object.entries(theirs?.flash ?? {})) {
          if (this.flashIn === undefined || !(k in this.flashIn)) (flash ??= {})[k] = v;
        }
      }
    }
    if (this.flashOut !== undefined) {
      flash ??= {};
      for (const [k, v] of this.flashOut) flash[k] = v;
    }
    const wire: Wire = { d: Object.fromEntries(data) };
    if (this.bindTag !== undefined) wire.b = this.bindTag;
    if (flash !== undefined) wire.f = flash;
    let payload: string;
    try {
      payload = serializer.stringify(wire);
    } catch (cause) {
      // A value changed after set() (now circular or too deep), or one this serializer cannot write (BigInt in JSON).
      const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
      throw new SessionDataError(`Cannot store session: the serializer failed (${why}); keep plain, acyclic data in the session`, { cause });
    }
    const size = byteLength(payload, maxPayloadBytes);
    if (size > maxPayloadBytes) throw new SessionTooLargeError(size, maxPayloadBytes);
    return { payload, expiresAt: now + ttl, createdAt, userId };
  }
}

/**
 * One request's view of its session. Get it with `c.get("session")`.
 * Values are kept as given: change them through `set` or `update`, not by
 * mutating what `get` returned (such a change is not recorded).
 *
 * @typeParam T The shape of the session's data.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { session, type SessionEnv } from "satchel";
 * const app = new Hono<SessionEnv<{ count: number }>>();
 * app.use(session({ secret: "at least thirty-two bytes of secret!!" }));
 * app.get("/", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
 * ```
 */
export class Session<T extends object = Record<string, unknown>> {
  #c: SessionCore;

  /** Made by the middleware; apps do not construct sessions. */
  constructor(core: SessionCore) {
    this.#c = core;
  }

  /** The session id. For a new session it is only stored if the request writes. */
  get id(): string {
    return this.#c.id;
  }

  /** True when the client brought no live session: this one was created for this request. */
  get isNew(): boolean {
    return !this.#c.attached;
  }

  /** Where the session's state machine stands. */
  get status(): SessionStatus {
    return this.#c.status;
  }

  /** Per-request options: `noStore`, `lateStore`. */
  get options(): SessionRequestOptions {
    return this.#c.options;
  }

  /** The user this session belongs to (see {@linkcode Session.setUser}), or `null`. */
  get userId(): string | null {
    return this.#c.userId ?? null;
  }

  /** The value under `key`, or `undefined`. */
  get<K extends keyof T & string>(key: K): T[K] | undefined {
    return this.#c.data.get(key) as T[K] | undefined;
  }

  /** Whether `key` holds a value. */
  has<K extends keyof T & string>(key: K): boolean {
    return this.#c.data.has(key);
  }

  /** The keys that hold values. */
  keys(): (keyof T & string)[] {
    return [...this.#c.data.keys()] as (keyof T & string)[];
  }

  /** A shallow copy of the data. */
  toObject(): Partial<T> {
    return Object.fromEntries(this.#c.data) as Partial<T>;
  }

  /**
   * Store `value` under `key`.
   * @throws {SessionDataError} for the keys `__proto__`, `constructor`, `prototype` (at any depth of
   *   `value` too), and for a value that cannot be stored faithfully: a function or symbol, a circular
   *   reference, more than 64 levels of nesting, more values once written out than `maxPayloadBytes`
   *   (shared references are written at every use). Size is checked at commit ({@linkcode SessionTooLargeError}).
   */
  set<K extends keyof T & string>(key: K, value: T[K]): void {
    checkKey(key);
    checkValue(key, value, this.#c.init.maxPayloadBytes);
    const c = this.#c;
    c.data.set(key, value);
    c.ops.set(key, { t: "set", v: value });
    c.markChanged();
  }

  /** Remove `key`. */
  delete<K extends keyof T & string>(key: K): void {
    checkKey(key);
    const c = this.#c;
    c.data.delete(key);
    c.ops.set(key, { t: "del" });
    c.markChanged();
  }

  /** Remove every key. */
  clear(): void {
    const c = this.#c;
    c.data.clear();
    c.ops.clear();
    c.cleared = true;
    c.markChanged();
  }

  /**
   * Change `key` with a function of its current value. The function runs now
   * (the new value is returned) and again at commit on the value then in the
   * store, atomically, so concurrent updates from any process are never lost.
   * Keep it pure: it may run more than once.
   */
  update<K extends keyof T & string>(key: K, fn: (current: T[K] | undefined) => T[K]): T[K] {
    checkKey(key);
    const c = this.#c;
    const v = fn(c.data.get(key) as T[K] | undefined);
    checkValue(key, v, c.init.maxPayloadBytes);
    c.data.set(key, v);
    const op = c.ops.get(key);
    const f = fn as (v: unknown) => unknown;
    if (op === undefined) c.ops.set(key, { t: "upd", fns: [f] });
    else if (op.t === "upd") op.fns.push(f);
    else c.ops.set(key, { t: "set", v });
    c.markChanged();
    return v;
  }

  /**
   * `flash(key, value)` keeps a value for the next request only;
   * `flash(key)` reads the value the previous request left. Flash values live
   * for exactly one later request, read or not.
   */
  flash<V = unknown>(key: string): V | undefined;
  /** Keep `value` under `key` for the next request only. */
  flash(key: string, value: unknown): void;
  flash(key: string, ...value: unknown[]): unknown {
    checkKey(key);
    const c = this.#c;
    if (value.length === 0) return c.flashIn?.[key] as unknown;
    checkValue(key, value[0], c.init.maxPayloadBytes);
    (c.flashOut ??= new Map()).set(key, value[0]);
    c.markChanged();
    return undefined;
  }

  /**
   * Bind the session to a user, so `store.deleteByUser(id)` ends it with every
   * other session of that user ("sign out everywhere"). `null` unbinds.
   * @throws {TypeError} unless `userId` is a non-empty string or `null` (a number would
   *   not match the same id given as a string to `deleteByUser` in every store).
   */
  setUser(userId: string | null): void {
    if (userId !== null && (typeof userId !== "string" || userId === "")) {
      throw new TypeError(`Cannot set the session's user: the id must be a non-empty string or null: received ${typeof userId === "string" ? '""' : typeof userId}; use String(id)`);
    }
    const c = this.#c;
    c.userId = userId;
    c.userChanged = true;
    c.markChanged();
  }

  /**
   * Give the session a new id, keeping its data, and delete the old one.
   * Call it after login and after any privilege change (session fixation).
   */
  regenerate(): void {
    const c = this.#c;
    c.newId();
    c.status = "regenerated";
  }

  /** End the session: its row is deleted and the cookie cleared. A later `set` starts a new one. */
  destroy(): void {
    const c = this.#c;
    c.detached = true;
    c.data.clear();
    c.ops.clear();
    c.cleared = false;
    c.flashIn = undefined;
    c.flashOut = undefined;
    c.userId = null;
    c.userChanged = false;
    c.newId();
    c.status = "destroyed";
  }

  /**
   * Sign out everywhere: end every session of `userId` in the store (see
   * {@linkcode Session.setUser}) right now, before the handler goes on. When
   * they include this one it is destroyed too, unless `keepCurrent` is set:
   * then this session lives on under a new id with its data (the "password
   * changed, sign out my other devices" case).
   *
   * @param userId The user whose sessions end. @default this session's user
   * @param options.keepCurrent Keep this session (new id, same data). @default false
   * @returns How many sessions the store ended.
   * @throws {TypeError} when the store has no `deleteByUser`, or there is no user.
   * @example
   * ```ts
   * app.post("/password", async (c) => {
   *   const s = c.get("session");
   *   // ... change the password ...
   *   await s.destroyUserSessions(s.userId, { keepCurrent: true });
   *   return c.text("password changed; other devices are signed out");
   * });
   * ```
   */
  async destroyUserSessions(userId: string | null = this.userId, options: { keepCurrent?: boolean } = {}): Promise<number> {
    const c = this.#c;
    const store = c.init.store;
    if (store?.deleteByUser === undefined) {
      throw new TypeError("Cannot end the user's sessions: the store has no deleteByUser; use a store that indexes users (SqliteStore, MemoryStore, RedisStore)");
    }
    if (typeof userId !== "string" || userId === "") {
      throw new TypeError("Cannot end the user's sessions: no user given and this session has none; call session.setUser(id) at sign-in, or pass the user id");
    }
    // Through the store's group commit when it has one, so it lands after the commits queued before it
    // (a sign-in that finished earlier in this turn is signed out too), as it would without batching.
    const deleteByUser = store.deleteByUser.bind(store, userId);
    const ended = await (store.batch !== undefined ? store.batch(deleteByUser as () => number) : deleteByUser());
    if (c.userId === userId || (c.loadedId !== undefined && c.init.loaded?.stored.userId === userId)) {
      if (options.keepCurrent) {
        // The stored row is gone: write the data again, under a new id, as a new row.
        c.detached = true;
        c.newId();
        c.status = "regenerated";
      } else {
        this.destroy();
      }
    }
    return ended;
  }
}
