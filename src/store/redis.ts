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
 * re-read on conflict; the read a `get` made just before stands in for its first.
 * @module
 */
import { encodeBase64url } from "../_internal/base64url.ts";
import { messageOf } from "../_internal/errors.ts";
import { checkNumber } from "../_internal/numbers.ts";
import { backoff } from "../_internal/optimistic.ts";
import { rejectUnknownKeys } from "../_internal/options.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "../_internal/sizes.ts";
import { type Clock, systemClock } from "../clock.ts";
import { SessionError, StoreFullError, StoreUnavailableError } from "../errors.ts";
import { type RedisClientLike, type RedisCommander, toCommander, UnsupportedClientError } from "./redis/commander.ts";
import { Deadlines } from "./redis/deadlines.ts";
import { DEL, DELETE_IF_USER, INDEX, MAX_TIME, type Script, SET, TOUCH } from "./redis/scripts.ts";
import type { SessionStore, StoredSession, UpdateFn, UserSessionEntry, UserSessionListing } from "./types.ts";

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
   * runs what it received once it resumes): its outcome is unknown.
   * @default 5000
   */
  commandTimeout?: number;
  /** How many times `update` re-reads after another process wrote first. @default 50 */
  maxUpdateRetries?: number;
  /** Largest payload accepted, in bytes (the middleware's default limit). @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /** Time source; expiry is checked against it on every read as well as by Redis's TTL. @default Date.now */
  clock?: Clock;
}

/** How many session scripts `deleteByUser` runs at once. */
const BATCH = 100;
const FIELDS = ["p", "c", "e", "u", "v", "i"] as const;

type Raw = [string | null, string | null, string | null, string | null, string | null, string | null];

/** A `get` remembered for the `update` that usually follows it in the same request. */
const SEEN_ENTRIES = 1024;
/** Payloads larger than this are not remembered (bounds the cache at 16 MiB). */
const SEEN_MAX_PAYLOAD = 16 * 1024;
/** How long a remembered read may stand in for a fresh one, in ms (the compare-and-set still checks it). */
const SEEN_MS = 10_000;

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

/**
 * Throw unless `value` is a time the store can hold (0 to {@linkcode MAX_TIME} ms): checked before
 * any command is sent, so a time no TTL can express is refused whole (issue 22, defect 4).
 * @throws {RangeError} naming the field and the limit.
 */
function checkTime(action: string, name: string, value: number): void {
  if (!(value >= 0 && value <= MAX_TIME)) {
    throw new RangeError(
      `Cannot ${action} session: ${name} must be a time in ms from 0 to ${MAX_TIME} ` +
        `(the latest a JavaScript Date holds): received ${value}`,
    );
  }
}

/** Both times of a session to be written. */
function checkTimes(action: string, s: StoredSession): void {
  checkTime(action, "expiresAt", s.expiresAt);
  checkTime(action, "createdAt", s.createdAt);
}

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

/**
 * A {@linkcode SessionStore} in Redis (7 or later) or Valkey.
 *
 * - Expiry: each session key carries a `PX` TTL, so Redis drops idle sessions
 *   itself; reads also check the stored expiry against the store's clock.
 *   {@linkcode RedisStore.deleteExpired} has nothing to do and returns 0.
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
 * import { RedisStore, session } from "satchel";
 *
 * const store = new RedisStore({ client: new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 }) });
 * const app = new Hono();
 * app.use(session({ secret: "replace with 32+ random bytes, e.g. from openssl", store }));
 * ```
 */
export class RedisStore implements SessionStore, UserSessionListing {
  /** The prefix of every key this store writes. */
  readonly prefix: string;
  /** Largest payload accepted, in bytes. */
  readonly maxPayloadBytes: number;
  #redis: RedisCommander;
  #clock: Clock;
  #timeout: number;
  #retries: number;
  #queues = new Map<string, Promise<unknown>>();
  #deadlines = new Deadlines();
  /** Recent reads by id (insertion order = age), so `update` after `get` skips its own read. */
  #seen = new Map<string, { read: Read; at: number }>();
  #closed = false;

  /**
   * A store over a connected Redis client (ioredis, node-redis or Bun's `RedisClient`).
   * @throws {TypeError} when `client` is not a Redis client Satchel knows, or `prefix` is not a string.
   * @throws {RangeError} on a bad number option.
   */
  constructor(options: RedisStoreOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot create RedisStore: options are required, at least { client }");
    }
    rejectUnknownKeys("RedisStore", options, [
      "client",
      "prefix",
      "commandTimeout",
      "maxUpdateRetries",
      "maxPayloadBytes",
      "clock",
    ], {
      ttl: "the session's lifetime is the session option expires; Redis's TTL follows it",
      redis: "use client",
    });
    const o = {
      client: options.client,
      prefix: options.prefix ?? "satchel:",
      commandTimeout: options.commandTimeout ?? 5000,
      maxUpdateRetries: options.maxUpdateRetries ?? 50,
      maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      clock: options.clock ?? systemClock,
    };
    const redis = toCommander(o.client);
    if (redis === null) {
      throw new TypeError(
        "Cannot create RedisStore: client must be an ioredis Redis/Cluster, a node-redis client/cluster, " +
          `Bun's RedisClient, or an object with command(args, key): received ${
            o.client === null ? "null" : typeof o.client
          }`,
      );
    }
    if (typeof o.prefix !== "string") {
      throw new TypeError(`Cannot create RedisStore: prefix must be a string: received ${typeof o.prefix}`);
    }
    for (const name of ["commandTimeout", "maxUpdateRetries", "maxPayloadBytes"] as const) {
      checkNumber("RedisStore", name, o[name], { integer: true, min: 1 });
    }
    this.prefix = o.prefix;
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.#redis = redis;
    this.#clock = o.clock;
    this.#timeout = o.commandTimeout;
    this.#retries = o.maxUpdateRetries;
  }

  /** The key of a session. */
  sessionKey(id: string): string {
    return `${this.prefix}s:{${id}}`;
  }

  /** The key of a user's index of sessions. */
  userKey(userId: string): string {
    return `${this.prefix}u:{${userId}}`;
  }

  #wrap(action: string, cause: unknown): Error {
    if (cause instanceof SessionError) return cause;
    if (cause instanceof UnsupportedClientError) return new StoreUnavailableError(cause.message, { cause });
    const message = messageOf(cause);
    if (message.startsWith("OOM")) {
      return new StoreFullError(
        `Cannot ${action} session: Redis is out of memory (maxmemory); raise maxmemory or free memory ` +
          "(keep maxmemory-policy noeviction: an evicting policy drops sessions and user indexes silently)",
        { cause },
      );
    }
    if (cause instanceof CommandTimeout) {
      return new StoreUnavailableError(
        `Cannot ${action} session: Redis did not answer within ${this.#timeout} ms (commandTimeout)` +
          (action === "load" ? "" : "; the outcome is unknown: Redis may still apply the write when it resumes"),
        { cause },
      );
    }
    const why = /^[A-Z]+ /.test(message)
      ? `Redis refused the command (${message})`
      : `Redis is unreachable (${message})`;
    return new StoreUnavailableError(`Cannot ${action} session: ${why}`, { cause });
  }

  /** When an operation starting now must have finished: each store call gets `commandTimeout` in all. */
  #deadline(): number {
    return performance.now() + this.#timeout;
  }

  /** One command, bounded by the operation's deadline; errors are the client's own. */
  #raw(args: string[], key: string, deadline: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError("Cannot use RedisStore: it was closed"));
    if (deadline <= performance.now()) return Promise.reject(new CommandTimeout());
    let reply: Promise<unknown>;
    try {
      reply = Promise.resolve(this.#redis.command(args, key));
    } catch (e) {
      reply = Promise.reject(e);
    }
    return this.#deadlines.within(reply, deadline, commandTimeout);
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
    const raw =
      (await this.#send(action, ["HMGET", this.sessionKey(id), ...FIELDS], this.sessionKey(id), deadline)) as Raw;
    const [p, c, e, u, v, i] = raw;
    const expiresAt = Number(e);
    const live = p === null || e === null || expiresAt <= this.#clock()
      ? null
      : { payload: p, createdAt: Number(c), expiresAt, userId: u };
    return { live, state: `${v ?? ""}|${e ?? ""}`, userId: u, cover: Number(i ?? 0) };
  }

  #remember(id: string, read: Read): void {
    this.#seen.delete(id);
    if (read.live === null || read.live.payload.length > SEEN_MAX_PAYLOAD) return;
    if (this.#seen.size >= SEEN_ENTRIES) this.#seen.delete(this.#seen.keys().next().value!);
    this.#seen.set(id, { read, at: performance.now() });
  }

  /** The read `get` just made of `id`, if recent and still live; it is used once. */
  #recall(id: string): Read | undefined {
    const hit = this.#seen.get(id);
    if (hit === undefined) return undefined;
    this.#seen.delete(id);
    if (performance.now() - hit.at > SEEN_MS || hit.read.live!.expiresAt <= this.#clock()) return undefined;
    return hit.read;
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
      if (expected !== "*") return (await this.#script(action, DEL, key, [expected], deadline)) === 1;
      await this.#send(action, ["DEL", key], key, deadline);
      return true;
    }
    const user = s.userId ?? null;
    const args = [
      expected,
      s.payload,
      String(s.createdAt),
      String(s.expiresAt),
      user === null ? "0" : "1",
      user ?? "",
      newVersion(),
      // An index cover past MAX_TIME (left by an earlier version) still covers any expiry allowed.
      String(user === null ? 0 : Math.min(cover, MAX_TIME)),
      String(ttl),
    ];
    return (await this.#script(action, SET, key, args, deadline)) === 1;
  }

  /**
   * Run `fn` after every earlier queued operation on `id` in this instance
   * has finished, within `deadline` all told: waiting in the queue counts, so
   * while Redis hangs the k-th queued update fails at its own deadline, not
   * after k of them, and one whose deadline passed in the queue never runs.
   */
  #queue<R>(id: string, deadline: number, fn: () => Promise<R>): Promise<R> {
    const prev = this.#queues.get(id) ?? Promise.resolve();
    let abandoned = false;
    const turn = () => abandoned ? Promise.reject(new CommandTimeout()) : fn();
    const run = prev.then(turn, turn);
    const tail = run.then(() => {}, () => {});
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return this.#deadlines.within(run, deadline, commandTimeout).catch((cause) => {
      abandoned = true;
      // The caller's own errors (from its update function) pass through unchanged.
      throw cause instanceof CommandTimeout ? this.#wrap("update", cause) : cause;
    });
  }

  /** The live session with this id, or `null`. */
  async get(id: string): Promise<StoredSession | null> {
    const read = await this.#read(id, "load", this.#deadline());
    this.#remember(id, read);
    return read.live === null ? null : { ...read.live };
  }

  /** Insert or replace the session (and index its user). */
  async set(id: string, session: StoredSession): Promise<void> {
    checkTimes("store", session);
    this.#seen.delete(id);
    const deadline = this.#deadline();
    const user = session.userId ?? null;
    const cover = this.#coverFor(session.expiresAt);
    if (user !== null && session.expiresAt > this.#clock()) await this.#index(user, id, cover, "store", deadline);
    await this.#write(id, session, "*", cover, "store", deadline);
  }

  /** Remove the session; a missing id is not an error. */
  async delete(id: string): Promise<void> {
    this.#seen.delete(id);
    const key = this.sessionKey(id);
    await this.#send("delete", ["DEL", key], key, this.#deadline());
  }

  /** Move a live session's idle expiry (and its key's TTL). */
  async touch(id: string, expiresAt: number): Promise<void> {
    checkTime("touch", "expiresAt", expiresAt);
    this.#seen.delete(id);
    const deadline = this.#deadline();
    const key = this.sessionKey(id);
    let cover = "";
    let coverUser = "";
    for (let attempt = 0; attempt < this.#retries; attempt++) {
      const now = this.#clock();
      const ttl = Math.ceil(expiresAt - now);
      if (ttl <= 0) return void (await this.#send("touch", ["DEL", key], key, deadline));
      const r = await this.#script(
        "touch",
        TOUCH,
        key,
        [String(now), String(expiresAt), String(ttl), cover, coverUser],
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

  /** Atomic read-modify-write by compare-and-set, retried when another process wrote first. */
  update(id: string, fn: UpdateFn): Promise<StoredSession | null> {
    const deadline = this.#deadline();
    return this.#queue(id, deadline, () => this.#update(id, fn, deadline));
  }

  async #update(id: string, fn: UpdateFn, deadline: number): Promise<StoredSession | null> {
    for (let attempt = 1;; attempt++) {
      // Right after a get (the middleware's load), its read stands in for a fresh one: one round trip instead of two.
      const read = (attempt === 1 ? this.#recall(id) : undefined) ?? await this.#read(id, "update", deadline);
      const next = fn(read.live); // the caller's errors pass through unchanged
      if (next === null && read.state === "|") return null; // nothing there, nothing to delete
      if (next !== null) checkTimes("update", next);
      let cover = read.cover;
      const user = next?.userId ?? null;
      if (next !== null && user !== null && (user !== read.userId || cover < next.expiresAt)) {
        cover = this.#coverFor(next.expiresAt);
        await this.#index(user, id, cover, "update", deadline);
      }
      if (await this.#write(id, next, read.state, cover, "update", deadline)) return next;
      if (attempt >= this.#retries) {
        throw new StoreUnavailableError(
          `Cannot update session: other writers changed it ${attempt} times in a row; ` +
            `raise maxUpdateRetries if this many processes write one session at once`,
        );
      }
      // Someone else wrote between our read and our write: back off a little, with jitter, and re-read.
      if (attempt > 2) await backoff(attempt);
    }
  }

  /** Redis expires keys itself (`PX` TTL): nothing to sweep. Always returns 0. */
  deleteExpired(_now?: number): number {
    return 0;
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
    const deleted: string[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const results = await Promise.all(
        batch.map((id) => this.#script("delete", DELETE_IF_USER, this.sessionKey(id), [userId], this.#deadline())),
      );
      results.forEach((r, j) => r === 1 && deleted.push(batch[j]!));
    }
    // Only the entries of sessions deleted here: an id whose session is not
    // written yet may belong to a login in flight, and must stay indexed.
    for (let i = 0; i < deleted.length; i += BATCH) {
      await this.#send("delete", ["ZREM", ukey, ...deleted.slice(i, i + BATCH)], ukey, this.#deadline());
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
    const out: UserSessionEntry[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const reads = await Promise.all(batch.map((id) => this.#read(id, "list", this.#deadline())));
      reads.forEach((r, j) => {
        if (r.live !== null && r.live.userId === userId) out.push({ id: batch[j]!, session: r.live });
      });
    }
    return out.sort((a, b) => a.session.createdAt - b.session.createdAt);
  }

  /**
   * Stops the store: later calls throw {@linkcode StoreUnavailableError}.
   * The client stays open (close it yourself).
   */
  close(): void {
    this.#closed = true;
  }
}
