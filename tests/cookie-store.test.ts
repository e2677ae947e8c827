/**
 * CookieStore: the conformance suite run through real requests (each store
 * call is one app.request(), the data cookie carried by a CookieJar), and the
 * middleware end to end: tamper, wrong key, rotated key, expiry, oversize,
 * and a data cookie moved onto another session id.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { Sealer } from "../src/crypto/seal.ts";
import { SessionTooLargeError } from "../src/errors.ts";
import { generateId } from "../src/id.ts";
import { type InvalidTokenReason, session, type SessionEnv } from "../src/middleware.ts";
import {
  type CookieRequestStore,
  CookieStore,
  type CookieStoreOptions,
  MAX_COOKIE_BYTES,
} from "../src/store/cookie.ts";
import {
  hasGroupCommit,
  isSynchronousStore,
  type SessionStore,
  type StoredSession,
  type UpdateFn,
} from "../src/store/types.ts";
import { CookieState } from "../src/state/cookie.ts";
import { CookieJar, FakeClock, parseSetCookie, SECRET, setCookies } from "./helpers.ts";
import { storeConformance } from "./store-conformance.ts";

const KEY_A = "cookie-store-key-A-cookie-store-key-A-0123456789";
const KEY_B = "cookie-store-key-B-cookie-store-key-B-0123456789";
const encoder = new TextEncoder();
const DATA = "satchel-data.0";
/** The data cookies' Set-Cookie lines of a response. */
const dataLines = (res: Response) => setCookies(res).filter((l) => l.startsWith("satchel-data."));

/**
 * A SessionStore whose every call is one real request: the handler runs the
 * call on `store.forRequest(c)`, and a CookieJar carries the data cookie to
 * the next call, as a browser would.
 */
function throughRequests(store: CookieStore): SessionStore {
  const app = new Hono();
  const ops = new Map<string, (view: SessionStore) => unknown>();
  const results = new Map<string, { ok: true; value: unknown } | { ok: false; error: unknown }>();
  app.get("/op/:n", async (c) => {
    const n = c.req.param("n");
    try {
      results.set(n, { ok: true, value: await ops.get(n)!(store.forRequest(c)) });
    } catch (error) {
      results.set(n, { ok: false, error });
    }
    return c.text("ok");
  });
  const jar = new CookieJar(app);
  let counter = 0;
  async function run<R>(op: (view: SessionStore) => R | Promise<R>): Promise<R> {
    const n = String(++counter);
    ops.set(n, op);
    const res = await jar.fetch(`/op/${n}`);
    const lines = setCookies(res);
    assert.ok(lines.length <= 3, "a response carries at most one line per data cookie");
    for (const l of lines) {
      assert.ok(new TextEncoder().encode(l).length < MAX_COOKIE_BYTES, `a line of ${l.length} bytes`);
    }
    const r = results.get(n)!;
    ops.delete(n);
    results.delete(n);
    if (!r.ok) throw r.error;
    return r.value as R;
  }
  return {
    maxPayloadBytes: store.maxPayloadBytes,
    get: (id) => run((v) => v.get(id)),
    set: (id, s) => run((v) => v.set(id, s)),
    delete: (id) => run((v) => v.delete(id)),
    touch: (id: string, e: number) => run((v) => (v as CookieRequestStore).touch(id, e)),
    update: (id, fn: UpdateFn) => run((v) => v.update(id, fn)),
  } as SessionStore;
}

storeConformance(
  "CookieStore",
  (clock) => ({ store: throughRequests(new CookieStore({ secret: KEY_A, clock: clock.fn })) }),
  {
    selfExpiring: true,
    lastWriteWins: true,
    noDeleteByUser: true,
    maxPayloadBytes: new CookieStore({ secret: KEY_A }).maxPayloadBytes,
  },
);

type Data = { count: number; blob: string };

/** A counter app on a CookieStore (sharing the app's clock); records the invalid-token reasons it hears. */
function counterApp(options: Partial<CookieStoreOptions> = {}, clock = new FakeClock(), expires = 3600) {
  const store = new CookieStore({ secret: KEY_A, clock: clock.fn, ...options });
  const app = new Hono<SessionEnv<Data>>();
  const invalid: InvalidTokenReason[] = [];
  app.use(
    session({ secret: SECRET, store, clock: clock.fn, expires, onInvalidToken: (_c, r) => void invalid.push(r) }),
  );
  app.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
  app.get("/read", (c) => c.text(String(c.get("session").get("count") ?? 0)));
  app.get("/blob/:n", (c) => {
    c.get("session").set("blob", "b".repeat(Number(c.req.param("n"))));
    return c.text("ok");
  });
  app.get("/login", (c) => {
    const s = c.get("session");
    s.regenerate();
    s.setUser("alice");
    return c.text("ok");
  });
  app.get("/logout", (c) => {
    c.get("session").destroy();
    return c.text("bye");
  });
  const errors: unknown[] = [];
  app.onError((err, c) => {
    errors.push(err);
    return c.text(err.name, 500);
  });
  return { app, invalid, errors, clock, store };
}

const store = (options: Partial<CookieStoreOptions> = {}) => new CookieStore({ secret: KEY_A, ...options });

test("CookieStore keeps the session in a sealed second cookie, through app.request()", async () => {
  const { app } = counterApp();
  const jar = new CookieJar(app);
  const first = await jar.fetch("/inc");
  assert.equal(await first.text(), "1");
  const data = setCookies(first).map(parseSetCookie).find((c) => c.name === DATA)!;
  assert.equal(data.attrs["httponly"], true);
  assert.equal(data.attrs["samesite"], "Lax");
  assert.equal(data.attrs["path"], "/");
  assert.equal(data.attrs["max-age"], "3600");
  assert.doesNotMatch(data.value, /count/, "the data is not readable in the cookie");
  assert.equal(await jar.text("/inc"), "2");
  assert.equal(await jar.text("/inc"), "3");
  assert.deepEqual([...jar.cookies.keys()].sort(), [DATA, "sid"]);
});

test("CookieStore treats a tampered data cookie as no session: a fresh one, never a 500", async () => {
  const { app, invalid } = counterApp();
  const jar = new CookieJar(app);
  await jar.text("/inc");
  await jar.text("/inc");
  const value = jar.cookies.get(DATA)!;
  const i = Math.floor(value.length / 2);
  jar.cookies.set(DATA, value.slice(0, i) + (value[i] === "A" ? "B" : "A") + value.slice(i + 1));
  const res = await jar.fetch("/inc");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "1");
  assert.deepEqual(invalid, ["unknown"]);
  for (const junk of ["", "x", "%%%", "A".repeat(5000)]) {
    jar.cookies.set(DATA, junk);
    assert.equal((await jar.fetch("/read")).status, 200);
  }
});

test("CookieStore opens nothing sealed under another secret", async () => {
  const a = counterApp({ secret: KEY_A });
  const b = counterApp({ secret: KEY_B });
  const jar = new CookieJar(a.app);
  await jar.text("/inc");
  await jar.text("/inc");
  const other = new CookieJar(b.app);
  other.cookies = new Map(jar.cookies);
  assert.equal(await other.text("/read"), "0");
  assert.deepEqual(b.invalid, ["unknown"]);
});

test("CookieStore with rotated secrets opens the old cookie and seals the next write with the first secret", async () => {
  const old = counterApp({ secret: KEY_A });
  const rotated = counterApp({ secret: [KEY_B, KEY_A] });
  const onlyNew = counterApp({ secret: KEY_B });
  const jar = new CookieJar(old.app);
  await jar.text("/inc");
  const moved = new CookieJar(rotated.app);
  moved.cookies = new Map(jar.cookies);
  assert.equal(await moved.text("/inc"), "2");
  const last = new CookieJar(onlyNew.app);
  last.cookies = new Map(moved.cookies);
  assert.equal(await last.text("/inc"), "3");
});

test("CookieStore checks the expiry sealed in the value, not the cookie's Max-Age", async () => {
  const clock = new FakeClock();
  const { app, invalid } = counterApp({}, clock, 60);
  const jar = new CookieJar(app); // keeps cookies whatever their Max-Age, like a client that ignores it
  await jar.text("/inc");
  clock.advance(59);
  assert.equal(await jar.text("/read"), "1"); // and refreshed: sealed again with 60 s more
  clock.advance(59);
  assert.equal(await jar.text("/read"), "1");
  clock.advance(60);
  assert.equal(await jar.text("/read"), "0");
  assert.deepEqual(invalid, ["unknown"]);
});

test("CookieStore throws SessionTooLargeError before its cookies would overflow, and the client keeps its data", async () => {
  const { app, errors, store } = counterApp();
  const jar = new CookieJar(app);
  await jar.text("/inc");
  const before = new Map(jar.cookies);
  const res = await jar.fetch(`/blob/${store.maxPayloadBytes + 1}`);
  assert.equal(res.status, 500);
  assert.ok(errors[0] instanceof SessionTooLargeError, String(errors[0]));
  assert.deepEqual(dataLines(res), []);
  assert.deepEqual(jar.cookies, before);
  assert.equal(await jar.text("/read"), "1");
  // The largest blob that fits (the rest of the payload is superjson's wrapping) gives three lines under 4096 bytes.
  const fits = await jar.fetch(`/blob/${store.maxPayloadBytes - 60}`);
  assert.equal(fits.status, 200);
  const lines = dataLines(fits);
  assert.equal(lines.length, 3);
  for (const l of lines) assert.ok(l.length < MAX_COOKIE_BYTES, `${l.length} bytes`);
  assert.equal(await jar.text("/read"), "1");
});

test("CookieStore.forRequest() set() refuses a session whose cookie would be too large, naming the size", async () => {
  const s = store();
  const app = new Hono();
  let error: unknown;
  app.get("/", async (c) => {
    const now = Date.now();
    const big: StoredSession = {
      payload: "x".repeat(s.maxPayloadBytes + 1),
      expiresAt: now + 1000,
      createdAt: now,
      userId: null,
    };
    await assert.doesNotReject(async () =>
      await s.forRequest(c).set(generateId(), { ...big, payload: big.payload.slice(1) })
    );
    try {
      await s.forRequest(c).set(generateId(), big);
    } catch (e) {
      error = e;
    }
    return c.text("ok");
  });
  await app.request("http://localhost/");
  assert.ok(error instanceof SessionTooLargeError);
  // One byte over the most that fits: the sealed value is one or two characters over what three cookies hold.
  assert.ok(error.size > error.limit && error.size <= error.limit + 2, `size ${error.size}, limit ${error.limit}`);
  assert.ok(error.limit > 3 * 4000 && error.limit < 3 * MAX_COOKIE_BYTES, `limit ${error.limit}`);
  assert.match(
    error.message,
    /Cannot store session: sealed, it is \d+ bytes, over the \d+ bytes that 3 cookies of under 4096 bytes hold/,
  );
});

test("CookieStore does not open a data cookie moved next to another session's id", async () => {
  const { app, invalid } = counterApp();
  const alice = new CookieJar(app);
  const mallory = new CookieJar(app);
  for (let i = 0; i < 5; i++) await alice.text("/inc");
  await mallory.text("/inc");
  mallory.cookies.set(DATA, alice.cookies.get(DATA)!);
  assert.equal(await mallory.text("/read"), "0");
  assert.deepEqual(invalid, ["unknown"]);
  assert.equal(await alice.text("/read"), "5");
});

test("CookieStore moves the data to the new id on regenerate and clears it on destroy, one data cookie per response", async () => {
  const { app } = counterApp();
  const jar = new CookieJar(app);
  await jar.text("/inc");
  const oldId = jar.cookies.get("sid")!.split(".")[0];
  const login = await jar.fetch("/login");
  const dataLines = setCookies(login).filter((l) => l.startsWith(`${DATA}=`));
  assert.equal(dataLines.length, 1);
  assert.notEqual(jar.cookies.get("sid")!.split(".")[0], oldId);
  assert.equal(await jar.text("/read"), "1");
  const logout = await jar.fetch("/logout");
  const cleared = setCookies(logout).filter((l) => l.startsWith(`${DATA}=`));
  assert.equal(cleared.length, 1);
  assert.equal(parseSetCookie(cleared[0]!).attrs["max-age"], "0");
  assert.equal(jar.cookies.has(DATA), false);
  assert.equal(await jar.text("/read"), "0");
});

test("CookieStore takes the data cookie's attributes and name", async () => {
  const { app } = counterApp({ cookie: { name: "d", sameSite: "Strict", secure: true } });
  const res = await new CookieJar(app).fetch("/inc");
  const data = setCookies(res).map(parseSetCookie).find((c) => c.name === "__Host-d.0")!; // Secure, Path=/, no Domain: the prefix by default
  assert.equal(data.attrs["samesite"], "Strict");
  assert.equal(data.attrs["secure"], true);
});

test("CookieStore refuses a bad configuration at setup, saying how to fix it", () => {
  assert.throws(() => new CookieStore({ secret: "short" }), {
    name: "RangeError",
    message:
      "Cannot create CookieStore: secret must be at least 32 bytes: received 5 (generate one with: openssl rand -base64 48)",
  });
  assert.throws(() => new CookieStore({ secret: [] }), {
    name: "TypeError",
    message: /secret must be a string or a non-empty array/,
  });
  assert.throws(() => new CookieStore(undefined as unknown as CookieStoreOptions), { name: "TypeError" });
  assert.throws(() => new CookieStore({ secret: KEY_A, cookie: { name: "bad name" } }), {
    name: "TypeError",
    message: /Cannot create session cookie: name/,
  });
  // Not a server store: no method that could only throw outside a request.
  for (const method of ["get", "set", "delete", "touch", "update", "deleteExpired"]) {
    assert.equal(method in store(), false, method);
  }
});

test("Sealer.open() returns null for another id, a non-canonical spelling, a wrong version and a short value", async () => {
  const sealer = new Sealer(KEY_A);
  const ad = encoder.encode("id-1");
  const sealed = await sealer.seal(encoder.encode("hello"), ad);
  assert.equal(new TextDecoder().decode((await sealer.open(sealed, ad))!.plaintext), "hello");
  assert.equal(await sealer.open(sealed, encoder.encode("id-2")), null);
  const last = sealed.at(-1)!;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const sibling = alphabet[alphabet.indexOf(last) ^ 1]!; // differs only in the lowest bit, unused for this length
  if (sealed.length % 4 !== 0) assert.equal(await sealer.open(sealed.slice(0, -1) + sibling, ad), null);
  // Version 3 in the first byte, every other bit as sealed (the second character also holds 4 bits of the nonce).
  const wrongVersion = "A" + alphabet[(3 << 4) | (alphabet.indexOf(sealed[1]!) & 0x0f)]! + sealed.slice(2);
  assert.equal(await sealer.open(wrongVersion, ad), null);
  assert.equal(await sealer.open(sealed.slice(0, 20), ad), null);
  assert.notEqual(await sealer.seal(encoder.encode("hello"), ad), sealed, "every seal draws a fresh salt and IV");
});

test("CookieStore writes with the response even when the handler asks for lateStore", async () => {
  const { app } = counterApp();
  app.get("/late", (c) => {
    const s = c.get("session");
    s.options.lateStore = true;
    return c.text(String(s.update("count", (n) => (n ?? 0) + 1)));
  });
  const jar = new CookieJar(app);
  assert.equal(await jar.text("/late"), "1");
  assert.ok(jar.cookies.has(DATA), "the sealed data left with the response");
  assert.equal(await jar.text("/late"), "2");
  assert.equal(await jar.text("/read"), "2");
});

test("CookieStore marks every response that sets or clears the data cookie Cache-Control: no-store", async () => {
  const clock = new FakeClock();
  const { app } = counterApp({}, clock, 600);
  app.get("/cached", (c) => {
    c.header("Cache-Control", "private, max-age=5");
    return c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1)));
  });
  const jar = new CookieJar(app);
  await jar.text("/inc");
  const write = await jar.fetch("/inc"); // a data write: the id cookie stays as it is
  assert.ok(dataLines(write).length > 0);
  assert.equal(write.headers.get("cache-control"), "no-store");
  clock.advance(590);
  const refresh = await jar.fetch("/read"); // a refresh: only the data cookie's expiry moves
  assert.ok(dataLines(refresh).length > 0);
  assert.equal(refresh.headers.get("cache-control"), "no-store");
  const own = await jar.fetch("/cached");
  assert.ok(dataLines(own).length > 0);
  assert.equal(own.headers.get("cache-control"), "private, max-age=5", "the app's own Cache-Control stays");
  const read = await jar.fetch("/read");
  assert.equal(read.headers.get("cache-control"), null, "a response that sets no cookie is left alone");
  const logout = await jar.fetch("/logout");
  assert.equal(logout.headers.get("cache-control"), "no-store");
});

test("CookieStore leaves the data cookie alone when a regenerate fails: the client keeps its session", async () => {
  const { app, errors } = counterApp();
  app.get("/login-big", (c) => {
    const s = c.get("session");
    s.regenerate();
    s.setUser("u".repeat(20_000)); // the user id is sealed with the data: the cookie would be too large
    return c.text("ok");
  });
  const jar = new CookieJar(app);
  await jar.text("/inc");
  await jar.text("/inc");
  const res = await jar.fetch("/login-big");
  assert.equal(res.status, 500);
  assert.ok(errors[0] instanceof SessionTooLargeError, String(errors[0]));
  assert.deepEqual(dataLines(res), []);
  assert.equal(await jar.text("/read"), "2");
});

test("CookieStore refuses an oversized or malformed data cookie before any decoding or crypto", async () => {
  const { app, invalid } = counterApp();
  const jar = new CookieJar(app);
  await jar.text("/inc");
  const good = jar.cookies.get(DATA)!;
  const sent = new Map(jar.cookies);
  const open = Sealer.prototype.open;
  let opened = 0;
  Sealer.prototype.open = function (this: Sealer, ...args: Parameters<Sealer["open"]>) {
    opened++;
    return open.apply(this, args);
  } as Sealer["open"];
  try {
    for (
      const junk of [
        "A".repeat(60_000),
        good + "A".repeat(4096),
        "%%%",
        good.slice(0, -1) + "!",
        "AAAAA",
        "1AAAAA",
        "1" + "A".repeat(40),
        good + "=",
        "9" + good.slice(1),
      ]
    ) {
      jar.cookies.set(DATA, junk);
      const res = await jar.fetch("/read");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "0");
      jar.cookies = new Map(sent);
    }
    assert.equal(opened, 0, "nothing reached the sealer");
    assert.equal(await jar.text("/read"), "1");
    assert.equal(opened, 1);
  } finally {
    Sealer.prototype.open = open;
  }
  assert.ok(invalid.every((r) => r === "unknown"));
});

/** An app whose /big/:n route stores n bytes of data; the data cookies' parts are in the jar. */
function bigApp(options: Partial<CookieStoreOptions> = {}) {
  const ctx = counterApp(options);
  ctx.app.get("/big/:n", (c) => {
    c.get("session").set("blob", "b".repeat(Number(c.req.param("n"))));
    return c.text("ok");
  });
  ctx.app.get("/blob", (c) => c.text(String(c.get("session").get("blob")?.length ?? 0)));
  return ctx;
}
const parts = (jar: CookieJar) => [...jar.cookies.keys()].filter((k) => k.startsWith("satchel-data.")).sort();

test("CookieStore splits a large session over satchel-data.0, .1, .2, each Set-Cookie line under 4096 bytes", async () => {
  const { app } = bigApp();
  const jar = new CookieJar(app);
  const res = await jar.fetch("/big/8000");
  assert.equal(res.status, 200);
  const lines = dataLines(res);
  assert.deepEqual(lines.map((l) => parseSetCookie(l).name), ["satchel-data.0", "satchel-data.1", "satchel-data.2"]);
  for (const l of lines) {
    assert.ok(new TextEncoder().encode(l).length < MAX_COOKIE_BYTES, `${l.length} bytes`);
    assert.equal(parseSetCookie(l).attrs["httponly"], true);
    assert.equal(parseSetCookie(l).attrs["max-age"], "3600");
  }
  assert.equal(await jar.text("/blob"), "8000");
  assert.equal(await jar.text("/inc"), "1");
  assert.equal(await jar.text("/blob"), "8000");
});

test("CookieStore clears the parts a smaller session no longer needs", async () => {
  const { app } = bigApp();
  const jar = new CookieJar(app);
  await jar.text("/big/8000");
  assert.deepEqual(parts(jar), ["satchel-data.0", "satchel-data.1", "satchel-data.2"]);
  const res = await jar.fetch("/big/10");
  const cleared = dataLines(res).map(parseSetCookie).filter((c) => c.attrs["max-age"] === "0").map((c) => c.name);
  assert.deepEqual(cleared, ["satchel-data.1", "satchel-data.2"]);
  assert.deepEqual(parts(jar), ["satchel-data.0"]);
  assert.equal(await jar.text("/blob"), "10");
  // A leftover part the client kept anyway is ignored: the first part says how many belong together.
  jar.cookies.set("satchel-data.2", "A".repeat(100));
  assert.equal(await jar.text("/blob"), "10");
  const logout = await jar.fetch("/logout");
  assert.deepEqual(dataLines(logout).map((l) => parseSetCookie(l).name).sort(), ["satchel-data.0", "satchel-data.2"]);
  assert.deepEqual(parts(jar), []);
});

test("CookieStore refuses a set of parts with one missing, reordered, changed or taken from another session: a fresh session, never a 500", async () => {
  const { app, invalid } = bigApp();
  const alice = new CookieJar(app);
  await alice.text("/big/8000");
  const bob = new CookieJar(app);
  await bob.text("/big/8000");
  const good = new Map(alice.cookies);
  const flip = (v: string, at: number) => v.slice(0, at) + (v[at] === "A" ? "B" : "A") + v.slice(at + 1);
  const broken: Array<(m: Map<string, string>) => void> = [
    (m) => m.delete("satchel-data.1"),
    (m) => m.delete("satchel-data.2"),
    (m) => {
      const [one, two] = [m.get("satchel-data.1")!, m.get("satchel-data.2")!];
      m.set("satchel-data.1", two);
      m.set("satchel-data.2", one);
    },
    (m) => m.set("satchel-data.1", flip(m.get("satchel-data.1")!, 100)),
    (m) => m.set("satchel-data.2", flip(m.get("satchel-data.2")!, 5)),
    (m) => m.set("satchel-data.0", "2" + m.get("satchel-data.0")!.slice(1)),
    (m) => m.set("satchel-data.2", bob.cookies.get("satchel-data.2")!),
  ];
  for (const [i, breakIt] of broken.entries()) {
    alice.cookies = new Map(good);
    breakIt(alice.cookies);
    const res = await alice.fetch("/blob");
    assert.equal(res.status, 200, `case ${i}`);
    assert.equal(await res.text(), "0", `case ${i}`);
  }
  assert.deepEqual(invalid, broken.map(() => "unknown"));
  alice.cookies = new Map(good);
  assert.equal(await alice.text("/blob"), "8000");
});

test("CookieStore's maxCookies sets how many cookies a session may span, and maxPayloadBytes follows", async () => {
  const one = store({ maxCookies: 1 });
  const three = store();
  assert.ok(one.maxPayloadBytes > 2800 && one.maxPayloadBytes < 3000, String(one.maxPayloadBytes));
  assert.ok(three.maxPayloadBytes > 3 * one.maxPayloadBytes, String(three.maxPayloadBytes));
  assert.ok(store({ maxCookies: 5 }).maxPayloadBytes > 5 * one.maxPayloadBytes);
  const { app, errors } = bigApp({ maxCookies: 1 });
  const jar = new CookieJar(app);
  assert.equal((await jar.fetch("/big/2000")).status, 200);
  assert.deepEqual(parts(jar), ["satchel-data.0"]);
  assert.equal((await jar.fetch("/big/4000")).status, 500);
  assert.ok(errors[0] instanceof SessionTooLargeError);
  assert.equal(await jar.text("/blob"), "2000");
});

test("CookieStore rejects unknown options and bad maxCookies at setup", () => {
  assert.throws(() => new CookieStore({ secret: KEY_A, password: KEY_A } as CookieStoreOptions), {
    name: "TypeError",
    message:
      /Cannot create CookieStore: unknown option "password" \(use secret\); known options are secret, cookie, state, maxCookies, clock/,
  });
  assert.throws(() => new CookieStore({ secret: KEY_A, ttl: 60 } as CookieStoreOptions), {
    name: "TypeError",
    message: /unknown option "ttl"/,
  });
  for (const bad of [0, 10, 1.5, "3"]) {
    assert.throws(() => store({ maxCookies: bad as number }), {
      name: "RangeError",
      message: /maxCookies must be an integer from 1 to 9/,
    });
  }
  assert.throws(() => new CookieStore({ secret: KEY_A, state: new CookieState({ name: "d" }), maxCookies: 2 }), {
    name: "TypeError",
  });
});

test("CookieStore.forRequest() is synchronous and commits a batch's cookies only when the whole batch succeeds", async () => {
  const s = store();
  const app = new Hono();
  const now = Date.now();
  const small: StoredSession = { payload: "p", expiresAt: now + 60_000, createdAt: now, userId: null };
  const huge: StoredSession = { ...small, payload: "x".repeat(s.maxPayloadBytes + 1) };
  const [oldId, newId] = [generateId(), generateId()];
  app.get("/seed", (c) => {
    s.forRequest(c).set(oldId, small);
    return c.text("ok");
  });
  app.get("/fail", async (c) => {
    const view = s.forRequest(c);
    assert.ok(isSynchronousStore(view) && hasGroupCommit(view));
    await assert.rejects(
      view.batch(() => {
        view.update(oldId, () => null); // today's regenerate: the old one goes first
        view.set(newId, huge);
      }),
      SessionTooLargeError,
    );
    assert.throws(() => view.set(newId, huge), SessionTooLargeError);
    assert.equal(view.get(oldId)?.payload, "p", "nothing was written");
    return c.text("ok");
  });
  app.get("/move", async (c) => {
    const view = s.forRequest(c);
    await view.batch(() => {
      view.set(newId, view.get(oldId)!); // the new one first, then the old one goes
      view.delete(oldId);
    });
    return c.text("ok");
  });
  app.get("/read/:id", (c) => c.text(s.forRequest(c).get(c.req.param("id"))?.payload ?? "none"));
  const jar = new CookieJar(app);
  await jar.fetch("/seed");
  const failed = await jar.fetch("/fail");
  assert.deepEqual(dataLines(failed), []);
  assert.equal(failed.headers.get("cache-control"), null);
  const moved = await jar.fetch("/move");
  assert.equal(dataLines(moved).length, 1);
  assert.equal(await jar.text(`/read/${newId}`), "p");
  assert.equal(await jar.text(`/read/${oldId}`), "none");
});

test("CookieStore keeps every Set-Cookie line under 4096 bytes with long attributes, https and a long Max-Age", async () => {
  const clock = new FakeClock();
  const cookie = {
    domain: `${"sub".repeat(60)}.example.com`,
    path: "/a/rather/long/path/for/the/data/cookies",
    secure: true,
  } as const;
  const s = new CookieStore({ secret: KEY_A, clock: clock.fn, cookie });
  const app = new Hono<SessionEnv<Data>>();
  app.use(session({ secret: SECRET, store: s, clock: clock.fn, expires: 9_999_999 }));
  app.get("/a/rather/long/path/for/the/data/cookies/fill", (c) => {
    c.get("session").set("blob", "b".repeat(s.maxPayloadBytes - 60));
    return c.text("ok");
  });
  const res = await app.request("https://localhost/a/rather/long/path/for/the/data/cookies/fill");
  assert.equal(res.status, 200);
  const lines = dataLines(res);
  assert.equal(lines.length, 3);
  for (const l of lines) {
    assert.ok(new TextEncoder().encode(l).length < MAX_COOKIE_BYTES, `${l.length} bytes`);
    assert.match(l, /; Secure$/);
  }
});
