/**
 * The hand-written minimum RedisStore is measured against (issue 23), the
 * storage of the @hono/session peer under Satchel's middleware: one string
 * key per session, one `GET` per read and one `SET … PX` per write, both
 * awaited; no compare-and-set, no user index, no invalidation message
 * (`update` is a `SET` after the request's own load, or a `GET` and a `SET`
 * without one: last write wins, so it can lose updates; the benchmark reports
 * how many). Used by bench/app.ts with STORE=redis-min.
 * Not part of the library.
 * @module
 */
import type { SessionStore, StoredSession, UpdateFn } from "../src/store/types.ts";

/** Send one command, resolve with its reply: Bun's `client.send(name, args)`. */
export type Send = (name: string, args: string[]) => Promise<unknown>;

export class MinimalRedisStore implements SessionStore {
  #send: Send;
  /** The sessions `get` returned, by the id they were read under: `update` takes one back instead of reading again. */
  #loaded = new WeakMap<StoredSession, string>();
  constructor(send: Send) {
    this.#send = send;
  }

  async get(id: string): Promise<StoredSession | null> {
    const raw = await this.#send("GET", [`min:${id}`]);
    if (typeof raw !== "string") return null;
    const s = JSON.parse(raw) as StoredSession;
    if (s.expiresAt <= Date.now()) return null;
    this.#loaded.set(s, id);
    return s;
  }

  async set(id: string, s: StoredSession): Promise<void> {
    const ttl = Math.ceil(s.expiresAt - Date.now());
    if (ttl <= 0) return await this.delete(id);
    await this.#send("SET", [`min:${id}`, JSON.stringify(s), "PX", String(ttl)]);
  }

  async delete(id: string): Promise<void> {
    await this.#send("DEL", [`min:${id}`]);
  }

  async update(id: string, fn: UpdateFn, loaded?: StoredSession): Promise<StoredSession | null> {
    const own = loaded !== undefined && this.#loaded.get(loaded) === id;
    const next = fn(own ? { ...loaded } : await this.get(id));
    if (next === null) await this.delete(id);
    else await this.set(id, next);
    return next;
  }
}
