/**
 * The one file that knows the runtime: `bun:sqlite` on Bun, `node:sqlite` on
 * Deno and Node 24+, each a few lines over {@linkcode SqliteDriver}. Runtime
 * modules load through `process.getBuiltinModule` when a store first opens,
 * so `import "satchel"` still evaluates where they don't exist (edge runtimes).
 * @module
 */
import { StoreUnavailableError } from "../../errors.ts";

/** A prepared statement. Parameters are positional. */
export interface SqliteStatement {
  /** First row or `undefined`. */
  get(...params: SqliteValue[]): Record<string, SqliteValue> | undefined;
  all(...params: SqliteValue[]): Record<string, SqliteValue>[];
  /** Runs the statement; `changes` is how many rows it wrote. */
  run(...params: SqliteValue[]): { changes: number };
}

export type SqliteValue = string | number | bigint | null | Uint8Array;

/** An open database connection. */
export interface SqliteDriver {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  /** Whether a transaction is open (false once SQLite rolled one back on its own after an error). */
  inTransaction(): boolean;
  close(): void;
}

// SQLite's own messages for the result codes the store acts on; Deno's
// node:sqlite reports only the message, without a numeric code.
const MESSAGE_CODES: [string, number][] = [
  ["database is locked", 5],
  ["database table is locked", 6],
  ["attempt to write a readonly database", 8],
  ["disk I/O error", 10],
  ["database disk image is malformed", 11],
  ["database or disk is full", 13],
  ["unable to open database file", 14],
];

/** SQLite's primary result code of an error thrown by either driver (5 = BUSY, 13 = FULL), or undefined. */
export function sqliteErrorCode(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { errno?: unknown; errcode?: unknown; message?: unknown };
  const code = typeof e.errcode === "number" ? e.errcode : typeof e.errno === "number" ? e.errno : undefined;
  if (code !== undefined) return code & 0xff;
  const message = typeof e.message === "string" ? e.message : "";
  return MESSAGE_CODES.find(([m]) => message.includes(m))?.[1];
}

interface BunStatement {
  finalize(): void;
  get(...p: SqliteValue[]): Record<string, SqliteValue> | null;
  all(...p: SqliteValue[]): Record<string, SqliteValue>[];
  run(...p: SqliteValue[]): { changes: number };
}
interface BunDatabase {
  exec(sql: string): void;
  prepare(sql: string): BunStatement;
  readonly inTransaction: boolean;
  close(): void;
}
interface NodeDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  readonly isTransaction: boolean;
  close(): void;
}

type Fs = typeof import("node:fs");
type Os = typeof import("node:os");
type Path = typeof import("node:path");
type BunSqlite = { Database: new (path: string, options: object) => BunDatabase };
type NodeSqlite = { DatabaseSync: new (path: string, options: object) => NodeDatabase };

/** What a store needs from the runtime, loaded once by {@linkcode host}. */
interface Host {
  fs: Fs;
  os: Os;
  path: Path;
  sqlite: { bun: BunSqlite } | { node: NodeSqlite };
}

interface RuntimeGlobals {
  process?: { getBuiltinModule?: (id: string) => unknown; getuid?: () => number; versions?: { node?: string } };
  Bun?: { version?: string };
  Deno?: { version?: { deno?: string } };
  navigator?: { userAgent?: string };
}
const runtime = globalThis as RuntimeGlobals;

/** A built-in module by id, or undefined where the runtime has none (or no `process.getBuiltinModule`). */
function builtin<T>(id: string): T | undefined {
  try {
    const mod = runtime.process?.getBuiltinModule?.(id);
    if (mod !== undefined) return mod as T;
    // Bun versions whose getBuiltinModule does not know "bun:*" ids still have import.meta.require.
    return runtime.Bun ? (import.meta as { require?: (id: string) => T }).require?.(id) : undefined;
  } catch {
    return undefined;
  }
}

/** The runtime's name, for the message that says it has no SQLite. */
function runtimeName(): string {
  const ua = runtime.navigator?.userAgent;
  if (runtime.Bun) return `Bun ${runtime.Bun.version ?? ""}`.trim();
  if (runtime.Deno) return `Deno ${runtime.Deno.version?.deno ?? ""}`.trim();
  // Workers with nodejs_compat also have process.versions.node: ask the user agent first.
  if (ua === "Cloudflare-Workers") return "Cloudflare Workers (workerd)";
  if (runtime.process?.versions?.node) return `Node ${runtime.process.versions.node}`;
  return ua ? `this runtime (${ua})` : "this runtime";
}

let loaded: Host | undefined;

/**
 * The runtime's file system and SQLite modules, loaded on first use.
 * @throws {StoreUnavailableError} naming the runtime and the stores that run there, when it has no SQLite.
 */
function host(): Host {
  if (loaded !== undefined) return loaded;
  const fs = builtin<Fs>("node:fs");
  const os = builtin<Os>("node:os");
  const path = builtin<Path>("node:path");
  const bun = runtime.Bun ? builtin<BunSqlite>("bun:sqlite") : undefined;
  const node = bun === undefined ? builtin<NodeSqlite>("node:sqlite") : undefined;
  const sqlite = bun !== undefined ? { bun } : node?.DatabaseSync !== undefined ? { node } : undefined;
  if (fs === undefined || os === undefined || path === undefined || sqlite === undefined) {
    throw new StoreUnavailableError(
      `Cannot open SqliteStore: ${runtimeName()} has no SQLite module (bun:sqlite, node:sqlite) or no file system; ` +
        `give session() a store that runs here: store: new CookieStore(...) (no server state), ` +
        `RedisStore, D1Store (Cloudflare Workers), DenoKvStore (Deno) or MemoryStore (tests)`,
    );
  }
  loaded = { fs, os, path, sqlite: sqlite as Host["sqlite"] };
  return loaded;
}

function openBun(bunSqlite: BunSqlite, path: string, readonly: boolean): SqliteDriver {
  const db: BunDatabase = new bunSqlite.Database(
    path,
    readonly ? { readonly: true } : { create: true, readwrite: true },
  );
  // bun:sqlite closes the file only once every statement is finalized (else at garbage collection).
  const statements: BunStatement[] = [];
  return {
    exec: (sql) => db.exec(sql),
    prepare(sql) {
      const st = db.prepare(sql);
      statements.push(st);
      return {
        get: (...p) => st.get(...p) ?? undefined,
        all: (...p) => st.all(...p),
        run: (...p) => st.run(...p),
      };
    },
    inTransaction: () => db.inTransaction,
    close() {
      for (const st of statements) st.finalize();
      db.close();
    },
  };
}

interface NodeStatement extends SqliteStatement {
  columns?(): { name: string }[];
  setReturnArrays?(enabled: boolean): void;
}

/**
 * Rows as arrays, made into objects here: cheaper than node:sqlite building
 * each object through V8's API (bench/RESULTS.md#what-was-changed-for-speed-and-measured).
 * Statements without result columns, and runtimes without `setReturnArrays`, keep the driver's rows.
 */
function nodeStatement(st: NodeStatement): SqliteStatement {
  if (typeof st.setReturnArrays !== "function" || typeof st.columns !== "function") return st;
  const names = st.columns().map((c) => c.name);
  if (names.length === 0) return st;
  st.setReturnArrays(true);
  const row = (values: unknown): Record<string, SqliteValue> => {
    // No prototype, as node:sqlite's own rows: a column named __proto__ stays a column.
    const out = Object.create(null) as Record<string, SqliteValue>;
    for (let i = 0; i < names.length; i++) out[names[i]!] = (values as SqliteValue[])[i]!;
    return out;
  };
  return {
    get: (...p) => {
      const values = st.get(...p);
      return values === undefined ? undefined : row(values);
    },
    all: (...p) => st.all(...p).map(row),
    run: (...p) => st.run(...p),
  };
}

function openNode(nodeSqlite: NodeSqlite, path: string, readonly: boolean): SqliteDriver {
  const db = new nodeSqlite.DatabaseSync(path, { readOnly: readonly });
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql) => nodeStatement(db.prepare(sql) as NodeStatement),
    inTransaction: () => db.isTransaction,
    close: () => db.close(),
  };
}

/** Where `path`'s runtime modules live: `node:sqlite` or `bun:sqlite`, opened read-write or read-only. */
function openRaw(path: string, readonly: boolean): SqliteDriver {
  const { sqlite } = host();
  return "bun" in sqlite ? openBun(sqlite.bun, path, readonly) : openNode(sqlite.node, path, readonly);
}

/** The database file and the two SQLite writes beside it, which must all be private. */
function databaseFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/** An errno-style code of a file system error, or undefined. */
function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "string"
    ? (err as { code: string }).code
    : undefined;
}

/**
 * Makes `path`'s folder (0700, parents included) and the file itself (0600)
 * when missing, and takes group and other access away from the database and
 * its `-wal`/`-shm` files when they have it (SQLite gives new `-wal`/`-shm`
 * files the database's mode, so a 0666 file left by someone else would
 * spread).
 */
function prepareFiles(path: string): void {
  const { fs, path: paths } = host();
  fs.mkdirSync(paths.dirname(path), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(path, "a", 0o600));
  for (const file of databaseFiles(path)) {
    let mode: number;
    try {
      mode = fs.statSync(file).mode;
    } catch {
      continue; // -wal and -shm appear later, with the database's mode
    }
    if ((mode & 0o077) === 0) continue;
    try {
      fs.chmodSync(file, 0o600);
    } catch (e) {
      // Another user's file, which we may still open through its group: theirs to restrict.
      if (errorCode(e) !== "EPERM") throw e;
    }
  }
}

/**
 * Open (creating with mode 0600, and its missing folders with 0700, unless
 * `readonly`) the database at `path`: a connection of its own, never shared
 * (see {@linkcode openShared}).
 * @throws {StoreUnavailableError} when the runtime has no SQLite.
 */
export function openSqlite(path: string, options: { readonly?: boolean } = {}): SqliteDriver {
  const readonly = options.readonly ?? false;
  host();
  if (!readonly && path !== ":memory:") prepareFiles(path);
  return openRaw(path, readonly);
}

/** One connection shared by the stores of this process that open the same file with the same settings. */
interface SharedConnection {
  driver: SqliteDriver;
  refs: number;
  /** The file's identity when opened: a file deleted and made again is a new database. */
  dev: number;
  ino: number;
}

/**
 * Process-wide, on globalThis rather than in this module: a dev server that
 * evaluates the module graph again on each edit (bun --hot, Vite) gets a
 * fresh copy of this module but must find the connections of the last one.
 */
function connections(): Map<string, SharedConnection> {
  const key = Symbol.for("satchel.sqlite.connections");
  const g = globalThis as { [key]?: Map<string, SharedConnection> };
  return (g[key] ??= new Map());
}

/**
 * Opens `path` like {@linkcode openSqlite}, but through one connection per
 * file per process: a second store on the same file with the same
 * `settings` (its connection pragmas) reuses the first one's connection,
 * and the connection closes when the last store using it does. A dev
 * server that re-creates its app on every edit, without closing the old
 * store, so holds one connection, not one per edit. Every call of the
 * store is synchronous, so stores sharing a connection never interleave
 * inside a transaction.
 */
export function openShared(path: string, settings: string): SqliteDriver {
  if (path === ":memory:") return openSqlite(path);
  const { fs } = host();
  prepareFiles(path);
  const real = fs.realpathSync(path);
  const { dev, ino } = fs.statSync(real);
  const key = `${real}\0${settings}`;
  const pool = connections();
  let entry = pool.get(key);
  if (entry === undefined || entry.dev !== dev || entry.ino !== ino) {
    entry = { driver: openRaw(path, false), refs: 0, dev, ino };
    pool.set(key, entry);
  }
  const shared = entry;
  shared.refs++;
  let released = false;
  return {
    exec: (sql) => shared.driver.exec(sql),
    prepare: (sql) => shared.driver.prepare(sql),
    inTransaction: () => shared.driver.inTransaction(),
    close() {
      if (released) return;
      released = true;
      if (--shared.refs > 0) return;
      if (pool.get(key) === shared) pool.delete(key);
      shared.driver.close();
    },
  };
}

/**
 * Run `fn` at the next turn of the event loop, after the I/O of this one
 * (`setImmediate`, which Bun, Deno and Node all have): the requests read in
 * one turn then share one SQLite transaction (SqliteStore.batch).
 */
export function defer(fn: () => void): void {
  setImmediate(fn);
}

/** Whether a file exists at `path` (the store refuses writes once its file was deleted). */
export function fileExists(path: string): boolean {
  return host().fs.existsSync(path);
}

/**
 * This process's user id, or undefined where there is none (Windows). Deno
 * asks for `--allow-sys=uid` before `process.getuid()`; the owner of a
 * folder it just made is the same number and needs only the read and write
 * access the store needs anyway.
 */
function currentUid({ fs, os, path }: Host): number | undefined {
  if (os.platform() === "win32") return undefined;
  if (!runtime.Deno) return runtime.process?.getuid?.();
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), "satchel-uid-"));
  try {
    return fs.statSync(probe).uid;
  } finally {
    fs.rmdirSync(probe);
  }
}

/**
 * The default database file: `<os temp dir>/satchel-<uid>/<name>.sqlite`.
 * A folder per OS user, mode 0700, so two users' apps never share a file.
 * The temp dir is shared: a folder or file there that another user made
 * first (who could then read and rewrite every session) is refused, never
 * used; our own folder with too open a mode is made 0700.
 * @throws {StoreUnavailableError} when the folder or a database file in it belongs to another user.
 */
export function defaultDatabasePath(name: string): string {
  const h = host();
  const { fs, os, path } = h;
  const uid = currentUid(h);
  const dir = path.join(os.tmpdir(), `satchel-${uid ?? os.userInfo().username}`);
  const file = path.join(dir, `${name}.sqlite`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (errorCode(e) !== "EEXIST") throw e;
  }
  if (uid === undefined) return file;
  const refuse = (what: string, why: string) =>
    new StoreUnavailableError(
      `Cannot open SqliteStore: the default ${what} ${why}; another user could read and rewrite its sessions. ` +
        `Remove it, or give SqliteStore a path in a folder of your own`,
    );
  const folder = fs.lstatSync(dir);
  if (!folder.isDirectory()) throw refuse(`folder ${dir}`, "is not a folder (a link?)");
  if (folder.uid !== uid) {
    throw refuse(`folder ${dir}`, `belongs to uid ${folder.uid}, not to this process's uid ${uid}`);
  }
  if ((folder.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  for (const f of databaseFiles(file)) {
    let st;
    try {
      st = fs.lstatSync(f);
    } catch {
      continue;
    }
    if (!st.isFile()) throw refuse(`file ${f}`, "is not a regular file (a link?)");
    if (st.uid !== uid) throw refuse(`file ${f}`, `belongs to uid ${st.uid}, not to this process's uid ${uid}`);
  }
  return file;
}
