/**
 * Fixtures of the security suites: a store that records every call it gets
 * (forwarding to a real store), an app with login/logout routes, and every
 * store this runtime can run (memory, a SQLite file, and a private Redis
 * when `npm test` started one).
 */
import process from "node:process";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  type InvalidTokenReason,
  MemoryStore,
  session,
  type SessionEnv,
  type SessionOptions,
  SqliteStore,
} from "../mod.ts";
import type { DeleteByUser, DeleteExpired, SessionStore, StoredSession, Touch, UpdateFn } from "../src/store/types.ts";
import { FakeClock, SECRET, tempDir } from "./helpers.ts";

export type Data = { user: string; secret: string; count: number; blob: string; note: unknown };

/** One call a store received. */
export interface Call {
  method: "get" | "set" | "delete" | "touch" | "update" | "deleteByUser";
  arg: string;
}

/** A real store that records the calls it gets, to assert what reaches it. */
export class SpyStore implements SessionStore {
  readonly calls: Call[] = [];
  readonly inner: SessionStore;
  constructor(inner: SessionStore) {
    this.inner = inner;
  }
  get maxPayloadBytes(): number | undefined {
    return this.inner.maxPayloadBytes;
  }
  get(id: string) {
    this.calls.push({ method: "get", arg: id });
    return this.inner.get(id);
  }
  set(id: string, s: StoredSession) {
    this.calls.push({ method: "set", arg: id });
    return this.inner.set(id, s);
  }
  delete(id: string) {
    this.calls.push({ method: "delete", arg: id });
    return this.inner.delete(id);
  }
  touch(id: string, expiresAt: number) {
    this.calls.push({ method: "touch", arg: id });
    return (this.inner as SessionStore & Touch).touch(id, expiresAt);
  }
  update(id: string, fn: UpdateFn) {
    this.calls.push({ method: "update", arg: id });
    return this.inner.update(id, fn);
  }
  deleteExpired(now?: number) {
    return (this.inner as SessionStore & DeleteExpired).deleteExpired(now);
  }
  deleteByUser(userId: string) {
    this.calls.push({ method: "deleteByUser", arg: userId });
    return (this.inner as SessionStore & DeleteByUser).deleteByUser(userId);
  }
  close() {
    return this.inner.close?.();
  }
}

/**
 * A Hono app with the routes the security tests drive, recording the
 * reasons `onInvalidToken` heard and the errors `onError` saw.
 */
export function securityApp(store: SessionStore, options: Partial<SessionOptions> = {}) {
  const reasons: InvalidTokenReason[] = [];
  const errors: Error[] = [];
  const app = new Hono<SessionEnv<Data>>();
  app.use(session({ secret: SECRET, store, onInvalidToken: (_c, r) => void reasons.push(r), ...options }));
  // Every route but /plain uses the session: load it first (SpyStore and RedisStore answer asynchronously).
  app.use(async (c, next) => {
    if (c.req.path !== "/plain") await c.get("session").load();
    await next();
  });
  app.get("/login/:user", (c) => {
    const s = c.get("session");
    const user = c.req.param("user");
    s.regenerate();
    s.setUser(user);
    s.set("user", user);
    s.set("secret", `secret of ${user}`);
    return c.text("ok");
  });
  app.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "anonymous"));
  app.get("/secret", (c) => c.text(c.get("session").get("secret") ?? "none"));
  app.get("/id", (c) => c.text(c.get("session").id));
  app.get("/isnew", (c) => c.text(String(c.get("session").isNew)));
  app.get("/plain", (c) => c.text("plain"));
  app.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
  app.get("/logout", (c) => (c.get("session").destroy(), c.text("bye")));
  app.get("/regenerate", (c) => (c.get("session").regenerate(), c.text("new id")));
  app.get("/blob/:n", (c) => (c.get("session").set("blob", "x".repeat(Number(c.req.param("n")))), c.text("stored")));
  app.get("/regenerate-blob/:n", (c) => {
    c.get("session").regenerate();
    c.get("session").set("blob", "y".repeat(Number(c.req.param("n"))));
    return c.text("stored");
  });
  app.get("/everywhere", async (c) => c.text(String(await c.get("session").destroyUserSessions())));
  app.get("/everywhere-but-here", async (c) => {
    const s = c.get("session");
    return c.text(String(await s.destroyUserSessions(s.userId, { keepCurrent: true })));
  });
  app.get("/cached", (c) => {
    c.get("session").set("count", 1);
    return c.text("cached", 200, { "Cache-Control": "private, max-age=60" });
  });
  app.onError((err, c) => {
    errors.push(err);
    return err instanceof HTTPException ? err.getResponse() : c.text("internal error", 500);
  });
  return { app, reasons, errors };
}

/** A store under test with the clock it reads and how to dispose of it. */
export interface StoreCase {
  name: string;
  /** Whether `deleteByUser` exists. */
  userIndex: boolean;
  make(clock: FakeClock): Promise<{ store: SessionStore; cleanup: () => Promise<void> }>;
}

const REDIS_URL = process.env.SATCHEL_REDIS_URL;

/** Every store this runtime can run: memory, SQLite, and Redis when SATCHEL_REDIS_URL is set. */
export const STORES: StoreCase[] = [
  {
    name: "MemoryStore",
    userIndex: true,
    make: async (clock) => ({ store: new MemoryStore({ clock: clock.fn }), cleanup: async () => {} }),
  },
  {
    name: "SqliteStore",
    userIndex: true,
    make: async (clock) => {
      const tmp = tempDir("satchel-sec-");
      const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn });
      return { store, cleanup: async () => (store.close(), tmp.cleanup()) };
    },
  },
];

if (REDIS_URL !== undefined) {
  STORES.push({
    name: "RedisStore",
    userIndex: true,
    make: async (clock) => {
      const { RedisStore } = await import("../src/store/redis.ts");
      const { connect, dropPrefix } = await import("./fixtures/redis-clients.ts");
      const client = await connect("ioredis", REDIS_URL);
      const prefix = `satchel-sec:${crypto.randomUUID().slice(0, 8)}:`;
      const store = new RedisStore({ client: client.client as never, prefix, clock: clock.fn });
      return {
        store,
        cleanup: async () => {
          await dropPrefix(client, prefix);
          await client.close();
        },
      };
    },
  });
}

/** Run `fn` with a fresh store of `kind` and a clock near real time (Redis expires keys by real time). */
export async function withStore(
  kind: StoreCase,
  fn: (store: SessionStore, clock: FakeClock) => Promise<void>,
): Promise<void> {
  const clock = new FakeClock(Date.now());
  const { store, cleanup } = await kind.make(clock);
  try {
    await fn(store, clock);
  } finally {
    await cleanup();
  }
}

/** The session token inside a jar's cookie. */
export function tokenOf(jar: { cookies: Map<string, string> }, name = "sid"): string {
  const token = jar.cookies.get(name);
  if (token === undefined) throw new Error(`no ${name} cookie in the jar`);
  return token;
}
