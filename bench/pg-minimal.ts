/**
 * The hand-written minimum the PostgresStore is measured against (issue 21):
 * the same table and driver, one SELECT per read and one upsert per write,
 * no compare-and-set and no merge (`update` is an upsert after the request's
 * own load, or a SELECT and an upsert without one: last write wins, so it can
 * lose updates; the benchmark reports how many).
 * Used by bench/app.ts with STORE=postgres-min. Not part of the library.
 * @module
 */
import type { SessionStore, StoredSession, UpdateFn } from "../src/store/types.ts";

/** `query(text, params)` resolving to the rows: the adapter PostgresStore uses too. */
export interface Query {
  (text: string, params: unknown[]): Promise<Record<string, unknown>[]>;
}

export class MinimalPgStore implements SessionStore {
  #q: Query;
  #t: string;
  /** The sessions `get` returned, by the id they were read under: `update` takes one back instead of reading again. */
  #loaded = new WeakMap<StoredSession, string>();
  constructor(q: Query, table: string) {
    this.#q = q;
    this.#t = table;
  }

  async get(id: string): Promise<StoredSession | null> {
    const [r] = await this.#q(
      `SELECT payload, expires_at, created_at, user_id FROM ${this.#t} WHERE id = $1 AND expires_at > $2`,
      [id, String(Date.now())],
    );
    if (r === undefined) return null;
    const s = {
      payload: r.payload as string,
      expiresAt: Number(r.expires_at),
      createdAt: Number(r.created_at),
      userId: (r.user_id as string | null) ?? null,
    };
    this.#loaded.set(s, id);
    return s;
  }

  async set(id: string, s: StoredSession): Promise<void> {
    await this.#q(
      `INSERT INTO ${this.#t} (id, payload, expires_at, created_at, user_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at,
         created_at = excluded.created_at, user_id = excluded.user_id`,
      [
        id,
        s.payload,
        String(s.expiresAt),
        String(s.createdAt),
        s.userId ?? null,
      ],
    );
  }

  async delete(id: string): Promise<void> {
    await this.#q(`DELETE FROM ${this.#t} WHERE id = $1`, [id]);
  }

  async touch(id: string, expiresAt: number): Promise<void> {
    await this.#q(`UPDATE ${this.#t} SET expires_at = $2 WHERE id = $1`, [
      id,
      String(expiresAt),
    ]);
  }

  async update(id: string, fn: UpdateFn, loaded?: StoredSession): Promise<StoredSession | null> {
    const own = loaded !== undefined && this.#loaded.get(loaded) === id;
    const next = fn(own ? { ...loaded } : await this.get(id));
    if (next === null) await this.delete(id);
    else await this.set(id, next);
    return next;
  }
}
