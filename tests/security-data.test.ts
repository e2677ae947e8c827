/**
 * Hostile and oversized data, "sign out everywhere" and store outages, on
 * every store this runtime can run, through a real Hono app.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { Hono } from "hono";
import superjson from "superjson";
import {
  jsonSerializer,
  MemoryStore,
  session,
  SessionDataError,
  type SessionEnv,
  SessionTooLargeError,
  SqliteStore,
  StoreUnavailableError,
} from "../mod.ts";
import { MAX_DEPTH } from "../src/value-guard.ts";
import { decodePayload } from "../src/session/payload.ts";
import type { Serializer } from "../src/serializer.ts";
import type { SessionStore } from "../src/store/types.ts";
import { CookieJar, FakeClock, parseSetCookie, SECRET, setCookies, tempDir } from "./helpers.ts";
import { securityApp, SpyStore, STORES, tokenOf, withStore } from "./security-helpers.ts";

const idOf = (jar: CookieJar) => tokenOf(jar).split(".")[0]!;

for (const kind of STORES) {
  test(`session() on ${kind.name}: an oversize write answers SessionTooLargeError and leaves the stored session intact`, () =>
    withStore(kind, async (store, clock) => {
      const spy = new SpyStore(store);
      const { app, errors } = securityApp(spy, { clock: clock.fn, maxPayloadBytes: 64 * 1024 });
      const jar = new CookieJar(app);
      await jar.fetch("/login/alice");
      await jar.fetch("/blob/1000");
      const before = (await store.get(idOf(jar)))!.payload;

      const res = await jar.fetch("/blob/100000");
      assert.equal(res.status, 500);
      assert.match(await res.text(), /Cannot store session: its payload is \d+ bytes, over the limit of 65536 bytes/);
      const err = errors.at(-1);
      assert.ok(err instanceof SessionTooLargeError);
      assert.ok(err.size > 100_000);
      assert.equal(err.limit, 64 * 1024);
      assert.equal((await store.get(idOf(jar)))!.payload, before, "the stored session changed");
      assert.equal(await jar.text("/whoami"), "alice");

      // Same through regenerate(): the old id keeps its data, no new row appears.
      assert.equal((await jar.fetch("/regenerate-blob/100000")).status, 500);
      assert.equal((await store.get(idOf(jar)))!.payload, before);

      // And for a brand-new session: nothing is written, no cookie is sent.
      const writes = spy.calls.filter((c) => c.method === "set").length;
      const fresh = new CookieJar(app);
      const r = await fresh.fetch("/blob/100000");
      assert.equal(r.status, 500);
      assert.deepEqual(setCookies(r), []);
      assert.equal(spy.calls.filter((c) => c.method === "set").length, writes);
    }));

  test(`Session.destroyUserSessions() on ${kind.name} signs a user out everywhere and no one else`, () =>
    withStore(kind, async (store, clock) => {
      const { app } = securityApp(store, { clock: clock.fn });
      const alice = [new CookieJar(app), new CookieJar(app), new CookieJar(app)];
      for (const jar of alice) await jar.fetch("/login/alice");
      const bob = new CookieJar(app);
      await bob.fetch("/login/bob");
      const tokens = alice.map((j) => tokenOf(j));

      const res = await alice[0]!.fetch("/everywhere");
      assert.equal(await res.text(), "3");
      assert.equal(parseSetCookie(setCookies(res)[0]!).attrs["max-age"], "0", "this device is signed out too");
      for (const token of tokens) {
        const replay = new CookieJar(app);
        replay.cookies.set("sid", token);
        assert.equal(await replay.text("/whoami"), "anonymous");
      }
      assert.equal(await bob.text("/whoami"), "bob");
    }));

  test(`Session.destroyUserSessions({ keepCurrent }) on ${kind.name} keeps this device signed in under a new id`, () =>
    withStore(kind, async (store, clock) => {
      const { app } = securityApp(store, { clock: clock.fn });
      const here = new CookieJar(app);
      const there = new CookieJar(app);
      await here.fetch("/login/alice");
      await there.fetch("/login/alice");
      const before = tokenOf(here);
      assert.equal(await here.text("/everywhere-but-here"), "2");
      assert.notEqual(tokenOf(here), before);
      assert.equal(await here.text("/whoami"), "alice");
      assert.equal(await here.text("/secret"), "secret of alice");
      assert.equal(await there.text("/whoami"), "anonymous");
      const replay = new CookieJar(app);
      replay.cookies.set("sid", before);
      assert.equal(await replay.text("/whoami"), "anonymous");
      // The kept session is still indexed under its user: a later sign-out reaches it.
      assert.equal(await here.text("/everywhere"), "1");
      assert.equal(await here.text("/whoami"), "anonymous");
    }));
}

test("Session.destroyUserSessions() refuses a store without deleteByUser and a session without a user", async () => {
  const inner = new MemoryStore();
  const noIndex: SessionStore = {
    get: (id) => inner.get(id),
    set: (id, s) => inner.set(id, s),
    delete: (id) => inner.delete(id),
    update: (id, fn) => inner.update(id, fn),
  };
  const { app, errors } = securityApp(noIndex);
  const jar = new CookieJar(app);
  await jar.fetch("/login/alice");
  assert.equal((await jar.fetch("/everywhere")).status, 500);
  assert.match(errors.at(-1)!.message, /Cannot end the user's sessions: the store has no deleteByUser/);
  assert.equal(await jar.text("/whoami"), "alice", "nothing was ended");

  const second = securityApp(new MemoryStore());
  assert.equal((await new CookieJar(second.app).fetch("/everywhere")).status, 500);
  assert.match(second.errors.at(-1)!.message, /no user given and this session has none; call session.setUser\(id\)/);
});

test("Session.setUser() refuses ids that are not non-empty strings", async () => {
  const app = new Hono<SessionEnv>();
  const seen: string[] = [];
  app.use(session({ secret: SECRET, store: new MemoryStore() }));
  app.get("/", (c) => {
    for (const bad of [42, "", undefined, {}]) {
      try {
        c.get("session").setUser(bad as never);
      } catch (e) {
        seen.push((e as Error).name);
      }
    }
    return c.text("ok");
  });
  await app.request("http://localhost/");
  assert.deepEqual(seen, ["TypeError", "TypeError", "TypeError", "TypeError"]);
});

/** An app whose /put route stores what the test hands it, reporting the error name it meets. */
function valueApp(store: SessionStore, serializer?: Serializer) {
  const app = new Hono<SessionEnv<Record<string, unknown>>>();
  const errors: Error[] = [];
  let next: (s: SessionEnv<Record<string, unknown>>["Variables"]["session"]) => void = () => {};
  app.use(session({ secret: SECRET, store, ...(serializer ? { serializer } : {}) }));
  app.get("/put", (c) => {
    try {
      next(c.get("session"));
    } catch (e) {
      errors.push(e as Error);
      return c.text((e as Error).name, 400);
    }
    return c.text("ok");
  });
  app.get("/get/:k", (c) => c.text(JSON.stringify(c.get("session").get(c.req.param("k")) ?? null)));
  app.onError((err, c) => (errors.push(err), c.text(err.name, 500)));
  return { app, errors, put: (fn: typeof next) => void (next = fn) };
}

test("Session.set() refuses prototype keys at any depth, and nothing reaches Object.prototype", async () => {
  const store = new MemoryStore();
  const { app, errors, put } = valueApp(store);
  const jar = new CookieJar(app);
  put((s) => s.set("safe", 1));
  await jar.fetch("/put");
  const attempts: ((s: Parameters<Parameters<typeof put>[0]>[0]) => void)[] = [
    (s) => s.set("__proto__", { polluted: 1 }),
    (s) => s.set("constructor", { prototype: { polluted: 1 } }),
    (s) => s.set("prototype", 1),
    (s) => s.set("a", JSON.parse('{"__proto__": {"polluted": 1}}')),
    (s) => s.set("a", { deep: [{ constructor: { prototype: { polluted: 1 } } }] }),
    (s) => s.set("a", new Map([["__proto__", 1]]) as never), /* a Map key is data, but see below */
    (s) => s.update("__proto__", () => 1),
    (s) => s.update("a", () => JSON.parse('{"x":{"__proto__":1}}')),
    (s) => s.flash("__proto__", 1),
    (s) => s.flash("note", JSON.parse('{"__proto__": 1}')),
    (s) => s.delete("__proto__"),
  ];
  let refused = 0;
  for (const attempt of attempts) {
    put(attempt);
    const res = await jar.fetch("/put");
    if (res.status === 400) refused++;
  }
  // All but the Map (its keys are not properties: they cannot reach a prototype) are refused.
  assert.equal(refused, attempts.length - 1);
  assert.ok(errors.every((e) => e instanceof SessionDataError), errors.map((e) => e.name).join());
  assert.match(errors[3]!.message, /Cannot store session value at "a"\.__proto__: the key is reserved/);
  assert.match(errors[4]!.message, /at "a"\.deep\[0\]\.constructor/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted"), false);
  assert.equal(await jar.text("/get/safe"), "1");
});

test("Session.set() refuses values nested deeper than MAX_DEPTH, circular, or holding functions or symbols", async () => {
  const store = new MemoryStore();
  const { app, errors, put } = valueApp(store);
  const jar = new CookieJar(app);
  const nest = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = i % 2 ? { a: v } : [v];
    return v;
  };
  put((s) => s.set("ok", nest(MAX_DEPTH)));
  assert.equal(await jar.text("/put"), "ok");
  const stored = store.get(tokenOf(jar).split(".")[0]!)!.payload;

  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const bad: [unknown, RegExp][] = [
    [nest(MAX_DEPTH + 1), /nested more than 64 levels deep/],
    [nest(100_000), /nested more than 64 levels deep/],
    [cyclic, /at "v"\.self: it holds a circular reference/],
    [{ f: () => 1 }, /at "v"\.f: functions cannot be stored/],
    [[1, Symbol("s")], /at "v"\[1\]: symbols cannot be stored/],
    [new Map([["k", () => 1]]), /functions cannot be stored/],
    [new Set([cyclic]), /circular reference/],
  ];
  for (const [value, message] of bad) {
    put((s) => s.set("v", value as never));
    const res = await jar.fetch("/put");
    assert.equal(res.status, 400);
    assert.ok(errors.at(-1) instanceof SessionDataError);
    assert.match(errors.at(-1)!.message, message);
  }
  assert.equal(store.get(tokenOf(jar).split(".")[0]!)!.payload, stored, "a refused value changed the store");
  // Shared (not circular) references are walked once, but written out at every use: a small
  // graph that would serialize to 2^40 values is refused at once instead of exhausting memory.
  let diamond: unknown = 1;
  for (let i = 0; i < 40; i++) diamond = { l: diamond, r: diamond };
  put((s) => s.set("dag", diamond as never));
  assert.equal((await jar.fetch("/put")).status, 400);
  assert.match(errors.at(-1)!.message, /holds more than 1048576 values once written out/);
  // One that stays small once written out is accepted.
  let small: unknown = 1;
  for (let i = 0; i < 8; i++) small = { l: small, r: small };
  put((s) => s.set("dag", small as never));
  assert.equal(await jar.text("/put"), "ok");
});

for (const serializer of [undefined, jsonSerializer]) {
  test(
    `Session.set(), update() and flash() refuse an array with properties besides its items (${
      serializer ? "jsonSerializer" : "superjsonSerializer"
    }), and the stored session keeps its value`,
    async () => {
      const store = new MemoryStore();
      const { app, errors, put } = valueApp(store, serializer);
      const jar = new CookieJar(app);
      put((s) => s.set("m", ["2024"]));
      assert.equal(await jar.text("/put"), "ok");
      const match = "2024-05".match(/(?<year>\d+)-(?<month>\d+)/)!;
      const tagged = Object.assign(["a"], { note: "kept?" });
      const writes: ((s: Parameters<Parameters<typeof put>[0]>[0]) => void)[] = [
        (s) => s.set("m", match as never),
        (s) => s.update("m", () => ({ list: tagged }) as never),
        (s) => s.flash("m", [match] as never),
      ];
      for (const write of writes) {
        put(write);
        assert.equal((await jar.fetch("/put")).status, 400);
        assert.ok(errors.at(-1) instanceof SessionDataError);
        assert.match(errors.at(-1)!.message, /the array has a property "(index|note)" besides its items/);
      }
      assert.equal(await jar.text("/get/m"), JSON.stringify(["2024"]));
    },
  );
}

test("session() commit turns a serializer failure into SessionDataError and writes nothing", async () => {
  const store = new MemoryStore();
  const { app, errors, put } = valueApp(store, jsonSerializer);
  const jar = new CookieJar(app);
  put((s) => s.set("a", 1));
  await jar.fetch("/put");
  const stored = store.get(tokenOf(jar).split(".")[0]!)!.payload;
  put((s) => s.set("big", 10n as never)); // JSON cannot write a BigInt: refused by set() already
  const res = await jar.fetch("/put");
  assert.equal(res.status, 400);
  assert.ok(errors.at(-1) instanceof SessionDataError);
  assert.match(errors.at(-1)!.message, /BigInt/);
  assert.equal(store.get(tokenOf(jar).split(".")[0]!)!.payload, stored);
  // A value mutated into a cycle after set() is caught at commit too.
  put((s) => {
    const v: Record<string, unknown> = {};
    s.set("later", v);
    v.self = v;
  });
  assert.equal((await jar.fetch("/put")).status, 500);
  assert.ok(errors.at(-1) instanceof SessionDataError);
  assert.equal(store.get(tokenOf(jar).split(".")[0]!)!.payload, stored);
});

test("decodePayload() keeps a crafted stored payload away from every prototype", () => {
  const payloads = [
    '{"json":{"d":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"user":"x"},"f":{"__proto__":{"polluted":1},"toString":"flash"}}}',
    '{"json":{"d":{"a":"2020-01-01T00:00:00.000Z"}},"meta":{"values":{"d.__proto__.polluted":["Date"]}}}',
    '{"json":{"d":{"a":{}}},"meta":{"values":{"d.constructor.prototype.polluted":["Date"]}}}',
    '{"json":{"d":{"a":{"polluted":1}}},"meta":{"referentialEqualities":{"d.a":["d.__proto__"]}}}',
    '{"json":{"d":{"a":1}},"meta":{"values":{"d.a":"nope"}}}',
    '{"json":{"d":[1,2]}}',
    '{"json":"d"}',
    "not json",
  ];
  for (const p of payloads) {
    const decoded = decodePayload({ stringify: superjson.stringify, parse: superjson.parse }, p);
    if (decoded !== null) {
      assert.equal(decoded.data.has("__proto__"), false);
      assert.equal(decoded.data.has("constructor"), false);
      if (decoded.flash) {
        assert.equal(Object.getPrototypeOf(decoded.flash), null);
        assert.equal(Object.keys(decoded.flash).includes("__proto__"), false);
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, p);
  }
  const json = decodePayload(
    jsonSerializer,
    '{"d":{"__proto__":{"polluted":1},"ok":1},"f":{"__proto__":{"polluted":1}}}',
  )!;
  assert.deepEqual([...json.data.keys()], ["ok"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("session() loads a crafted stored payload without pollution; flash() never answers inherited members", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const app = new Hono<SessionEnv<Record<string, unknown>>>();
  const reasons: string[] = [];
  app.use(session({ secret: SECRET, store, clock: clock.fn, onInvalidToken: (_c, r) => void reasons.push(r) }));
  app.get("/set", (c) => (c.get("session").set("n", 1), c.text("ok")));
  app.get("/look", (c) => {
    const s = c.get("session");
    return c.text(
      JSON.stringify({
        keys: s.keys(),
        toString: typeof s.flash("toString"),
        hasOwn: typeof s.flash("hasOwnProperty"),
        note: s.flash("note") ?? null,
      }),
    );
  });
  const jar = new CookieJar(app);
  await jar.fetch("/set");
  const id = tokenOf(jar).split(".")[0]!;
  const row = store.get(id)!;
  store.set(id, {
    ...row,
    payload: '{"json":{"d":{"__proto__":{"polluted":1},"n":2},"f":{"__proto__":{"polluted":1},"note":"hi"}}}',
  });
  assert.equal(await jar.text("/look"), '{"keys":["n"],"toString":"undefined","hasOwn":"undefined","note":"hi"}');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // A payload superjson refuses is "corrupt": a fresh session, no error.
  store.set(id, { ...row, payload: '{"json":{"d":{}},"meta":{"values":{"d.__proto__.x":["Date"]}}}' });
  const res = await jar.fetch("/look");
  assert.equal(res.status, 200);
  assert.deepEqual(reasons, ["corrupt"]);
});

test("session() answers 503 StoreUnavailableError through Hono when the SQLite store is closed or its file deleted", async () => {
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => void rejections.push(e);
  process.on("unhandledRejection", onRejection);
  const tmp = tempDir("satchel-outage-");
  try {
    for (const breakIt of ["close", "delete"] as const) {
      const store = new SqliteStore({ path: tmp.file(`${breakIt}.sqlite`) });
      const { app, errors } = securityApp(store);
      const jar = new CookieJar(app);
      await jar.fetch("/login/alice");
      const token = tokenOf(jar);
      if (breakIt === "close") store.close();
      else tmp.cleanup();
      const res = await jar.fetch("/inc");
      assert.equal(res.status, 503, breakIt);
      assert.ok(errors.at(-1) instanceof StoreUnavailableError, breakIt);
      assert.match(
        errors.at(-1)!.message,
        breakIt === "close" ? /it was closed/ : /was deleted while open; restore it or restart the process/,
      );
      assert.equal(tokenOf(jar), token, "a failed write must not hand out a new token");
      // Without an onError of the app's own, Hono's default handler answers the same 503.
      const bare = new Hono<SessionEnv>();
      bare.use(session({ secret: SECRET, store }));
      bare.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => ((n as number) ?? 0) + 1))));
      const plain = await bare.request("http://localhost/inc", { headers: { cookie: `sid=${token}` } });
      assert.equal(plain.status, 503);
      store.close();
    }
    // A lateStore commit that fails goes to onLateStoreError, never to an unhandled rejection.
    const store = new SqliteStore({ path: ":memory:" });
    const late: unknown[] = [];
    const app = new Hono<SessionEnv>();
    app.use(session({ secret: SECRET, store, onLateStoreError: (e) => void late.push(e) }));
    app.get("/late", (c) => {
      c.get("session").options.lateStore = true;
      c.get("session").set("x", 1);
      return c.text("ok");
    });
    store.close();
    assert.equal((await app.request("http://localhost/late")).status, 200);
    for (let i = 0; i < 200 && late.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(late.length, 1);
    assert.ok(late[0] instanceof StoreUnavailableError);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(rejections, []);
  } finally {
    process.off("unhandledRejection", onRejection);
    tmp.cleanup();
  }
});
