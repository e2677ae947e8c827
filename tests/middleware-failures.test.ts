/**
 * The middleware around a failing request and on the untouched path:
 * `touch: "always"` makes no store call for a failed request, a request whose
 * `next()` rejects (a non-Error thrown) still tells its events and commits
 * its `destroy()`, and an untouched session costs no more microtask turns
 * than a plain async middleware (a count, not a timing).
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono, type MiddlewareHandler } from "hono";
import { session, type SessionEnv, type SessionEvent } from "../src/middleware.ts";
import { MemoryStore } from "../src/store/memory.ts";
import type { SessionStore } from "../src/store/types.ts";
import { AsyncStore, CookieJar, SECRET } from "./helpers.ts";

type Data = { a: number };

/** `store` behind a proxy that records the name of every method called. */
function recording(store: SessionStore, calls: string[]): SessionStore {
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return value.apply(target, args);
      };
    },
  });
}

test('session({ touch: "always" }): a failed request that never used the session makes no store call', async () => {
  const calls: string[] = [];
  const app = new Hono<SessionEnv<Data>>();
  app.use(session({ secret: SECRET, store: recording(new AsyncStore(new MemoryStore()), calls), touch: "always" }));
  app.get("/login", async (c) => ((await c.get("session").load()).set("a", 1), c.text("ok")));
  app.get("/fail", (c) => c.text("down", 500));
  const jar = new CookieJar(app);
  await jar.fetch("/login");
  calls.length = 0;
  assert.equal((await jar.fetch("/fail")).status, 500);
  assert.deepEqual(calls, []);
});

test("session(): a request whose next() rejects still tells its events and commits its destroy()", async () => {
  const store = new MemoryStore();
  const events: SessionEvent["type"][] = [];
  const app = new Hono<SessionEnv<Data>>();
  app.use(session({ secret: SECRET, store, onEvent: (e) => void events.push(e.type) }));
  app.get("/login", (c) => {
    const s = c.get("session");
    s.setUser("u1");
    s.set("a", 1);
    return c.text("ok");
  });
  app.get("/all", async (c) => {
    await c.get("session").destroyUserSessions();
    throw "not an Error"; // Hono's compose rethrows what is not an Error
  });
  app.get("/logout", (c) => {
    c.get("session").destroy();
    throw "not an Error";
  });
  const jar = new CookieJar(app);
  await jar.fetch("/login");
  events.length = 0;
  await assert.rejects(jar.fetch("/all"));
  assert.deepEqual(events, ["user-sessions-ended", "destroyed"], "this session was among the user's");
  await jar.fetch("/login");
  assert.equal(store.size, 1);
  events.length = 0;
  await assert.rejects(jar.fetch("/logout"));
  assert.equal(store.size, 0, "destroy() commits even when the request failed");
  assert.deepEqual(events, ["destroyed"]);
});

/** How many microtask turns one request through `mw` takes. */
async function turns(mw: MiddlewareHandler): Promise<number> {
  const app = new Hono();
  app.use(mw);
  app.get("/plain", (c) => c.text("plain"));
  let n = 0;
  let done = false;
  void Promise.resolve(app.request("http://localhost/plain")).then(() => (done = true));
  while (!done) {
    await null;
    n++;
  }
  return n;
}

test("session(): an untouched request takes no more microtask turns than a plain async middleware", async () => {
  const base = await turns(async (_c, next) => {
    await next();
  });
  const withSession = await turns(session({ secret: SECRET, store: new MemoryStore() }));
  const withEvents = await turns(session({ secret: SECRET, store: new MemoryStore(), onEvent: () => {} }));
  assert.deepEqual([withSession, withEvents], [base, base]);
});
