/**
 * The SQLite file's layout: connection pragmas, the sessions table and its
 * indexes, the `application_id` mark, the `auto_vacuum` guard and the
 * prepared statements {@linkcode SqliteStore} runs. The CLI reads the same
 * facts from here.
 * @module
 */
import type { StoredSession } from "../types.ts";
import { type SqliteDriver, sqliteErrorCode, type SqliteStatement } from "./driver.ts";

/** The sessions table of {@linkcode SqliteStore} and `satchel` unless told otherwise. */
export const DEFAULT_TABLE = "satchel_sessions";

export { TABLE_NAME } from "../kit/options.ts";

/** Table names SQLite keeps for itself (and `<name>_…`). */
export const RESERVED_TABLES: readonly string[] = ["sqlite"];

/** Marks a database as Satchel's (`PRAGMA application_id`, "SATC"). */
export const APPLICATION_ID = 0x53415443;

/** SQLite's primary result codes the store acts on. */
export const SQLITE_BUSY = 5;
export const SQLITE_FULL = 13;

/** The connection pragmas a store sets. */
export interface Pragmas {
  busyTimeout: number;
  synchronous: "NORMAL" | "FULL";
  mmapSize: number;
  journalSizeLimit: number;
  maxSizeBytes?: number | undefined;
}

/** A row as the store's SELECTs return it. */
export interface Row {
  payload: string;
  expires_at: number;
  created_at: number;
  user_id: string | null;
}

/** A row as the store's callers see it. */
export function toStored(row: Row): StoredSession {
  return { payload: row.payload, expiresAt: row.expires_at, createdAt: row.created_at, userId: row.user_id };
}

function pragma(db: SqliteDriver, name: string): unknown {
  return Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
}

/** Runs `fn`, retrying it for up to `budgetMs` while SQLite answers SQLITE_BUSY (sleeping 1, 2, 4 … 50 ms). */
function retryBusy<T>(fn: () => T, budgetMs: number): T {
  const deadline = Date.now() + budgetMs;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let wait = 1;; wait = Math.min(wait * 2, 50)) {
    try {
      return fn();
    } catch (e) {
      if (sqliteErrorCode(e) !== SQLITE_BUSY || Date.now() >= deadline) throw e;
      Atomics.wait(cell, 0, 0, wait); // a synchronous sleep: the constructor cannot await
    }
  }
}

/** Pragmas that live in the file, and the schema; idempotent, and writes the header only when a value differs. */
function createSchema(db: SqliteDriver, t: string, p: Pragmas): void {
  if (String(pragma(db, "journal_mode")).toLowerCase() !== "wal") db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${p.synchronous}`);
  db.exec(`PRAGMA mmap_size = ${p.mmapSize}`);
  db.exec(`PRAGMA journal_size_limit = ${p.journalSizeLimit}`);
  if (Number(pragma(db, "application_id")) !== APPLICATION_ID) db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
  // Never shrink the file: another process may have it mapped, and a page
  // mapped past a new end of file is a SIGBUS. Takes effect on a new file.
  if (Number(pragma(db, "auto_vacuum")) !== 0) db.exec("PRAGMA auto_vacuum = NONE");
  // A rowid table: random ids then insert into the small id index only, not
  // into the row B-tree (bench/RESULTS.md#table-layout-rowid-not-without-rowid).
  // Tables made WITHOUT ROWID by earlier versions keep working.
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${t} (
      id         TEXT PRIMARY KEY,
      payload    TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      user_id    TEXT
    );
    CREATE INDEX IF NOT EXISTS ${t}_expires_at ON ${t} (expires_at);
    CREATE INDEX IF NOT EXISTS ${t}_user_id ON ${t} (user_id) WHERE user_id IS NOT NULL;`,
  );
}

/**
 * Sets the connection's pragmas and creates the table and indexes when
 * missing. Returns the file's `auto_vacuum` mode, for {@linkcode refuseAutoVacuum}.
 * @throws the driver's error when SQLite fails.
 */
export function setUpSchema(db: SqliteDriver, table: string, p: Pragmas): number {
  db.exec(`PRAGMA busy_timeout = ${p.busyTimeout}`);
  // Workers starting together on a new file race to switch it to WAL; SQLite
  // answers some of those races with SQLITE_BUSY without its busy handler.
  retryBusy(() => createSchema(db, table, p), p.busyTimeout);
  if (p.maxSizeBytes !== undefined) {
    const pageSize = Number(pragma(db, "page_size"));
    db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(p.maxSizeBytes / pageSize))}`);
  }
  return Number(pragma(db, "auto_vacuum"));
}

/**
 * Refuses a file whose `auto_vacuum` is on while mmap is used: it would
 * shrink under the other workers' mapping.
 * @throws {TypeError} saying how to turn it off.
 */
export function refuseAutoVacuum(path: string, autoVacuum: number, mmapSize: number): void {
  if (autoVacuum === 0 || mmapSize === 0) return;
  throw new TypeError(
    `Cannot open SqliteStore: ${path} has auto_vacuum on, which shrinks the file under the other workers' mmap (SIGBUS); ` +
      `with every worker stopped run "PRAGMA auto_vacuum = NONE; VACUUM;" on it once, or set mmapSize: 0`,
  );
}

/** The statements of one store, prepared once. */
export interface Statements {
  /** A live row by id. */
  get: SqliteStatement;
  /** A row by id, live or not. */
  peek: SqliteStatement;
  /** Deletes a row only if it is still expired. */
  dropExpired: SqliteStatement;
  upsert: SqliteStatement;
  setPayload: SqliteStatement;
  delete: SqliteStatement;
  touch: SqliteStatement;
  /** Deletes up to `limit` expired rows, oldest expiry first. */
  sweep: SqliteStatement;
  deleteByUser: SqliteStatement;
  listByUser: SqliteStatement;
  /** How many rows are live at a time. */
  countLive: SqliteStatement;
  /** Deletes every row. */
  deleteAll: SqliteStatement;
  begin: SqliteStatement;
  commit: SqliteStatement;
  rollback: SqliteStatement;
  savepoint: SqliteStatement;
  release: SqliteStatement;
  rollbackTo: SqliteStatement;
}

/** Prepares the statements of a store on `table`. */
export function prepareStatements(db: SqliteDriver, t: string): Statements {
  const cols = "payload, expires_at, created_at, user_id";
  // By rowid, which the expiry index holds; a WITHOUT ROWID table (earlier versions) has none: by id.
  const sweepBy = (key: string) =>
    db.prepare(
      `DELETE FROM ${t} WHERE ${key} IN (SELECT ${key} FROM ${t} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    );
  let sweep: SqliteStatement;
  try {
    sweep = sweepBy("rowid");
  } catch {
    sweep = sweepBy("id");
  }
  return {
    get: db.prepare(`SELECT ${cols} FROM ${t} WHERE id = ? AND expires_at > ?`),
    peek: db.prepare(`SELECT ${cols} FROM ${t} WHERE id = ?`),
    dropExpired: db.prepare(`DELETE FROM ${t} WHERE id = ? AND expires_at <= ?`),
    upsert: db.prepare(
      `INSERT INTO ${t} (id, payload, expires_at, created_at, user_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at,
         created_at = excluded.created_at, user_id = excluded.user_id`,
    ),
    setPayload: db.prepare(`UPDATE ${t} SET payload = ? WHERE id = ?`),
    delete: db.prepare(`DELETE FROM ${t} WHERE id = ?`),
    touch: db.prepare(`UPDATE ${t} SET expires_at = ? WHERE id = ? AND expires_at > ?`),
    sweep,
    deleteByUser: db.prepare(`DELETE FROM ${t} WHERE user_id = ?`),
    listByUser: db.prepare(`SELECT id, ${cols} FROM ${t} WHERE user_id = ? AND expires_at > ?`),
    countLive: db.prepare(`SELECT count(*) AS n FROM ${t} WHERE expires_at > ?`),
    deleteAll: db.prepare(`DELETE FROM ${t}`),
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT satchel_work"),
    release: db.prepare("RELEASE satchel_work"),
    rollbackTo: db.prepare("ROLLBACK TO satchel_work"),
  };
}
