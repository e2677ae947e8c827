/**
 * `Session<T>`: what a handler sees. It records a patch of what the request
 * changed, which the middleware applies to the store's current value inside
 * `store.update`, so concurrent requests of one session never erase each
 * other's writes.
 * @module
 */
import { isThenable } from "../awaitable.ts";
import { MAX_COOKIE_AGE } from "../_internal/sizes.ts";
import {
  canDeleteByUser,
  canListUserSessions,
  hasGroupCommit,
  type SessionStore,
  type StoredSession,
  type UserSessionEntry,
  type UserSessionListing,
} from "../store/types.ts";
import type { SessionCore, SessionRequestOptions, SessionStatus } from "./core.ts";
import { handleOf } from "./handle.ts";
import { decodePayload } from "./payload.ts";

/** One of the signed-in user's sessions, as {@linkcode Session.userSessions} lists them. */
export interface UserSession<T extends object = Record<string, unknown>> {
  /** An opaque reference to the session for {@linkcode Session.destroyUserSession}: never its id or token. */
  handle: string;
  /** When the session was created (ms since the epoch). */
  createdAt: number;
  /** When it ends unless used again (ms since the epoch). */
  expiresAt: number;
  /** Whether it is the session making this request. */
  current: boolean;
  /** The session's data, e.g. the device label the app stored at sign-in. */
  data: Partial<T>;
}

/** A store call through the store's group commit when it has one, in order with the commits queued before it. */
function inOrder<R>(store: SessionStore, work: () => R): R | Promise<R> {
  return hasGroupCommit(store) ? store.batch(work) : work();
}

/** `store` when it can list a user's sessions; otherwise a TypeError saying what could not be done. */
function listingStore(store: SessionStore, action: string): SessionStore & UserSessionListing {
  if (canListUserSessions(store)) return store;
  throw new TypeError(
    `Cannot ${action}: the store cannot list a user's sessions; ` +
      "use SqliteStore, MemoryStore, RedisStore, DenoKvStore or D1Store",
  );
}

/**
 * One request's view of its session. Get it with `c.get("session")`. The
 * stored session loads when first needed, so a request that never touches it
 * costs nothing. On a store that answers synchronously (SqliteStore,
 * MemoryStore, CookieStore) that is the first use; on one that answers
 * asynchronously (RedisStore, DenoKvStore, D1Store) it is
 * `await c.get("session").load()`, which code meant for any store can always
 * write. Values are kept as given: change them through `set` or `update`, not
 * by mutating what `get` returned (such a change is not recorded).
 *
 * @typeParam T The shape of the session's data.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { session, type SessionEnv } from "satchel";
 * const app = new Hono<SessionEnv<{ count: number }>>();
 * app.use(session({ secret: "at least thirty-two bytes of secret!!" }));
 * app.get("/", async (c) => {
 *   const s = await c.get("session").load();
 *   return c.text(String(s.update("count", (n) => (n ?? 0) + 1)));
 * });
 * ```
 */
export class Session<T extends object = Record<string, unknown>> {
  #core: SessionCore;

  /** Made by the middleware; apps do not construct sessions. */
  constructor(core: SessionCore) {
    this.#core = core;
  }

  /**
   * Load the stored session, and resolve to this session once it is. Every
   * other member needs it first on a store that answers asynchronously
   * (RedisStore, DenoKvStore, D1Store; or pass `preload: true` to `session()`);
   * on one that answers synchronously it resolves at once. Calling it again,
   * or concurrently, loads once. Loading is not a use: a request that only
   * loads the session writes nothing and does not slide its expiry.
   * @returns This session, loaded.
   * @throws {StoreUnavailableError} (as a rejection) when the store cannot be reached; a later call tries again.
   * @example
   * ```ts
   * app.get("/cart", async (c) => {
   *   const s = await c.get("session").load();
   *   return c.json(s.get("cart") ?? []);
   * });
   * ```
   */
  load(): Promise<this> {
    try {
      const loading = this.#core.load();
      // No await on a store that answers synchronously: the hot path of SqliteStore apps stays one resolved promise.
      return isThenable(loading) ? loading.then(() => this) : Promise.resolve(this);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The session id. For a new session it is only stored if the request writes. */
  get id(): string {
    return this.#core.id;
  }

  /** True when the client brought no live session: this one was created for this request. */
  get isNew(): boolean {
    return !this.#core.attached;
  }

  /** Where the session's state machine stands. */
  get status(): SessionStatus {
    return this.#core.status;
  }

  /** Per-request options: `noStore`, `lateStore`. */
  get options(): SessionRequestOptions {
    return this.#core.options;
  }

  /** The user this session belongs to (see {@linkcode Session.setUser}), or `null`. */
  get userId(): string | null {
    return this.#core.userId;
  }

  /** This session's own idle lifetime in seconds (see {@linkcode Session.setExpires}), or `undefined`. */
  get expires(): number | undefined {
    const ms = this.#core.lifetime;
    return ms === undefined ? undefined : ms / 1000;
  }

  /** The value under `key`, or `undefined`. */
  get<K extends keyof T & string>(key: K): T[K] | undefined {
    return this.#core.data.get(key) as T[K] | undefined;
  }

  /** Whether `key` holds a value. */
  has<K extends keyof T & string>(key: K): boolean {
    return this.#core.data.has(key);
  }

  /** The keys that hold values. */
  keys(): (keyof T & string)[] {
    return [...this.#core.data.keys()] as (keyof T & string)[];
  }

  /** A shallow copy of the data. */
  toObject(): Partial<T> {
    return Object.fromEntries(this.#core.data) as Partial<T>;
  }

  /**
   * Store `value` under `key`.
   * @throws {SessionDataError} for the keys `__proto__`, `constructor`, `prototype` (at any depth of
   *   `value` too), and for a value that cannot be stored faithfully: a function or symbol, a circular
   *   reference, more than 64 levels of nesting, more values once written out than `maxPayloadBytes`
   *   (shared references are written at every use). Size is checked at commit ({@linkcode SessionTooLargeError}).
   * @throws {SessionError} once the request's session was committed (the handler had returned).
   */
  set<K extends keyof T & string>(key: K, value: T[K]): void {
    this.#core.set(key, value);
  }

  /** Remove `key`. */
  delete<K extends keyof T & string>(key: K): void {
    this.#core.delete(key);
  }

  /** Remove every key. */
  clear(): void {
    this.#core.clear();
  }

  /**
   * Change `key` with a function of its current value. The function runs now
   * (the new value is returned) and again at commit on the value then in the
   * store, atomically, so concurrent updates from any process are never lost.
   * Keep it pure: it may run more than once.
   */
  update<K extends keyof T & string>(key: K, fn: (current: T[K] | undefined) => T[K]): T[K] {
    return this.#core.update(key, fn as (v: unknown) => unknown) as T[K];
  }

  /**
   * `flash(key, value)` keeps a value until a later request reads it;
   * `flash(key)` reads a value an earlier request left, and it is gone once
   * this request commits (unless {@linkcode Session.keepFlash}).
   * @throws {SessionError} once the request's session was committed: the read could no longer be consumed.
   */
  flash<V = unknown>(key: string): V | undefined;
  /** Keep `value` under `key` until a later request reads it. */
  flash(key: string, value: unknown): void;
  flash(key: string, ...value: unknown[]): unknown {
    if (value.length === 0) return this.#core.readFlash(key);
    this.#core.writeFlash(key, value[0]);
    return undefined;
  }

  /** Keep the flash values this request reads for one more read (e.g. a page that redirects before showing them). */
  keepFlash(): void {
    this.#core.keepFlash();
  }

  /**
   * Give this session its own idle lifetime ("remember me"), stored with it
   * so later requests keep it. The cookie becomes persistent with this
   * `Max-Age`, refreshes follow this lifetime, and `absoluteTimeout` still
   * caps it (30 days by default), remember-me included. `null` goes back to
   * the app's `expires` (and a browser-session cookie, unless the state is persistent).
   * @throws {RangeError} unless `seconds` is a positive number of at most 34560000
   *   (400 days, the longest a browser keeps a cookie), or `null`.
   * @example
   * ```ts
   * app.post("/login", async (c) => {
   *   const s = c.get("session");
   *   s.regenerate();
   *   s.setUser("42");
   *   if ((await c.req.formData()).get("remember") === "on") s.setExpires(30 * 24 * 3600);
   *   return c.redirect("/");
   * });
   * ```
   */
  setExpires(seconds: number | null): void {
    if (seconds !== null && !(typeof seconds === "number" && seconds > 0 && seconds <= MAX_COOKIE_AGE)) {
      throw new RangeError(
        `Cannot set the session's lifetime: seconds must be a positive number, at most ${MAX_COOKIE_AGE} ` +
          `(400 days, the longest a browser keeps a cookie), or null: received ${String(seconds)}`,
      );
    }
    this.#core.setLifetime(seconds === null ? undefined : seconds * 1000);
  }

  /**
   * Bind the session to a user, so `store.deleteByUser(id)` ends it with every
   * other session of that user ("sign out everywhere"). `null` unbinds.
   * @throws {TypeError} unless `userId` is a non-empty string of well-formed text
   *   without NUL, or `null` (a number would not match the same id given as a
   *   string to `deleteByUser` in every store; PostgreSQL refuses NUL, and a lone
   *   surrogate reads back as U+FFFD).
   */
  setUser(userId: string | null): void {
    // Well-formed and without NUL: PostgreSQL refuses NUL in text, and UTF-8 turns a lone surrogate into U+FFFD
    // (two such ids would name one user in every store that encodes it).
    if (
      userId !== null &&
      (typeof userId !== "string" || userId === "" || userId.includes("\0") || !userId.isWellFormed())
    ) {
      const got = typeof userId !== "string"
        ? typeof userId
        : userId === ""
        ? '""'
        : userId.includes("\0")
        ? "a string with a NUL character"
        : "a string with a lone surrogate (not well-formed UTF-16)";
      throw new TypeError(
        `Cannot set the session's user: the id must be a non-empty string of well-formed text without NUL, or null: ` +
          `received ${got}; use String(id)`,
      );
    }
    this.#core.setUser(userId);
  }

  /**
   * Give the session a new id, keeping its data, and delete the old one once
   * the new one is written. Call it after login and after any privilege
   * change (session fixation). It takes effect even with `options.noStore`.
   */
  regenerate(): void {
    this.#core.regenerate();
  }

  /**
   * End the session: its row is deleted and the cookie cleared, even with
   * `options.noStore` or when the request fails. A later `set` starts a new one.
   */
  destroy(): void {
    this.#core.destroy();
  }

  /**
   * Sign out everywhere: end every session of `userId` in the store (see
   * {@linkcode Session.setUser}) right now, before the handler goes on. When
   * they include this one it is destroyed too, unless `keepCurrent` is set:
   * then this session lives on under a new id with its data and its original
   * creation time (the "password changed, sign out my other devices" case).
   *
   * @param userId The user whose sessions end. @default this session's user
   * @param options.keepCurrent Keep this session (new id, same data). @default false
   * @returns How many sessions the store ended.
   * @throws {TypeError} when the store has no `deleteByUser`, or there is no user.
   * @example
   * ```ts
   * app.post("/password", async (c) => {
   *   const s = await c.get("session").load();
   *   // ... change the password ...
   *   await s.destroyUserSessions(s.userId, { keepCurrent: true });
   *   return c.text("password changed; other devices are signed out");
   * });
   * ```
   */
  async destroyUserSessions(
    userId?: string | null,
    options: { keepCurrent?: boolean } = {},
  ): Promise<number> {
    const core = this.#core;
    const store = core.store;
    if (!canDeleteByUser(store)) {
      throw new TypeError(
        "Cannot end the user's sessions: the store has no deleteByUser; " +
          "use a store that indexes users (SqliteStore, MemoryStore, RedisStore, DenoKvStore, D1Store)",
      );
    }
    await core.load();
    if (userId === undefined) userId = core.userId;
    if (typeof userId !== "string" || userId === "") {
      throw new TypeError(
        "Cannot end the user's sessions: no user given and this session has none; " +
          "call session.setUser(id) at sign-in, or pass the user id",
      );
    }
    // Refuse before anything is deleted: after the commit, the kept session could not be written again.
    core.assertMutable();
    // The row this request loaded is among those deleted only when it was stored under this user.
    const rowEnded = core.attached && core.storedUserId === userId;
    const ended = await inOrder(store, () => store.deleteByUser(userId));
    core.note(() => ({
      type: "user-sessions-ended",
      handle: core.attached ? handleOf(core.loadedId!) : null,
      userId,
      count: ended,
      reason: options.keepCurrent ? "keep-current" : "all",
    }));
    if (options.keepCurrent) {
      if (rowEnded) core.renew();
    } else if (rowEnded || core.userId === userId) {
      core.destroy();
    }
    return ended;
  }

  /**
   * The signed-in user's live sessions, oldest first, for a "devices" page.
   * An empty list when this session has no user.
   * @throws {TypeError} when the store cannot list a user's sessions.
   */
  async userSessions(): Promise<UserSession<T>[]> {
    const core = this.#core;
    const store = listingStore(core.store, "list the user's sessions");
    await core.load();
    const userId = core.userId;
    if (userId === null) return [];
    const current = core.attached ? core.loadedId : undefined;
    const entries = await store.listByUser(userId); // oldest first: the contract's order (src/store/kit/listing.ts)
    return entries.map(({ id, session }) => ({
      handle: handleOf(id),
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
      current: id === current,
      data: Object.fromEntries(decodePayload(core.config.serializer, session.payload)?.data ?? []) as Partial<T>,
    }));
  }

  /**
   * End one session of the signed-in user, named by the `handle` that
   * {@linkcode Session.userSessions} gave. A handle of another user's session,
   * or one that is not a handle at all, ends nothing.
   * @returns Whether a session of this user had that handle (and is now ended).
   * @throws {TypeError} when the store cannot list a user's sessions.
   */
  async destroyUserSession(handle: string): Promise<boolean> {
    const core = this.#core;
    const store = listingStore(core.store, "end the user's session");
    await core.load();
    const userId = core.userId;
    if (typeof handle !== "string" || userId === null) return false;
    const listed = await store.listByUser(userId);
    const entry = listed.find((e) => handleOf(e.id) === handle);
    if (entry === undefined) return false;
    if (core.attached && entry.id === core.loadedId) {
      core.destroy();
      return true;
    }
    await endFollowing(store, userId, entry, listed);
    core.note(() => ({ type: "destroyed", handle, userId, reason: "destroy-user-session" }));
    return true;
  }
}

/** Most ids one device is followed through, should it regenerate again and again while it is being ended. */
const MAX_FOLLOW = 4;

/**
 * End the session `entry` names, and its successor if it regenerated since
 * `listed` was read: a row already gone when it is taken out may have moved to
 * a new id, which keeps its creation time. Ends when a row was taken out, or
 * when none of the user's sessions is a successor (the device is signed out).
 */
async function endFollowing(
  store: SessionStore & UserSessionListing,
  userId: string,
  entry: UserSessionEntry,
  listed: readonly UserSessionEntry[],
): Promise<void> {
  const seen = new Set(listed.map((e) => e.id));
  let id = entry.id;
  for (let round = 0; round < MAX_FOLLOW; round++) {
    let existed = false;
    const takeOut = (current: StoredSession | null): null => {
      existed = current !== null;
      return null;
    };
    await inOrder(store, () => store.update(id, takeOut));
    if (existed) return;
    const successor = (await store.listByUser(userId)).find((e) =>
      !seen.has(e.id) && e.session.createdAt === entry.session.createdAt
    );
    if (successor === undefined) return;
    seen.add(successor.id);
    id = successor.id;
  }
}
