/**
 * Defects of the commit found by hostile testing (issue 20 §6 items 1, 2, 4),
 * through real Hono apps on MemoryStore and SqliteStore.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import {
  jsonSerializer,
  MemoryStore,
  type Session,
  session,
  SessionDataError,
  type SessionEnv,
  SessionError,
  SqliteStore,
} from "../mod.ts";
import type { SessionStore, StoredSession } from "../src/store/types.ts";
import { AsyncStore, CookieJar, FakeClock, parseSetCookie, SECRET, setCookies, tempDir } from "./helpers.ts";
import { securityApp, tokenOf } from "./security-helpers.ts";

const OLD = "old-secret-old-secret-old-secret-0123456789";
const NEW = "new-secret-new-secret-new-secret-0123456789";

const STORES = [
  ["MemoryStore", (clock: FakeClock) => ({ store: new MemoryStore({ clock: clock.fn }) as SessionStore, done() {} })],
  ["SqliteStore", (clock: FakeClock) => {
    const tmp = tempDir();
    const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn });
    return { store: store as SessionStore, done: () => (store.close(), tmp.cleanup()) };
  }],
] as const;

for (const [name, make] of STORES) {
  test(`Session.destroy() clears the cookie of a session whose binding a retired secret made (${name})`, async () => {
    const clock = new FakeClock();
    const { store, done } = make(clock);
    try {
      const bind = { userAgent: true };
      const ua = { headers: { "user-agent": "Firefox/140" } };
      const before = new CookieJar(securityApp(store, { clock: clock.fn, bind, secret: OLD }).app);
      await before.fetch("/login/alice", ua);
      const id = tokenOf(before).split(".")[0]!;

      const rotated = new CookieJar(securityApp(store, { clock: clock.fn, bind, secret: [NEW, OLD] }).app);
      rotated.cookies = before.cookies;
      const res = await rotated.fetch("/logout", ua);
      assert.equal(await res.text(), "bye");
      const cookies = setCookies(res).map(parseSetCookie);
      assert.equal(cookies.length, 1, "one Set-Cookie: the clearing one");
      assert.equal(cookies[0]!.attrs["max-age"], "0", "the token is cleared, not replaced by a new session's");
      assert.equal(await store.get(id), null, "the session is gone");
      assert.equal(await rotated.text("/whoami", ua), "anonymous");
    } finally {
      done();
    }
  });
}

test("Session.flash() read after the commit (in a streamed body) throws SessionError, like set()", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const a = new Hono<SessionEnv<{ n: number }>>();
  a.use(session({ secret: SECRET, store, clock: clock.fn }));
  let held: Session<{ n: number }> | undefined;
  a.get("/flash", (c) => (c.get("session").flash("notice", "saved"), c.text("ok")));
  a.get("/late", (c) => {
    held = c.get("session");
    held.get("n"); // loads the session: the read below is the only late access
    return c.text("streamed");
  });
  a.get("/show", (c) => c.text(c.get("session").flash<string>("notice") ?? "none"));
  const jar = new CookieJar(a);
  await jar.fetch("/flash");
  await jar.fetch("/late");
  assert.throws(
    () => held!.flash("notice"),
    (e: unknown) => e instanceof SessionError && /already committed/.test(e.message),
  );
  assert.equal(await jar.text("/show"), "saved", "the unread message is still there for the next page");
  assert.equal(await jar.text("/show"), "none", "and read once");
});

for (const [name, make] of STORES) {
  test(`Session.update(): a value the function gives on the re-run at commit is checked like set()'s (${name})`, async () => {
    const clock = new FakeClock();
    const { store, done } = make(clock);
    try {
      const a = new Hono<SessionEnv<{ n: number; note: string }>>();
      a.use(session({ secret: SECRET, store, clock: clock.fn, serializer: jsonSerializer }));
      let seen: unknown;
      a.onError((e, c) => ((seen = e), c.text("error", 500)));
      a.get("/init", (c) => (c.get("session").set("n", 1), c.text("ok")));
      a.get("/read", (c) => c.text(JSON.stringify(c.get("session").get("n") ?? "none")));
      // Another request writes n = 0 meanwhile: at commit the function re-runs on 0 and gives NaN.
      a.get("/divide", async (c) => {
        const s = c.get("session");
        s.set("note", "divided");
        const v = s.update("n", (n) => (n === 0 ? NaN : (n ?? 0) + 1));
        await store.update(s.id, (cur) => cur && { ...cur, payload: cur.payload.replace('"n":1', '"n":0') });
        return c.text(String(v));
      });
      const jar = new CookieJar(a);
      await jar.fetch("/init");
      const res = await jar.fetch("/divide");
      assert.equal(res.status, 500);
      assert.ok(seen instanceof SessionDataError && /NaN/.test(seen.message), String(seen));
      assert.deepEqual(setCookies(res), []);
      assert.equal(await jar.text("/read"), "0", "the failed request committed nothing: the other writer's 0 stands");
      const stored = await store.get(tokenOf(jar).split(".")[0]!);
      assert.doesNotMatch(stored!.payload, /divided|null/);
    } finally {
      done();
    }
  });
}

/** An AsyncStore whose next `set` first lets `meanwhile` run. */
class Interleaving extends AsyncStore {
  meanwhile: (() => void) | undefined;
  override async set(id: string, s: StoredSession) {
    const run = this.meanwhile;
    this.meanwhile = undefined;
    run?.();
    return this.inner.set(id, s);
  }
}

test("Session.regenerate() on an asynchronous store: an update refused over a concurrent write keeps the old session", async () => {
  const clock = new FakeClock();
  const inner = new MemoryStore({ clock: clock.fn });
  const store = new Interleaving(inner);
  const a = new Hono<SessionEnv<{ n: number }>>();
  // preload: the routes below use the session synchronously on an asynchronous store.
  a.use(session({ secret: SECRET, store, clock: clock.fn, serializer: jsonSerializer, preload: true }));
  let seen: unknown;
  a.onError((e, c) => ((seen = e), c.text("error", 500)));
  a.get("/init", (c) => (c.get("session").set("n", 1), c.text("ok")));
  a.get("/read", (c) => c.text(JSON.stringify(c.get("session").get("n") ?? "none")));
  a.get("/login", (c) => {
    const s = c.get("session");
    const id = s.id;
    s.regenerate();
    s.update("n", (n) => (n === 0 ? NaN : (n ?? 0) + 1));
    // Another request writes n = 0 to the old row while this commit writes the new one.
    store.meanwhile = () => {
      const cur = inner.get(id)!;
      inner.set(id, { ...cur, payload: cur.payload.replace('"n":1', '"n":0') });
    };
    return c.text("ok");
  });
  const jar = new CookieJar(a);
  await jar.fetch("/init");
  const res = await jar.fetch("/login");
  assert.equal(res.status, 500);
  assert.ok(seen instanceof SessionDataError && /NaN/.test(seen.message), String(seen));
  assert.deepEqual(setCookies(res), []);
  assert.equal(inner.size, 1, "no new row outlives the failed login");
  assert.equal(await jar.text("/read"), "0", "the old session, with the other writer's value, is intact");
});

test("Session.destroyUserSessions({ keepCurrent: true }) reports status 'renewed'", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const { app } = securityApp(store, { clock: clock.fn });
  let status: string | undefined;
  app.get("/renew", async (c) => {
    const s = c.get("session");
    await s.destroyUserSessions(s.userId, { keepCurrent: true });
    status = s.status;
    return c.text(s.status);
  });
  const jar = new CookieJar(app);
  await jar.fetch("/login/alice");
  const before = tokenOf(jar);
  await jar.fetch("/renew");
  assert.equal(status, "renewed");
  assert.notEqual(tokenOf(jar), before, "it lives on under a new id");
  assert.equal(await jar.text("/whoami"), "alice");
});
