/**
 * "Remember me" (setExpires), the devices page (userSessions,
 * destroyUserSession) and flash until read, through real Hono apps on every
 * store that can list a user's sessions.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { MemoryStore, session, type SessionEnv, type SessionOptions, SqliteStore } from "../mod.ts";
import { NullStore } from "../src/store/null.ts";
import type { SessionStore } from "../src/store/contract.ts";
import { CookieJar, FakeClock, parseSetCookie, SECRET, setCookies, tempDir } from "./helpers.ts";

type Data = { user: string; device: string; count: number };

function app(store: SessionStore, clock: FakeClock, extra: Partial<SessionOptions> = {}) {
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store, clock: clock.fn, ...extra }));
  a.get("/login/:device", (c) => {
    const s = c.get("session");
    s.regenerate();
    s.setUser("alice");
    s.set("user", "alice");
    s.set("device", c.req.param("device"));
    if (c.req.query("remember") === "1") s.setExpires(30 * 24 * 3600);
    return c.text("ok");
  });
  a.get("/login-as/:user", (c) => {
    const s = c.get("session");
    s.regenerate();
    s.setUser(c.req.param("user"));
    return c.text("ok");
  });
  a.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "nobody"));
  a.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
  a.get("/devices", async (c) => c.json(await c.get("session").userSessions()));
  a.post(
    "/devices/:handle/signout",
    async (c) => c.json(await c.get("session").destroyUserSession(c.req.param("handle"))),
  );
  return a;
}

const tokenCookie = (res: Response) => setCookies(res).map(parseSetCookie).find((c) => c.name === "sid");

const stores: [string, (clock: FakeClock) => { store: SessionStore; cleanup: () => void }][] = [
  ["MemoryStore", (clock) => ({ store: new MemoryStore({ clock: clock.fn }), cleanup: () => {} })],
  ["SqliteStore", (clock) => {
    const tmp = tempDir();
    const store = new SqliteStore({ path: tmp.file("s.sqlite"), clock: clock.fn });
    return { store, cleanup: () => (store.close(), tmp.cleanup()) };
  }],
];

for (const [name, make] of stores) {
  test(`Session.setExpires() gives one session its own lifetime and a persistent cookie (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      // No absolute timeout here: the default (30 days) would cap the refreshes below (secure-defaults.test.ts).
      const a = app(store, clock, { absoluteTimeout: false });
      const remembered = new CookieJar(a);
      const plain = new CookieJar(a);
      const res = await remembered.fetch("/login/laptop?remember=1");
      assert.equal(tokenCookie(res)?.attrs["max-age"], String(30 * 24 * 3600));
      const plainRes = await plain.fetch("/login/phone");
      assert.equal(
        tokenCookie(plainRes)?.attrs["max-age"],
        undefined,
        "the app's default stays a browser-session cookie",
      );
      clock.advance(2 * 3600); // past the app's one-hour idle expiry
      assert.equal(await plain.text("/whoami"), "nobody");
      assert.equal(await remembered.text("/whoami"), "alice", "the remembered session keeps its own lifetime");
      // Its refreshes follow its own lifetime, and resend the persistent cookie.
      clock.advance(10 * 24 * 3600);
      const refreshed = await remembered.fetch("/whoami");
      assert.equal(tokenCookie(refreshed)?.attrs["max-age"], String(30 * 24 * 3600));
      clock.advance(29 * 24 * 3600);
      assert.equal(await remembered.text("/whoami"), "alice");
    } finally {
      cleanup();
    }
  });

  test(`Session.setExpires() is still capped by absoluteTimeout (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const jar = new CookieJar(app(store, clock, { absoluteTimeout: 7 * 24 * 3600 }));
      const res = await jar.fetch("/login/laptop?remember=1");
      assert.equal(tokenCookie(res)?.attrs["max-age"], String(7 * 24 * 3600));
      clock.advance(7 * 24 * 3600 + 1);
      assert.equal(await jar.text("/whoami"), "nobody");
    } finally {
      cleanup();
    }
  });

  test(`Session.userSessions() lists the user's sessions with opaque handles, data and the current one (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const a = app(store, clock);
      const laptop = new CookieJar(a);
      const phone = new CookieJar(a);
      const bob = new CookieJar(a);
      await laptop.fetch("/login/laptop");
      clock.advance(5);
      await phone.fetch("/login/phone");
      await bob.fetch("/login-as/bob");
      const list = (await (await laptop.fetch("/devices")).json()) as {
        handle: string;
        current: boolean;
        data: Data;
        createdAt: number;
        expiresAt: number;
      }[];
      assert.deepEqual(list.map((s) => [s.data.device, s.current]), [["laptop", true], ["phone", false]]);
      const tokens = [...laptop.cookies.values(), ...phone.cookies.values()].join(" ");
      for (const s of list) {
        assert.match(s.handle, /^[A-Za-z0-9_-]{22}$/);
        assert.ok(!tokens.includes(s.handle), "a handle is neither an id nor a token");
        assert.ok(s.expiresAt > s.createdAt);
      }
      assert.equal(list[0]!.createdAt, clock.now - 5000);
    } finally {
      cleanup();
    }
  });

  test(`Session.destroyUserSession() signs out one other device, and never another user's (${name})`, async () => {
    const clock = new FakeClock();
    const { store, cleanup } = make(clock);
    try {
      const a = app(store, clock);
      const laptop = new CookieJar(a);
      const phone = new CookieJar(a);
      const bob = new CookieJar(a);
      await laptop.fetch("/login/laptop");
      await phone.fetch("/login/phone");
      await bob.fetch("/login-as/bob");
      const bobsHandle = ((await (await bob.fetch("/devices")).json()) as { handle: string }[])[0]!.handle;
      const list = (await (await laptop.fetch("/devices")).json()) as { handle: string; current: boolean }[];
      const phoneHandle = list.find((s) => !s.current)!.handle;
      // Another user's handle, and junk, end nothing and never answer 500.
      for (const h of [bobsHandle, "junk", "x".repeat(5000)]) {
        const res = await laptop.fetch(`/devices/${h}/signout`, { method: "POST" });
        assert.equal(res.status, 200);
        assert.equal(await res.json(), false);
      }
      assert.equal(await bob.text("/whoami"), "nobody", "bob has no user data, but his session lives");
      assert.equal(((await (await bob.fetch("/devices")).json()) as unknown[]).length, 1);
      const res = await laptop.fetch(`/devices/${phoneHandle}/signout`, { method: "POST" });
      assert.equal(await res.json(), true);
      assert.equal(await phone.text("/whoami"), "nobody");
      assert.equal(await laptop.text("/whoami"), "alice");
      assert.equal(await (await laptop.fetch(`/devices/${phoneHandle}/signout`, { method: "POST" })).json(), false);
    } finally {
      cleanup();
    }
  });
}

test("Session.userSessions() on a store that cannot list says so with a clear error", async () => {
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store: new NullStore() }));
  a.get("/devices", async (c) => c.json(await c.get("session").userSessions()));
  let seen: unknown;
  a.onError((e, c) => ((seen = e), c.text("error", 500)));
  await a.request("http://localhost/devices");
  assert.ok(seen instanceof TypeError && /cannot list/.test(seen.message));
});

test("Session.setExpires() of 400 days, the most browsers keep, sends Max-Age of 400 days without an absolute timeout", async () => {
  const clock = new FakeClock();
  const a = new Hono<SessionEnv<Data>>();
  const store = new MemoryStore({ clock: clock.fn });
  a.use(session({ secret: SECRET, store, clock: clock.fn, absoluteTimeout: false }));
  a.get("/forever", (c) => (c.get("session").setExpires(400 * 24 * 3600), c.text("ok")));
  const res = await a.request("http://localhost/forever");
  assert.equal(tokenCookie(res)?.attrs["max-age"], String(400 * 24 * 3600));
});
