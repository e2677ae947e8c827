/**
 * Shared test fixtures: a movable clock, a cookie jar, temporary files, a
 * store that answers asynchronously, unhandled rejections seen.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { MemoryStore } from "../src/store/memory.ts";
import { openSqlite } from "../src/store/sqlite/driver.ts";
import type { SessionStore, StoredSession, UpdateFn, UserSessionEntry } from "../src/store/types.ts";

export const SECRET = "test-secret-test-secret-test-secret-0123456789";

export { FakeClock } from "../src/testing/clock.ts";

/** A temporary directory removed by `cleanup()`. */
export function tempDir(
  prefix = "satchel-test-",
): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Parses one Set-Cookie header line into name, value and attributes (lower-cased keys). */
export function parseSetCookie(line: string): { name: string; value: string; attrs: Record<string, string | true> } {
  const [pair, ...rest] = line.split(";");
  const eq = pair!.indexOf("=");
  const attrs: Record<string, string | true> = {};
  for (const a of rest) {
    const t = a.trim();
    const i = t.indexOf("=");
    if (i === -1) attrs[t.toLowerCase()] = true;
    else attrs[t.slice(0, i).toLowerCase()] = t.slice(i + 1);
  }
  return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1).trim(), attrs };
}

/** The Set-Cookie lines of a response. */
export function setCookies(res: Response): string[] {
  const h = res.headers as Headers & { getSetCookie?: () => string[] };
  return h.getSetCookie?.() ?? [];
}

/** A browser-like cookie jar driving `app.request()`. */
export class CookieJar {
  cookies = new Map<string, string>();
  readonly app: { request: (input: string, init?: RequestInit) => Response | Promise<Response> };
  constructor(app: { request: (input: string, init?: RequestInit) => Response | Promise<Response> }) {
    this.app = app;
  }

  /** The Cookie header this jar would send. */
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** Takes the Set-Cookie lines of a response into the jar. */
  take(res: Response): void {
    for (const line of setCookies(res)) {
      const { name, value, attrs } = parseSetCookie(line);
      if (attrs["max-age"] === "0" || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Sends a request with the jar's cookies and takes the response's. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0 && !headers.has("cookie")) headers.set("cookie", this.header());
    const res = await this.app.request(`http://localhost${path}`, { ...init, headers });
    this.take(res);
    return res;
  }

  /** `fetch` and read the body as text. */
  async text(path: string, init?: RequestInit): Promise<string> {
    return await (await this.fetch(path, init)).text();
  }
}

/** Empties a SQLite file's WAL (a TRUNCATE checkpoint), so `walFrames` counts from zero. */
export function truncateWal(path: string): void {
  const db = openSqlite(path);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
  } finally {
    db.close();
  }
}

/** WAL frames written since the last `truncateWal`: each commit writes every page it changed as a frame. */
export function walFrames(path: string): number {
  const db = openSqlite(path, { readonly: true });
  let pageSize: number;
  try {
    pageSize = Number(Object.values(db.prepare("PRAGMA page_size").get()!)[0]);
  } finally {
    db.close();
  }
  const size = statSync(path + "-wal").size;
  return size <= 32 ? 0 : (size - 32) / (24 + pageSize);
}

/**
 * MemoryStore behind promises: a store that answers asynchronously, as
 * RedisStore does. Every method of MemoryStore, but not its `synchronous` flag.
 */
export class AsyncStore implements SessionStore {
  readonly inner: MemoryStore;
  constructor(inner: MemoryStore) {
    this.inner = inner;
  }
  get(id: string): Promise<StoredSession | null> {
    return Promise.resolve(this.inner.get(id));
  }
  set(id: string, s: StoredSession): Promise<void> {
    return Promise.resolve(this.inner.set(id, s));
  }
  delete(id: string): Promise<void> {
    return Promise.resolve(this.inner.delete(id));
  }
  touch(id: string, e: number): Promise<void> {
    return Promise.resolve(this.inner.touch(id, e));
  }
  update(id: string, fn: UpdateFn): Promise<StoredSession | null> {
    return Promise.resolve(this.inner.update(id, fn));
  }
  deleteExpired(now?: number): Promise<number> {
    return Promise.resolve(this.inner.deleteExpired(now));
  }
  deleteByUser(userId: string): Promise<number> {
    return Promise.resolve(this.inner.deleteByUser(userId));
  }
  listByUser(userId: string): Promise<UserSessionEntry[]> {
    return Promise.resolve(this.inner.listByUser(userId));
  }
  deleteAll(): Promise<number> {
    return Promise.resolve(this.inner.deleteAll());
  }
  close(): Promise<void> {
    return Promise.resolve(this.inner.close());
  }
}

/** Unhandled rejections seen while `work` runs and for a few turns after it. */
export async function rejectionsDuring(work: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onRejection = (e: unknown) => void seen.push(e);
  process.on("unhandledRejection", onRejection);
  try {
    await work();
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  } finally {
    process.off("unhandledRejection", onRejection);
  }
  return seen;
}
