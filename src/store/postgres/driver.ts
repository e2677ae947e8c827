/**
 * One way to send a statement, whatever the client: postgres.js's `sql` and
 * Bun's `SQL` (both `sql.unsafe(text, params)`, resolving to the rows), and
 * `pg`'s `Pool`, `Client` or `PoolClient` (`client.query(text, params)`,
 * resolving to `{ rows }`). `@neondatabase/serverless`'s `Pool` and `Client`
 * have `pg`'s API and go through the same adapter; its HTTP `neon()` function
 * has `query(text, params)` resolving to the rows, and does too.
 * @module
 */

/** A row as the drivers return it: column name to value. */
export type PgRow = Record<string, unknown>;

/** What the store needs of a client: one parameterised statement, its rows. */
export interface PgQueryable {
  /** Runs `text` with `$1…$n` bound to `params`; resolves to the rows it returned. */
  query(text: string, params: readonly unknown[]): Promise<PgRow[]>;
}

/** Which adapter a client goes through (shown in messages and `stats`). */
export type PgDriverKind = "postgres.js or Bun SQL" | "pg";

/**
 * The clients PostgresStore accepts: postgres.js's `sql`, Bun's `SQL`
 * instance (or its default `sql`), a `pg` `Pool`/`Client`/`PoolClient`
 * (and `@neondatabase/serverless`'s `Pool`/`Client`), or any
 * {@linkcode PgQueryable}.
 */
export type PgClientLike = object;

interface TaggedSql {
  unsafe(text: string, params?: unknown[]): PromiseLike<PgRow[]>;
  begin(...args: unknown[]): unknown;
}
interface PgLike {
  query(text: string, params?: unknown[]): Promise<{ rows: PgRow[] }>;
}

/** The adapter for `client`, or null when it is none of the kinds above. */
export function toQueryable(client: unknown): { db: PgQueryable; kind: PgDriverKind } | null {
  if (client === null || (typeof client !== "object" && typeof client !== "function")) return null;
  const c = client as Partial<TaggedSql & PgLike>;
  // postgres.js and Bun's SQL: a tagged-template function with unsafe(text, params) and begin(). (Neon's
  // neon() is a tagged template too, but its unsafe() only marks raw SQL: it has query(), and goes below.)
  if (typeof client === "function" && typeof c.unsafe === "function" && typeof c.begin === "function") {
    const sql = client as unknown as TaggedSql;
    return {
      kind: "postgres.js or Bun SQL",
      db: { query: async (text, params) => [...await sql.unsafe(text, params as unknown[])] },
    };
  }
  if (typeof c.query === "function") {
    const pg = client as PgLike;
    // Anything whose query() resolves to { rows } (pg, Neon's Pool) or to the rows (a PgQueryable).
    return {
      kind: "pg",
      db: {
        query: async (text, params) => {
          const r = await pg.query(text, params as unknown[]) as { rows?: PgRow[] } | PgRow[];
          return Array.isArray(r) ? r : r.rows ?? [];
        },
      },
    };
  }
  return null;
}
