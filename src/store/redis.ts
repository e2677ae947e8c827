/**
 * Sessions in Redis 7 or Valkey, shared by every process and machine that
 * talks to the same server or cluster; bring your own client (ioredis,
 * node-redis, Bun's `RedisClient`). Key layout: docs/stores.md#key-layout;
 * the hash fields: ./redis/scripts.ts.
 *
 * Every script names one key, so on a cluster each runs on the shard of that
 * key's hash tag. A session (`<prefix>s:{<id>}`) and its user's index
 * (`<prefix>u:{<userId>}`) cannot share a slot, so the index is kept a
 * superset by write order: an entry is added or raised before the session
 * write that needs it. Stale entries are harmless: `deleteByUser` deletes a
 * session only while its `u` still names the user.
 *
 * `update` is a compare-and-set script on the version and expiry it read,
 * re-read on conflict; the read behind the session a `get` returned (handed back as `loaded`) stands in for its first.
 * @module
 */
import { encodeBase64url } from "../_internal/base64url.ts";
import { messageOf } from "../_internal/errors.ts";
import type { Clock } from "../clock.ts";
import { type SessionError, StoreUnavailableError } from "../errors.ts";
import {
  checkTime,
  checkTimes,
  clockOption,
  CONFLICT,
  DeadlineWatch,
  type Diagnose,
  eachInBatches,
  integer,
  listIndexed,
  LoadedReads,
  maxPayloadBytesOption,
  maxUpdateRetriesOption,
  must,
  OpenFlag,
  OptimisticWriter,
  option,
  optional,
  readOptions,
  required,
  storeError,
  withinMs,
} from "./kit/mod.ts";
import { type RedisClientLike, type RedisCommander, toCommander, UnsupportedClientError } from "./redis/commander.ts";
import { type CachedRead, NearCache } from "./redis/near-cache.ts";
import { DEL, DELETE_IF_USER, INDEX, MAX_TIME, PURGE, type Script, SET, TOUCH } from "./redis/scripts.ts";
import { canSubscribe, toSubscriber } from "./redis/subscriber.ts";
import type {
  DeleteAll,
  DeleteByUser,
  SessionStore,
  StoredSession,
  Touch,
  UpdateFn,
  UserSessionEntry,
  UserSessionListing,
} from "./types.ts";

export type { RedisClientLike, RedisCommander } from "./redis/commander.ts";

/** Options of {@linkcode RedisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected client: an ioredis `Redis` or `Cluster`, a node-redis client
   * or cluster (after `await client.connect()`), Bun's `RedisClient`, or any
   * {@linkcode RedisCommander}. The store never closes it: it is yours.
   */
  client: RedisClientLike;
  /** Prepended to every key. @default "satchel:" */
  prefix?: string;
  /**
   * How long one store call may take, in ms, before it fails with
   * {@linkcode StoreUnavailableError}: all its commands and its wait behind
   * other updates of the same session in this process. Clients queue
   * commands while reconnecting; without this a Redis outage would hang
   * every request. A write that timed out may still be applied later (Redis
   * runs what it received once it resumes): its outcome is unknown. One
   * timer watches every pending call, so a call fails up to a tenth of this
   * (5 to 100 ms) after it; no command is sent once it has passed.
   * @default 5000
   */
  commandTimeout?: number;
  /** How many times `update` re-reads after another process wrote first. @default 50 */
  maxUpdateRetries?: number;
  /** Largest payload accepted, in bytes (the middleware's default limit). @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /** Time source; expiry is checked against it on every read as well as by Redis's TTL. @default Date.now */
  clock?: Clock;
  /**
   * Opt-in: keep the sessions this process read (and what its own writes
   * after a read made of them) in memory, so a request that loads one makes
   * no `HMGET` and a write after it is one script call, with every guarantee
   * of the store kept (see docs/stores.md#near-cache). Needs a second
   * connection of the same client for invalidations (it is subscribed, serves
   * this store only, and stays yours), on one Redis server or Sentinel
   * through ioredis; not on Redis Cluster.
   * @default undefined (off)
   */
  nearCache?: NearCacheOptions;
}

/** Options of RedisStore's near cache. */
export interface NearCacheOptions {
  /**
   * A second, connected connection of the same kind as `client`, used only
   * to subscribe: ioredis `client.duplicate()`, node-redis
   * `await client.duplicate().connect()`, Bun `await client.duplicate()`.
   */
  subscriber: RedisClientLike;
  /** How many sessions are kept at most (least recently used go first). @default 10000 */
  maxEntries?: number;
}

/** How many keys one UNLINK of `deleteAll` names, and how many one SCAN asks for. */
const CLEAR_BATCH = 500;
const FIELDS = ["p", "c", "e", "u", "v", "i"] as const;

type Raw = [string | null, string | null, string | null, string | null, string | null, string | null];

/** What one HMGET of a session hash says. */
interface Read {
  /** The live session, or null when missing or past its expiry. */
  live: StoredSession | null;
  /**
   * The hash's state on the server, `<version>|<expiresAt>` (`|` when the key
   * is missing): the compare-and-set writes only if it still holds, so any
   * write or touch since the read makes it re-read.
   */
  state: string;
  /** The user the hash names, live or not. */
  userId: string | null;
  /** How far the user index covers this session. */
  cover: number;
}

/** `prefix` with SCAN's glob characters escaped, so a prefix holding `*` or `[` matches only itself. */
function scanPattern(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * A write's version: 96 fresh random bits. Not a per-process base and a
 * counter, though cheaper on Node: two clones of one process (a VM
 * snapshot, CRIU, SnapStart) would write the same versions, and a
 * compare-and-set would take the other's write for the state it read.
 * Measured: bench/RESULTS.md#redisstore-against-honosession-on-redis-issue-23.
 */
function newVersion(): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(12)));
}

function isNoScript(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith("NOSCRIPT");
}

class CommandTimeout extends Error {
  override name = "CommandTimeout";
}

const commandTimeout = () => new CommandTimeout();

/** The near caches' subscribers in use: each serves one store (closing one store must not silence another). */
const SUBSCRIBERS = new WeakSet<object>();

/** How long the near cache waits for a probe at most before it reads from Redis instead, in ms. */
const PROBE_TIMEOUT_MS = 1000;

/** `nearCache`: an object naming a subscriber Satchel knows, and a size. */
function checkNearCache(what: string, name: string, value: unknown): void {
  const fail = (why: string) => {
    throw new TypeError(`Cannot create ${what}: ${name} ${why}`);
  };
  if (typeof value !== "object" || value === null) fail("must be an object: { subscriber: client.duplicate() }");
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== "subscriber" && key !== "maxEntries") fail(`has an unknown option "${key}" (subscriber, maxEntries)`);
  }
  if (!canSubscribe(o.subscriber)) {
    fail(
      "needs { subscriber }: a second connected ioredis, node-redis or Bun client for one server " +
        "(e.g. client.duplicate(); not a cluster)",
    );
  }
  integer({ min: 1 })(what, `${name}.maxEntries`, o.maxEntries ?? 1);
}

const SPEC = {
  client: required<RedisClientLike>(
    "{ client }, a connected ioredis, node-redis or Bun Redis client",
    must(
      "an ioredis Redis/Cluster, a node-redis client/cluster, Bun's RedisClient, or an object with command(args, key)",
      (v) => toCommander(v) !== null,
    ),
  ),
  prefix: option<string>("satchel:", must("a string", (v) => typeof v === "string")),
  commandTimeout: option<number>(5000, integer({ min: 1 })),
  maxUpdateRetries: maxUpdateRetriesOption,
  maxPayloadBytes: maxPayloadBytesOption(),
  clock: clockOption,
  nearCache: optional<NearCacheOptions>(checkNearCache),
};

/** The hints for options of other Redis session stores. */
const HINTS = {
  ttl: "the session's lifetime is the session option expires; Redis's TTL follows it",
  redis: "use client",
};

/**
 * A {@linkcode SessionStore} in Redis (7 or later) or Valkey.
 *
 * - Expiry: each session key carries a `PX` TTL, so Redis drops idle sessions
 *   itself; reads also check the stored expiry against the store's clock.
 *   There is no `deleteExpired`: nothing to sweep.
 * - `touch` moves the TTL and the `e` field only (`PEXPIRE`, never the
 *   payload) and never revives a missing or expired session.
 * - `update` is atomic across processes and machines: optimistic
 *   compare-and-set in a Lua script (`EVALSHA`, falling back to `EVAL` after
 *   `NOSCRIPT`, e.g. after a Redis restart).
 * - Any failure to reach Redis is a {@linkcode StoreUnavailableError} (503);
 *   an out-of-memory refusal is a {@linkcode StoreFullError}. The client
 *   reconnects by itself and later requests succeed.
 *
 * Keep Redis's `maxmemory-policy` at `noeviction`: an evicting policy drops
 * sessions and, first, user indexes, and sign-out-everywhere then ends
 * nothing. A write that timed out may still be applied when Redis resumes.
 *
 * Clients, and the settings that make them fail fast while Redis is down
 * (otherwise a request waits `commandTimeout`):
 * - ioredis: `new Redis(url, { maxRetriesPerRequest: 1 })`
 * - node-redis: `await createClient({ url, disableOfflineQueue: true }).on("error", log).connect()`
 * - node-redis Sentinel: `await createSentinel({ name, sentinelRootNodes }).on("error", log).connect()`
 * - Bun: `new RedisClient(url, { enableOfflineQueue: false })`, one standalone
 *   server only (refused on a cluster or sentinel node: use ioredis or node-redis)
 *
 * See the module documentation for the key layout on Redis Cluster.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { Hono } from "hono";
 * import { session } from "satchel";
 * import { RedisStore } from "satchel/redis";
 *
 * const store = new RedisStore({ client: new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 }) });
 * const app = new Hono();
 * app.use(session({ secret: "replace with 32+ random bytes, e.g. from openssl", store }));
 * ```
 */
export class RedisStore implements SessionStore, Touch, DeleteByUser, DeleteAll, UserSessionListing {
  /** The prefix of every key this store writes. */
  readonly prefix: string;
  /** Largest payload accepted, in bytes. */
  readonly maxPayloadBytes: number;
  #redis: RedisCommander;
  #clock: Clock;
  #timeout: number;
  #retries: number;
  #writer: OptimisticWriter;
  /** The reads behind what `get` returned, so the `update` of a loaded session skips its own read. */
  #loaded = new LoadedReads<Read>(() => this.#clock());
  #open = new OpenFlag("RedisStore");
  /** The channel the write scripts publish on (read by near caches, this store's or another process's). */
  #channel: string;
  #near: NearCache | undefined;
  #releaseSubscriber = () => {};
  #watch: DeadlineWatch;
  #diagnose: Diagnose = (cause, action) => {
    const message = messageOf(cause);
    if (message.startsWith("OOM")) {
      return {
        why: "Redis is out of memory (maxmemory); raise maxmemory or free memory " +
          "(keep maxmemory-policy noeviction: an evicting policy drops sessions and user indexes silently)",
        full: true,
      };
    }
    if (cause instanceof CommandTimeout) {
      return {
        why: `Redis did not answer within ${this.#timeout} ms (commandTimeout)` +
          (action === "load" ? "" : "; the outcome is unknown: Redis may still apply the write when it resumes"),
      };
    }
    return {
      why: /^[A-Z]+ /.test(message) ? `Redis refused the command (${message})` : `Redis is unreachable (${message})`,
    };
  };

  /**
   * A store over a connected Redis client (ioredis, node-redis or Bun's `RedisClient`).
   * @throws {TypeError} when `client` is not a Redis client Satchel knows, or `prefix` is not a string.
   * @throws {RangeError} on a bad number option.
   */
  constructor(options: RedisStoreOptions) {
    const o = readOptions("RedisStore", options, SPEC, HINTS);
    this.prefix = o.prefix;
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.#redis = toCommander(o.client)!;
    this.#clock = o.clock;
    this.#timeout = o.commandTimeout;
    this.#retries = o.maxUpdateRetries;
    this.#writer = new OptimisticWriter(o.maxUpdateRetries, "processes");
    this.#channel = `${this.prefix}inv`;
    this.#watch = new DeadlineWatch(o.commandTimeout);
    if (o.nearCache !== undefined) {
      if (o.nearCache.subscriber === o.client) {
        throw new TypeError(
          "Cannot create RedisStore: nearCache.subscriber must be a second connection " +
            "(client.duplicate()): a subscribed connection cannot send the store's commands",
        );
      }
      if (SUBSCRIBERS.has(o.nearCache.subscriber as object)) {
        throw new TypeError(
          "Cannot create RedisStore: nearCache.subscriber already serves another RedisStore; " +
            "give each store its own connection (client.duplicate())",
        );
      }
      if (this.#redis.primaries !== undefined) {
        throw new TypeError(
          "Cannot create RedisStore: nearCache needs one Redis server (or Sentinel through ioredis): " +
            "on Redis Cluster a probe and an invalidation may travel different nodes; leave nearCache out",
        );
      }
      const subscriber = o.nearCache.subscriber as object;
      SUBSCRIBERS.add(subscriber);
      this.#releaseSubscriber = () => SUBSCRIBERS.delete(subscriber);
      this.#near = new NearCache(
        this.prefix,
        toSubscriber(subscriber),
        (channel, message) => this.#raw(["PUBLISH", channel, message], channel, this.#deadline()),
        o.nearCache.maxEntries ?? 10_000,
        Math.min(this.#timeout, PROBE_TIMEOUT_MS),
      );
    }
  }

  /** How many sessions the near cache holds (0 without one). */
  get nearCacheSize(): number {
    return this.#near?.size ?? 0;
  }

  /** The key of a session. */
  sessionKey(id: string): string {
    return `${this.prefix}s:{${id}}`;
  }

  /** The key of a user's index of sessions. */
  userKey(userId: string): string {
    return `${this.prefix}u:{${userId}}`;
  }

  #wrap(action: string, cause: unknown): SessionError {
    // Not an outage but a client that cannot serve this server: its message says what to use instead.
    if (cause instanceof UnsupportedClientError) return new StoreUnavailableError(cause.message, { cause });
    return storeError(action, cause, this.#diagnose);
  }

  /** When an operation starting now must have finished: each store call gets `commandTimeout` in all. */
  #deadline(): number {
    return performance.now() + this.#timeout;
  }

  /**
   * One command, bounded by the operation's deadline (failing up to one
   * DeadlineWatch tick after it); errors are the client's own. Never sent
   * once the deadline has passed.
   */
  #raw(args: string[], key: string, deadline: number): Promise<unknown> {
    this.#open.check();
    const ms = deadline - performance.now();
    if (ms <= 0) return Promise.reject(commandTimeout());
    let reply: Promise<unknown>;
    try {
      reply = Promise.resolve(this.#redis.command(args, key));
    } catch (e) {
      reply = Promise.reject(e);
    }
    return this.#watch.within(reply, ms, commandTimeout);
  }

  async #send(action: string, args: string[], key: string, deadline: number): Promise<unknown> {
    try {
      return await this.#raw(args, key, deadline);
    } catch (cause) {
      throw this.#wrap(action, cause);
    }
  }

  /** Run a script by SHA, loading it with EVAL when Redis does not know it (first use, restart, failover). */
  async #script(action: string, s: Script, key: string, args: string[], deadline: number): Promise<unknown> {
    try {
      try {
        return await this.#raw(["EVALSHA", s.hex ?? await s.sha, "1", key, ...args], key, deadline);
      } catch (e) {
        if (!isNoScript(e)) throw e;
        return await this.#raw(["EVAL", s.source, "1", key, ...args], key, deadline);
      }
    } catch (cause) {
      throw this.#wrap(action, cause);
    }
  }

  async #read(id: string, action: string, deadline: number): Promise<Read> {
    const ticket = this.#near?.ticket();
    const raw =
      (await this.#send(action, ["HMGET", this.sessionKey(id), ...FIELDS], this.sessionKey(id), deadline)) as Raw;
    const [p, c, e, u, v, i] = raw;
    const expiresAt = Number(e);
    const live = p === null || e === null || expiresAt <= this.#clock()
      ? null
      : { payload: p, createdAt: Number(c), expiresAt, userId: u };
    const read = { live, state: `${v ?? ""}|${e ?? ""}`, userId: u, cover: Number(i ?? 0) };
    if (ticket !== undefined) this.#near!.settle(id, ticket, live === null ? null : read as CachedRead);
    return read;
  }

  /** Add (or raise) `id` in `userId`'s index so it lasts until `score`. */
  async #index(userId: string, id: string, score: number, action: string, deadline: number): Promise<void> {
    await this.#script(action, INDEX, this.userKey(userId), [String(this.#clock()), String(score), id], deadline);
  }

  /**
   * How far to make the index cover a session expiring at `expiresAt`: one
   * more lifetime, so it is extended once per lifetime.
   */
  #coverFor(expiresAt: number): number {
    const now = this.#clock();
    return Math.min(MAX_TIME, expiresAt + Math.max(0, expiresAt - now));
  }

  /** Write `s` if the hash is still in the state `expected` ("*": unconditionally). */
  async #write(
    id: string,
    s: StoredSession | null,
    expected: string,
    cover: number,
    action: string,
    deadline: number,
  ): Promise<boolean> {
    const key = this.sessionKey(id);
    const ttl = s === null ? 0 : Math.ceil(s.expiresAt - this.#clock());
    if (s === null || ttl <= 0) {
      this.#near?.forget(id);
      const gone = `${id} |`;
      if (expected !== "*") {
        return (await this.#script(action, DEL, key, [expected, this.#channel, gone], deadline)) === 1;
      }
      await this.#script(action, PURGE, key, [this.#channel, gone], deadline);
      return true;
    }
    const user = s.userId ?? null;
    const version = newVersion();
    const state = `${version}|${s.expiresAt}`;
    const message = `${id} ${state}`;
    const args = [
      expected,
      s.payload,
      String(s.createdAt),
      String(s.expiresAt),
      user === null ? "0" : "1",
      user ?? "",
      version,
      // An index cover past MAX_TIME (left by an earlier version) still covers any expiry allowed.
      String(user === null ? 0 : Math.min(cover, MAX_TIME)),
      String(ttl),
      this.#channel,
      message,
    ];
    const near = this.#near;
    if (near === undefined) return (await this.#script(action, SET, key, args, deadline)) === 1;
    if (expected === "*") {
      // set(): a new session (or a replaced one) is kept once it is read, not now: traffic without a cookie
      // creates sessions never used again, and caching each slowed /new on Bun
      // (bench/RESULTS.md#redisstore-against-honosession-on-redis-issue-23).
      near.forget(id);
      return (await this.#script(action, SET, key, args, deadline)) === 1;
    }
    const ticket = near.ticket(message);
    let written = false;
    try {
      written = (await this.#script(action, SET, key, args, deadline)) === 1;
    } finally {
      const live = { payload: s.payload, createdAt: s.createdAt, expiresAt: s.expiresAt, userId: user };
      near.settle(id, ticket, written ? { live, state, userId: user, cover } : null);
    }
    return written;
  }

  /** The live session with this id, or `null`. */
  async get(id: string): Promise<StoredSession | null> {
    const deadline = this.#deadline();
    if (this.#near !== undefined) {
      this.#open.check();
      const hit = await this.#near.get(id);
      if (hit !== undefined && hit.live.expiresAt > this.#clock()) return this.#loaded.hand(id, hit);
    }
    return this.#loaded.hand(id, await this.#read(id, "load", deadline));
  }

  /** Insert or replace the session (and index its user). */
  async set(id: string, session: StoredSession): Promise<void> {
    checkTimes("store", session);
    const deadline = this.#deadline();
    const user = session.userId ?? null;
    const cover = this.#coverFor(session.expiresAt);
    if (user !== null && session.expiresAt > this.#clock()) await this.#index(user, id, cover, "store", deadline);
    await this.#write(id, session, "*", cover, "store", deadline);
  }

  /** Remove the session; a missing id is not an error. */
  async delete(id: string): Promise<void> {
    this.#near?.forget(id);
    await this.#script("delete", PURGE, this.sessionKey(id), [this.#channel, `${id} |`], this.#deadline());
  }

  /** Move a live session's idle expiry (and its key's TTL). */
  async touch(id: string, expiresAt: number): Promise<void> {
    checkTime("touch", "expiresAt", expiresAt);
    this.#near?.forget(id);
    const deadline = this.#deadline();
    const key = this.sessionKey(id);
    let cover = "";
    let coverUser = "";
    for (let attempt = 0; attempt < this.#retries; attempt++) {
      const now = this.#clock();
      const ttl = Math.ceil(expiresAt - now);
      if (ttl <= 0) return void (await this.#script("touch", PURGE, key, [this.#channel, `${id} |`], deadline));
      const r = await this.#script(
        "touch",
        TOUCH,
        key,
        [String(now), String(expiresAt), String(ttl), cover, coverUser, this.#channel, id],
        deadline,
      );
      if (!Array.isArray(r)) return;
      // The session is bound to a user whose index does not reach the new expiry: extend it first.
      coverUser = String(r[0]);
      const score = this.#coverFor(expiresAt);
      await this.#index(coverUser, id, score, "touch", deadline);
      cover = String(score);
    }
    throw new StoreUnavailableError(
      `Cannot touch session: its user changed ${this.#retries} times while touching; retry the request`,
    );
  }

  /**
   * Atomic read-modify-write by compare-and-set, retried when another process
   * wrote first. Waiting behind other updates of `id` in this instance counts
   * towards `commandTimeout`: while Redis hangs, the k-th queued update fails
   * at its own deadline, not after k of them, and one whose deadline passed
   * in the queue never runs.
   */
  update(id: string, fn: UpdateFn, loaded?: StoredSession): Promise<StoredSession | null> {
    const deadline = this.#deadline();
    return this.#writer.run(id, {
      action: "update",
      // The session the request loaded (what get returned): its read stands in for a fresh one: one round trip.
      first: () => this.#loaded.recall(id, loaded),
      read: () => this.#read(id, "update", deadline),
      write: async (read) => {
        // A copy: the read may be the near cache's, and fn may change its argument before it throws.
        const next = fn(read.live === null ? null : { ...read.live }); // the caller's errors pass through unchanged
        if (next === null && read.state === "|") return null; // nothing there, nothing to delete
        if (next !== null) checkTimes("update", next);
        let cover = read.cover;
        const user = next?.userId ?? null;
        if (next !== null && user !== null && (user !== read.userId || cover < next.expiresAt)) {
          cover = this.#coverFor(next.expiresAt);
          await this.#index(user, id, cover, "update", deadline);
        }
        return await this.#write(id, next, read.state, cover, "update", deadline) ? next : CONFLICT;
      },
    }, { ms: deadline - performance.now(), timeout: () => this.#wrap("update", new CommandTimeout()) });
  }

  /**
   * Deletes every session still bound to `userId`: for each id in the user's
   * index, one script deletes the session if its `u` field names the user.
   * Sessions bound before the call are gone when it returns; one bound by a
   * request running at the same moment may survive (it counts as bound after).
   * @returns How many sessions were deleted.
   */
  async deleteByUser(userId: string): Promise<number> {
    const ukey = this.userKey(userId);
    const ids = (await this.#send("delete", ["ZRANGE", ukey, "0", "-1"], ukey, this.#deadline())) as string[];
    const deleted = await eachInBatches(
      ids,
      async (id) => {
        this.#near?.forget(id);
        const args = [userId, this.#channel, `${id} |`];
        return await this.#script("delete", DELETE_IF_USER, this.sessionKey(id), args, this.#deadline()) === 1;
      },
    );
    // Only the entries of sessions deleted here: an id whose session is not
    // written yet may belong to a login in flight, and must stay indexed.
    for (let i = 0; i < deleted.length; i += CLEAR_BATCH) {
      await this.#send("delete", ["ZREM", ukey, ...deleted.slice(i, i + CLEAR_BATCH)], ukey, this.#deadline());
    }
    return deleted.length;
  }

  /**
   * The live sessions bound to `userId`, oldest first: each id in the
   * user's index is read (`HMGET`, in batches) and kept only if its session
   * is live and still names the user (the index is a superset: see the
   * module documentation).
   */
  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    const ukey = this.userKey(userId);
    const ids = (await this.#send("list", ["ZRANGE", ukey, "0", "-1"], ukey, this.#deadline())) as string[];
    return listIndexed(userId, ids, async (id) => {
      const { live } = await this.#read(id, "list", this.#deadline());
      return live === null ? null : { ...live };
    });
  }

  /**
   * Ends every session: `SCAN`s the keys under the prefix (on a cluster, on
   * every primary) and deletes them in batches: each session with its
   * invalidation message (one script), user indexes with `UNLINK`. Each batch has its own `commandTimeout`.
   * @returns How many live sessions it ended.
   */
  async deleteAll(): Promise<number> {
    this.#near?.clear();
    const pattern = `${scanPattern(this.prefix)}*`;
    const sessions = `${this.prefix}s:`;
    let ended = 0;
    for (const node of this.#redis.primaries?.() ?? [this.#redis]) {
      let cursor = "0";
      do {
        const [next, keys] = (await this.#on(
          node,
          "delete",
          ["SCAN", cursor, "MATCH", pattern, "COUNT", String(CLEAR_BATCH)],
        )) as [string, string[]];
        cursor = String(next);
        // Keys from one SCAN reply may lie in different slots: one command per key keeps each on its own shard.
        // A session goes with its invalidation message in one script, so no near cache keeps it even if this fails midway.
        const removed = await Promise.all(
          keys.map((key) =>
            key.startsWith(sessions)
              ? this.#script(
                "delete",
                PURGE,
                key,
                [this.#channel, `${key.slice(sessions.length + 1, -1)} |`],
                this.#deadline(),
              )
              : this.#on(node, "delete", ["UNLINK", key], key)
          ),
        );
        keys.forEach((key, i) => {
          if (key.startsWith(sessions) && removed[i] === 1) ended++;
        });
      } while (cursor !== "0");
    }
    return ended;
  }

  /** One command to one node (a cluster's primary, for SCAN), bounded by `commandTimeout`. */
  async #on(node: RedisCommander, action: string, args: string[], key = ""): Promise<unknown> {
    this.#open.check();
    try {
      const reply = Promise.resolve().then(() => node.command(args, key));
      return await withinMs(reply, this.#timeout, () => new CommandTimeout());
    } catch (cause) {
      throw this.#wrap(action, cause);
    }
  }

  /**
   * Stops the store: later calls throw {@linkcode StoreUnavailableError}.
   * The client stays open (close it yourself).
   */
  close(): void {
    this.#open.close();
    this.#near?.close();
    this.#releaseSubscriber();
  }
}
