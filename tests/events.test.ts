/**
 * `onEvent`: the sessions' lifecycle events (issue 22 §3), after the commit,
 * with handles and never ids, from a listener that can never fail a request.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { StoreUnavailableError } from "../src/errors.ts";
import { session, type SessionEnv, type SessionEvent, type SessionOptions } from "../src/middleware.ts";
import { MemoryStore } from "../src/store/memory.ts";
import type { StoredSession } from "../src/store/types.ts";
import { CookieJar, FakeClock, rejectionsDuring, SECRET } from "./helpers.ts";

type Data = { user: string };

function app(store: MemoryStore, clock: FakeClock, heard: SessionEvent[], extra: Partial<SessionOptions> = {}) {
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store, clock: clock.fn, onEvent: (e) => void heard.push(e), ...extra }));
  a.get("/visit", (c) => (c.get("session").set("user", "anonymous"), c.text("ok")));
  a.get("/login/:user", (c) => {
    const s = c.get("session");
    s.regenerate();
    s.setUser(c.req.param("user"));
    s.set("user", c.req.param("user"));
    return c.text("ok");
  });
  a.get("/logout", (c) => (c.get("session").destroy(), c.text("bye")));
  a.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "nobody"));
  a.get("/devices", async (c) => c.json(await c.get("session").userSessions()));
  a.post("/devices/:handle/signout", async (c) => {
    return c.json(await c.get("session").destroyUserSession(c.req.param("handle")));
  });
  a.post("/password", async (c) => {
    const s = c.get("session");
    return c.json(await s.destroyUserSessions(s.userId, { keepCurrent: true }));
  });
  return a;
}

const handles = async (
  jar: CookieJar,
) => ((await (await jar.fetch("/devices")).json()) as { handle: string; current: boolean }[]);

test("session({ onEvent }) hears created, regenerated and destroyed with handles, users and reasons", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const heard: SessionEvent[] = [];
  const jar = new CookieJar(app(store, clock, heard));
  await jar.fetch("/visit");
  assert.deepEqual(heard.map((e) => e.type), ["created"]);
  await jar.fetch("/login/alice");
  const [current] = await handles(jar);
  assert.deepEqual(heard[1], {
    type: "regenerated",
    handle: current!.handle,
    previousHandle: (heard[0] as { handle: string }).handle,
    userId: "alice",
    reason: "regenerate",
  });
  await jar.fetch("/whoami");
  assert.equal(heard.length, 2, "a read is no event");
  await jar.fetch("/logout");
  assert.deepEqual(heard[2], { type: "destroyed", handle: current!.handle, userId: "alice", reason: "destroy" });
  assert.equal(heard.length, 3);
});

test("session({ onEvent }) is called after the commit, and never carries a session id or token", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const sizes: number[] = [];
  const heard: SessionEvent[] = [];
  const jar = new CookieJar(app(store, clock, heard, { onEvent: (e) => void (heard.push(e), sizes.push(store.size)) }));
  await jar.fetch("/login/alice");
  assert.deepEqual(sizes, [1], "the session was stored when the listener heard of it");
  const token = jar.cookies.get("sid")!;
  const id = token.split(".")[0]!;
  await jar.fetch("/logout");
  assert.deepEqual(sizes, [1, 0]);
  for (const e of heard) assert.ok(!JSON.stringify(e).includes(id), e.type);
});

test("session({ onEvent }) hears refused tokens, and a session past its absolute timeout as expired", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const heard: SessionEvent[] = [];
  const a = app(store, clock, heard, { absoluteTimeout: 3600, expires: 3600 });
  const forged = await a.request("http://localhost/whoami", { headers: { cookie: `sid=${"A".repeat(32)}.forged` } });
  assert.equal(await forged.text(), "nobody");
  assert.deepEqual(heard, [{ type: "invalid-token", handle: null, userId: null, reason: "malformed" }]);
  // A session stored before the absolute timeout was configured (say, before an upgrade brought the default):
  // its row lives on in the store, and the middleware ends it on arrival.
  const before = new CookieJar(app(store, clock, [], { absoluteTimeout: false, expires: 7200 }));
  await before.fetch("/login/alice");
  const [current] = await handles(before);
  clock.advance(3601);
  const jar = new CookieJar(a);
  jar.cookies = new Map(before.cookies);
  const stale = jar.header();
  heard.length = 0;
  assert.equal(await jar.text("/whoami"), "nobody");
  assert.deepEqual(heard, [{ type: "expired", handle: current!.handle, userId: "alice", reason: "absolute-timeout" }]);
  heard.length = 0;
  // The same token again: the row is gone, so the id is unknown.
  await a.request("http://localhost/whoami", { headers: { cookie: stale } });
  assert.deepEqual(heard, [{ type: "invalid-token", handle: current!.handle, userId: null, reason: "unknown" }]);
});

test("session({ onEvent }) hears user-sessions-ended and a device signed out from another", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const heard: SessionEvent[] = [];
  const a = app(store, clock, heard);
  const laptop = new CookieJar(a);
  const phone = new CookieJar(a);
  const tablet = new CookieJar(a);
  await laptop.fetch("/login/alice");
  await phone.fetch("/login/alice");
  await tablet.fetch("/login/alice");
  const list = await handles(laptop);
  const phoneHandle = list.find((s) => !s.current)!.handle;
  heard.length = 0;
  assert.equal(await (await laptop.fetch(`/devices/${phoneHandle}/signout`, { method: "POST" })).json(), true);
  assert.deepEqual(heard, [
    { type: "destroyed", handle: phoneHandle, userId: "alice", reason: "destroy-user-session" },
  ]);
  heard.length = 0;
  const laptopHandle = list.find((s) => s.current)!.handle;
  assert.equal(await (await laptop.fetch("/password", { method: "POST" })).json(), 2);
  const [kept] = await handles(laptop);
  assert.deepEqual(heard, [
    { type: "user-sessions-ended", handle: laptopHandle, userId: "alice", count: 2, reason: "keep-current" },
    {
      type: "regenerated",
      handle: kept!.handle,
      previousHandle: laptopHandle,
      userId: "alice",
      reason: "keep-current",
    },
  ]);
});

test("session({ onEvent }): a listener that throws or rejects never fails the request, and is reported", async () => {
  for (const how of ["throw", "reject"] as const) {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock: clock.fn });
    const logged: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.join(" "));
    try {
      const rejections = await rejectionsDuring(async () => {
        const a = app(store, clock, [], {
          onEvent: () => {
            if (how === "throw") throw new Error("listener bug");
            return Promise.reject(new Error("listener bug"));
          },
        });
        const jar = new CookieJar(a);
        const res = await jar.fetch("/login/alice");
        assert.equal(res.status, 200, how);
        assert.equal(await jar.text("/whoami"), "alice", how);
      });
      assert.deepEqual(rejections, [], how);
      assert.deepEqual(logged, ["satchel: onEvent failed: Error: listener bug"], how);
    } finally {
      console.error = original;
    }
  }
});

test("session({ onEvent }) tells nothing of a commit that failed, but still what happened before it", async () => {
  class Down extends MemoryStore {
    down = false;
    override set(id: string, s: StoredSession): void {
      if (this.down) throw new StoreUnavailableError("Cannot reach the store: it is down (test)");
      super.set(id, s);
    }
  }
  const clock = new FakeClock();
  const store = new Down({ clock: clock.fn });
  const heard: SessionEvent[] = [];
  const a = app(store, clock, heard);
  store.down = true;
  const res = await a.request("http://localhost/login/alice", { headers: { cookie: "sid=junk" } });
  assert.equal(res.status, 503);
  assert.deepEqual(heard.map((e) => e.type), ["invalid-token"], "no created: nothing was stored");
});

test("session() refuses an onEvent that is not a function, at setup", () => {
  assert.throws(() => session({ secret: SECRET, store: new MemoryStore(), onEvent: "log" as never }), {
    name: "TypeError",
    message: "Cannot create session middleware: onEvent must be a function (event, c) => void",
  });
});
