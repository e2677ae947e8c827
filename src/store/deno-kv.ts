/**
 * Sessions in Deno KV: a SQLite file under the Deno CLI, the hosted,
 * replicated database on Deno Deploy. Bring your own `Deno.Kv`; nothing here
 * touches the `Deno` global, so the module imports on every runtime.
 *
 * A session is `[prefix, "s", id]`, and each session bound to a user also
 * has `[prefix, "u", userId, id]`. Every write is one atomic operation that
 * checks the session's versionstamp and writes both keys, so the index names
 * exactly the sessions bound to each user. Both carry `expireIn`; KV deletes
 * late, so reads also check the expiry against the store's clock.
 * @module
 */
import type { Clock } from "../clock.ts";
import { SessionDataError } from "../errors.ts";
import { messageOf } from "../_internal/errors.ts";
import {
  backoff,
  clockOption,
  CONFLICT,
  type Diagnose,
  eachInBatches,
  guard,
  listIndexed,
  LoadedReads,
  maxPayloadBytesOption,
  maxUpdateRetriesOption,
  must,
  OpenFlag,
  OptimisticWriter,
  option,
  payloadBytes,
  readOptions,
  required,
  withMethods,
} from "./kit/mod.ts";
import type {
  DeleteAll,
  DeleteByUser,
  DeleteExpired,
  SessionStore,
  StoredSession,
  Touch,
  UpdateFn,
  UserSessionEntry,
  UserSessionListing,
} from "./types.ts";

/** A Deno KV key (the subset of `Deno.KvKey` this store uses). */
export type DenoKvKey = readonly (string | number | bigint | boolean | symbol | Uint8Array)[];

/** The part of `Deno.AtomicOperation` the store uses. */
export interface DenoKvAtomicLike {
  /** Make the commit fail unless each key still has this versionstamp (`null`: absent). */
  check(...checks: { key: DenoKvKey; versionstamp: string | null }[]): DenoKvAtomicLike;
  /** Write `value` under `key`; KV deletes it after `expireIn` ms at the earliest. */
  set(key: DenoKvKey, value: unknown, options?: { expireIn?: number }): DenoKvAtomicLike;
  /** Delete `key`. */
  delete(key: DenoKvKey): DenoKvAtomicLike;
  /** Apply everything at once, or nothing when a check fails (`ok: false`). */
  commit(): Promise<{ ok: boolean }>;
}

/** The part of `Deno.Kv` the store uses; a `Deno.Kv` from `Deno.openKv()` is one. */
export interface DenoKvLike {
  /** The value under `key` and its versionstamp (both `null` when absent). */
  get(key: DenoKvKey): Promise<{ value: unknown; versionstamp: string | null }>;
  /** Every entry whose key starts with `prefix`. */
  list(
    selector: { prefix: DenoKvKey },
    options?: { batchSize?: number },
  ): AsyncIterable<{ key: DenoKvKey; value: unknown; versionstamp: string }>;
  /** A new atomic operation. */
  atomic(): DenoKvAtomicLike;
}

/** Options of {@linkcode DenoKvStore}. */
export interface DenoKvStoreOptions {
  /** The database, from `await Deno.openKv()`. The store never closes it: it is yours. */
  kv: DenoKvLike;
  /** First part of every key, so several apps can share one database. @default "satchel" */
  prefix?: string;
  /**
   * Largest payload accepted, in UTF-8 bytes. A KV value holds at most
   * 64 KiB; the rest of that is kept for the user id and the other fields.
   * @default 61440 (60 KiB, also the most it can be)
   */
  maxPayloadBytes?: number;
  /** How many times a write re-reads after another writer changed the session first. @default 50 */
  maxUpdateRetries?: number;
  /** Time source for expiry checks and `expireIn`. @default Date.now */
  clock?: Clock;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The most a payload can be: 64 KiB, less room for a 1 KiB user id (2 KiB as UTF-16) and the fields. */
const MAX_PAYLOAD = 60 * 1024;
/** Longest user id, in UTF-8 bytes: the index key holds it, and a key holds at most 2 KiB. */
const MAX_USER_ID_BYTES = 1024;
/** Longest prefix, in UTF-8 bytes, for the same reason. */
const MAX_PREFIX_BYTES = 256;
/** How many times one KV call is retried while another process holds the SQLite file's lock. */
const LOCK_RETRIES = 20;
/** Sessions deleted per atomic operation by deleteExpired (each is a check and two deletes). */
const SWEEP_BATCH = 10;
/** Keys deleted per atomic operation by deleteAll: well under Deno KV's limits on mutations and key bytes per operation. */
const CLEAR_BATCH = 50;

const SPEC = {
  kv: required<DenoKvLike>(
    "{ kv: await Deno.openKv() }",
    withMethods(["get", "atomic", "list"], "a Deno.Kv (await Deno.openKv())"),
  ),
  prefix: option<string>(
    "satchel",
    must(
      `a non-empty string of at most ${MAX_PREFIX_BYTES} bytes`,
      (v) => typeof v === "string" && v !== "" && encoder.encode(v).length <= MAX_PREFIX_BYTES,
      RangeError,
    ),
  ),
  maxPayloadBytes: maxPayloadBytesOption(MAX_PAYLOAD, MAX_PAYLOAD),
  maxUpdateRetries: maxUpdateRetriesOption,
  clock: clockOption,
};

/** A session as the store keeps it in KV; its user index key holds `e`. */
interface Rec {
  /** The payload, UTF-8. */
  p: Uint8Array;
  /** createdAt. */
  c: number;
  /** expiresAt. */
  e: number;
  /** userId, or null. */
  u: string | null;
}

/** An expired session found by deleteExpired. */
interface Expired {
  id: string;
  versionstamp: string;
  user: string | null;
}

/** One read of a session key: the record (live or not) and the versionstamp a write must check. */
interface Read {
  rec: Rec | null;
  versionstamp: string | null;
}

function isRec(value: unknown): value is Rec {
  const v = value as Partial<Rec> | null;
  return typeof v === "object" && v !== null && v.p instanceof Uint8Array && typeof v.e === "number" &&
    typeof v.c === "number";
}

/** A local KV file is SQLite: another process's write shows up as this error until its lock is released. */
function isLocked(e: unknown): boolean {
  return e instanceof Error && /database is locked|SQLITE_BUSY/i.test(e.message);
}

const diagnose: Diagnose = (cause) => ({ why: `Deno KV failed (${messageOf(cause)})` });

/**
 * A {@linkcode SessionStore} in Deno KV.
 *
 * - Atomicity: `update`, `set`, `touch` and `delete` read the session, then
 *   commit with a versionstamp `check`, and re-read when another writer came
 *   first (up to `maxUpdateRetries`, with jittered backoff). Writes of one
 *   id from one store instance are queued, so contention only comes from
 *   other processes or isolates. "database is locked" from a local KV file
 *   shared by several processes is retried too.
 * - Expiry: `expireIn` on every write, and a check against the clock on
 *   every read (KV deletes expired keys late). `touch` rewrites the record
 *   with the new expiry (KV cannot move an expiry alone) but never changes
 *   the payload, and never revives an expired session.
 * - Limits: a payload of at most 60 KiB, a user id of at most 1 KiB.
 *
 * @example
 * ```ts ignore
 * import { session } from "satchel";
 * import { DenoKvStore } from "satchel/deno-kv";
 * const kv = await Deno.openKv();
 * const mw = session({ secret: Deno.env.get("SESSION_SECRET")!, store: new DenoKvStore({ kv }) });
 * ```
 */
export class DenoKvStore implements SessionStore, Touch, DeleteExpired, DeleteByUser, DeleteAll, UserSessionListing {
  /** Largest payload accepted, in UTF-8 bytes. */
  readonly maxPayloadBytes: number;
  /** First part of every key. */
  readonly prefix: string;
  #kv: DenoKvLike;
  #clock: Clock;
  #writer: OptimisticWriter;
  /** The reads behind what `get` returned, so the `update` of a loaded session skips its own read. */
  #loaded: LoadedReads<{ live: StoredSession | null; read: Read }>;
  #open = new OpenFlag("DenoKvStore");

  /**
   * A store over `options.kv`; nothing is read or written until first use.
   * @throws {TypeError} when `kv` is missing or an option is unknown or of the wrong type.
   * @throws {RangeError} on a number option out of range or a prefix over 256 bytes.
   */
  constructor(options: DenoKvStoreOptions) {
    const o = readOptions("DenoKvStore", options, SPEC);
    this.#kv = o.kv;
    this.prefix = o.prefix;
    this.maxPayloadBytes = o.maxPayloadBytes;
    this.#writer = new OptimisticWriter(o.maxUpdateRetries, "processes");
    this.#clock = o.clock;
    this.#loaded = new LoadedReads(o.clock);
  }

  #sessionKey(id: string): DenoKvKey {
    return [this.prefix, "s", id];
  }

  #userKey(userId: string, id: string): DenoKvKey {
    return [this.prefix, "u", userId, id];
  }

  /** One KV call, retried while the file is locked; any other failure becomes StoreUnavailableError. */
  #call<T>(action: string, op: () => Promise<T>): Promise<T> {
    this.#open.check();
    return guard(action, diagnose, async () => {
      for (let attempt = 1;; attempt++) {
        try {
          return await op();
        } catch (cause) {
          if (!isLocked(cause) || attempt >= LOCK_RETRIES) throw cause;
          await backoff(attempt, 100);
        }
      }
    });
  }

  async #read(id: string, action: string): Promise<Read> {
    const entry = await this.#call(action, () => this.#kv.get(this.#sessionKey(id)));
    return { rec: isRec(entry.value) ? entry.value : null, versionstamp: entry.versionstamp };
  }

  #live(rec: Rec | null): StoredSession | null {
    if (rec === null || rec.e <= this.#clock()) return null;
    return { payload: decoder.decode(rec.p), expiresAt: rec.e, createdAt: rec.c, userId: rec.u };
  }

  #toRec(s: StoredSession): Rec {
    const p = payloadBytes(s.payload, this.maxPayloadBytes);
    const u = s.userId ?? null;
    if (u !== null && encoder.encode(u).length > MAX_USER_ID_BYTES) {
      throw new SessionDataError(
        `Cannot store session: its user id is over ${MAX_USER_ID_BYTES} bytes, the most a Deno KV key leaves room for`,
      );
    }
    return { p, c: s.createdAt, e: s.expiresAt, u };
  }

  /**
   * Replace what `read` saw with `next` (`null` deletes) in one atomic
   * operation that also moves the user index; false when another writer
   * changed the session since `read`.
   */
  async #commit(id: string, read: Read, next: Rec | null, action: string): Promise<boolean> {
    const key = this.#sessionKey(id);
    const op = this.#kv.atomic().check({ key, versionstamp: read.versionstamp });
    const oldUser = read.rec?.u ?? null;
    const ttl = next === null ? 0 : next.e - this.#clock();
    if (next === null || ttl <= 0) {
      if (read.versionstamp === null) return true; // nothing there, nothing to delete
      op.delete(key);
      if (oldUser !== null) op.delete(this.#userKey(oldUser, id));
    } else {
      const expireIn = Math.ceil(ttl);
      op.set(key, next, { expireIn });
      if (oldUser !== null && oldUser !== next.u) op.delete(this.#userKey(oldUser, id));
      if (next.u !== null) op.set(this.#userKey(next.u, id), next.e, { expireIn });
    }
    return (await this.#call(action, () => op.commit())).ok;
  }

  /** Read, decide, commit; re-read and decide again while other writers come first. */
  #mutate<R>(
    id: string,
    action: string,
    decide: (read: Read) => { next: Rec | null; result: R } | null,
    first?: () => Read | undefined,
  ): Promise<R | null> {
    return this.#writer.run(id, {
      action,
      first,
      read: () => this.#read(id, action),
      write: async (read) => {
        const plan = decide(read);
        if (plan === null) return null;
        return await this.#commit(id, read, plan.next, action) ? plan.result : CONFLICT;
      },
    });
  }

  /** The live session with this id, or `null` (missing or expired, deleted by KV yet or not). */
  async get(id: string): Promise<StoredSession | null> {
    const read = await this.#read(id, "load");
    return this.#loaded.hand(id, { live: this.#live(read.rec), read });
  }

  /** Insert or replace the session, and move it in the user index. */
  async set(id: string, session: StoredSession): Promise<void> {
    const rec = this.#toRec(session);
    await this.#mutate(id, "store", () => ({ next: rec, result: true }));
  }

  /** Remove the session and its index entry; a missing id is not an error. */
  async delete(id: string): Promise<void> {
    await this.#mutate(id, "delete", () => ({ next: null, result: true }));
  }

  /** Move a live session's expiry (and its keys' `expireIn`); the payload is written back unchanged. */
  async touch(id: string, expiresAt: number): Promise<void> {
    await this.#mutate(id, "touch", (read) => {
      if (read.rec === null || read.rec.e <= this.#clock()) return null;
      return { next: { ...read.rec, e: expiresAt }, result: true };
    });
  }

  /** Atomic read-modify-write: a versionstamp-checked commit, retried when another writer came first. */
  async update(id: string, fn: UpdateFn, loaded?: StoredSession): Promise<StoredSession | null> {
    const result = await this.#mutate(id, "update", (read) => {
      const next = fn(this.#live(read.rec)); // may run again on a retry: the contract says it is pure
      return { next: next === null ? null : this.#toRec(next), result: next };
    }, () => this.#loaded.recall(id, loaded)?.read); // the session the request loaded: its read, not another
    return result ?? null;
  }

  /**
   * Delete every session whose expiry is at or before `now`, in atomic
   * batches that each check the versionstamps they read. KV's `expireIn`
   * already drops expired sessions on its own, late; this lists every
   * session, so run it rarely if at all.
   * @returns How many sessions were deleted.
   */
  async deleteExpired(now: number = this.#clock()): Promise<number> {
    let expired: Expired[] = [];
    await this.#call("sweep", async () => {
      expired = []; // a retry after "database is locked" lists again from the start
      for await (const entry of this.#kv.list({ prefix: [this.prefix, "s"] }, { batchSize: 500 })) {
        if (isRec(entry.value) && entry.value.e <= now) {
          expired.push({ id: String(entry.key[2]), versionstamp: entry.versionstamp, user: entry.value.u });
        }
      }
    });
    let deleted = 0;
    for (let i = 0; i < expired.length; i += SWEEP_BATCH) {
      deleted += await this.#sweep(expired.slice(i, i + SWEEP_BATCH), now);
    }
    return deleted;
  }

  /** Delete one batch of expired sessions; one by one when another writer changed one of them meanwhile. */
  async #sweep(batch: Expired[], now: number): Promise<number> {
    const op = this.#kv.atomic();
    for (const { id, versionstamp, user } of batch) {
      op.check({ key: this.#sessionKey(id), versionstamp }).delete(this.#sessionKey(id));
      if (user !== null) op.delete(this.#userKey(user, id));
    }
    if ((await this.#call("sweep", () => op.commit())).ok) return batch.length;
    let deleted = 0;
    for (const { id } of batch) {
      const gone = await this.#mutate(
        id,
        "sweep",
        (read) => read.rec !== null && read.rec.e <= now ? { next: null, result: true } : null,
      );
      if (gone) deleted++;
    }
    return deleted;
  }

  /** The ids in `userId`'s index. */
  async #indexed(userId: string, action: string): Promise<string[]> {
    let ids: string[] = [];
    await this.#call(action, async () => {
      ids = [];
      for await (const entry of this.#kv.list({ prefix: [this.prefix, "u", userId] })) ids.push(String(entry.key[3]));
    });
    return ids;
  }

  /**
   * End every session bound to `userId`, each in an atomic operation that
   * checks it still names the user.
   * @returns How many sessions were deleted.
   */
  async deleteByUser(userId: string): Promise<number> {
    const ids = await this.#indexed(userId, "delete");
    const gone = await eachInBatches(
      ids,
      async (id) =>
        await this.#mutate(id, "delete", (read) => read.rec?.u === userId ? { next: null, result: true } : null) ===
          true,
    );
    return gone.length;
  }

  /** The live sessions bound to `userId`, oldest first. */
  listByUser(userId: string): Promise<UserSessionEntry[]> {
    return this.#indexed(userId, "list").then((ids) =>
      listIndexed(userId, ids, async (id) => this.#live((await this.#read(id, "list")).rec))
    );
  }

  /**
   * End every session: every key under the prefix (sessions and user
   * indexes), in atomic batches.
   * @returns How many live sessions it ended.
   */
  async deleteAll(): Promise<number> {
    const now = this.#clock();
    let keys: DenoKvKey[] = [];
    let live = 0;
    await this.#call("delete", async () => {
      keys = []; // a retry after "database is locked" lists again from the start
      live = 0;
      for await (const entry of this.#kv.list({ prefix: [this.prefix] }, { batchSize: 500 })) {
        keys.push(entry.key);
        if (entry.key[1] === "s" && isRec(entry.value) && entry.value.e > now) live++;
      }
    });
    for (let i = 0; i < keys.length; i += CLEAR_BATCH) {
      const op = this.#kv.atomic();
      for (const key of keys.slice(i, i + CLEAR_BATCH)) op.delete(key);
      await this.#call("delete", () => op.commit());
    }
    return live;
  }

  /**
   * Stops the store: later calls throw {@linkcode StoreUnavailableError}.
   * The `Deno.Kv` stays open (close it yourself).
   */
  close(): void {
    this.#open.close();
  }
}
