/**
 * PostgresStore's table: its name rules, the statements that create it, and
 * the mark that says which layout it has. docs/postgres-schema.sql is the
 * same SQL for teams that run migrations themselves (tests check they agree).
 * @module
 */

import { sha256 } from "../../crypto/hmac.ts";

/** The table's layout version, written as the table's comment: `satchel:<n>`. */
export const SCHEMA_VERSION = 1;
/** The comment a table of this layout carries. */
export const SCHEMA_MARK = `satchel:${SCHEMA_VERSION}`;
/** The table used when none is named. */
export const DEFAULT_TABLE = "satchel_sessions";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A table name split into its parts, each a plain identifier (quoted when used). */
export interface TableName {
  /** The schema, or null for the search path's first. */
  schema: string | null;
  /** The table. */
  name: string;
  /** `"schema"."name"` or `"name"`, ready for SQL. */
  sql: string;
  /** As given, for messages. */
  text: string;
}

/**
 * Parses `table` or `schema.table`: each part a letter or `_`, then letters,
 * digits or `_`, at most 63 characters (PostgreSQL's identifier limit).
 * Parts are quoted in SQL, so case is kept as written.
 * @throws {TypeError} on anything else.
 */
export function parseTableName(what: string, table: unknown): TableName {
  const parts = typeof table === "string" ? table.split(".") : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new TypeError(
      `Cannot ${what}: table must be "name" or "schema.name", each a letter or _ followed by letters, digits or _ ` +
        `(at most 63): received ${JSON.stringify(table)}`,
    );
  }
  const [schema, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [null, parts[0]!];
  const sql = (schema === null ? "" : `"${schema}".`) + `"${name}"`;
  return { schema, name, sql, text: table as string };
}

/** The statements that create the table and its indexes, each safe to run again. */
export function schemaStatements(t: TableName): string[] {
  const index = (suffix: string) => {
    const whole = t.name + suffix;
    if (whole.length <= 63) return `"${whole}"`;
    // Cut to PostgreSQL's 63 characters, with a hash of the whole name: two long names alike up to the cut
    // would otherwise get one index name, and the second table's CREATE INDEX IF NOT EXISTS would make none.
    const tag = "_" + [...sha256(new TextEncoder().encode(t.name)).slice(0, 4)]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    return `"${t.name.slice(0, 63 - suffix.length - tag.length)}${tag}${suffix}"`;
  };
  return [
    `CREATE TABLE IF NOT EXISTS ${t.sql} (
  id text PRIMARY KEY,
  payload text NOT NULL,
  expires_at bigint NOT NULL,
  created_at bigint NOT NULL,
  user_id text,
  version bigint NOT NULL DEFAULT 1
)`,
    `CREATE INDEX IF NOT EXISTS ${index("_expires_at")} ON ${t.sql} (expires_at)`,
    `CREATE INDEX IF NOT EXISTS ${index("_user_id")} ON ${t.sql} (user_id) WHERE user_id IS NOT NULL`,
    `COMMENT ON TABLE ${t.sql} IS '${SCHEMA_MARK}'`,
  ];
}

/** The columns the store reads and writes; a table without them is not Satchel's. */
export const COLUMNS = ["id", "payload", "expires_at", "created_at", "user_id", "version"] as const;
