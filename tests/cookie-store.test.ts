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
import { CookieStore, type CookieStoreOptions, MAX_COOKIE_BYTES } from "../src/store/cookie.ts";
import type { SessionStore, StoredSession, UpdateFn } from "../src/store/types.ts";
import { CookieJar, FakeClock, parseSetCookie, SECRET, setCookies } from "./helpers.ts";
import { storeConformance } from "./store-conformance.ts";

const KEY_A = "cookie-store-key-A-cookie-store-key-A-0123456789";
const KEY_B = "cookie-store-key-B-cookie-store-key-B-0123456789";
const encoder = new TextEncoder();

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
    assert.ok(setCookies(res).length <= 1, "a response carries at most one data cookie");
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
    touch: (id, e) => run((v) => v.touch(id, e)),
    update: (id, fn: UpdateFn) => run((v) => v.update(id, fn)),
    deleteExpired: (now) => run((v) => v.deleteExpired(now)),
  };
}

storeConformance(
  "CookieStore",
  (clock) => ({ store: throughRequests(new CookieStore({ secret: KEY_A, clock: clock.fn })) }),
  { selfExpiring: true, lastWriteWins: true, noDeleteByUser: true, maxPayloadBytes: new CookieStore({ secret: KEY_A }).maxPayloadBytes },
);

type Data = { count: number; blob: string };

/** A counter app on a CookieStore (sharing the app's clock); records the invalid-token reasons it hears. */
function counterApp(options: Partial<CookieStoreOptions> = {}, clock = new FakeClock(), expires = 3600) {
  const store = new CookieStore({ secret: KEY_A, clock: clock.fn, ...options });
  const app = new Hono<SessionEnv<Data>>();
  const invalid: InvalidTokenReason[] = [];
  app.use(session({ secret: SECRET, store, clock: clock.fn, expires, onInvalidToken: (_c, r) => void invalid.push(r) }));
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
  const data = setCookies(first).map(parseSetCookie).find((c) => c.name === "satchel-data")!;
  assert.equal(data.attrs["httponly"], true);
  assert.equal(data.attrs["samesite"], "Lax");
  assert.equal(data.attrs["path"], "/");
  assert.equal(data.attrs["max-age"], "3600");
  assert.doesNotMatch(data.value, /count/, "the data is not readable in the cookie");
  assert.equal(await jar.text("/inc"), "2");
  assert.equal(await jar.text("/inc"), "3");
  assert.deepEqual([...jar.cookies.keys()].sort(), ["satchel", "satchel-data"]);
});

test("CookieStore treats a tampered data cookie as no session: a fresh one, never a 500", async () => {
  const { app, invalid } = counterApp();
  const jar = new CookieJar(app);
  await jar.text("/inc");
  await jar.text("/inc");
  const value = jar.cookies.get("satchel-data")!;
  const i = Math.floor(value.length / 2);
  jar.cookies.set("satchel-data", value.slice(0, i) + (value[i] === "A" ? "B" : "A") + value.slice(i + 1));
  const res = await jar.fetch("/inc");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "1");
  assert.deepEqual(invalid, ["unknown"]);
  for (const junk of ["", "x", "%%%", "A".repeat(5000)]) {
    jar.cookies.set("satchel-data", junk);
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

test("CookieStore throws SessionTooLargeError before a cookie would pass 4096 bytes, and the client keeps its data", async () => {
  const { app, errors } = counterApp();
  const jar = new CookieJar(app);
  await jar.text("/inc");
  const before = jar.cookies.get("satchel-data");
  const res = await jar.fetch("/blob/5000");
  assert.equal(res.status, 500);
  assert.ok(errors[0] instanceof SessionTooLargeError, String(errors[0]));
  assert.deepEqual(setCookies(res).filter((l) => l.startsWith("satchel-data=")), []);
  assert.equal(jar.cookies.get("satchel-data"), before);
  assert.equal(await jar.text("/read"), "1");
  // The largest blob that fits gives a cookie within the limit.
  const fits = await jar.fetch("/blob/2800");
  assert.equal(fits.status, 200);
  const line = setCookies(fits).find((l) => l.startsWith("satchel-data="))!;
  assert.ok(line.split(";")[0]!.length <= MAX_COOKIE_BYTES, `${line.split(";")[0]!.length} bytes`);
});

test("CookieStore.forRequest() set() refuses a session whose cookie would be too large, naming the size", async () => {
  const s = store();
  const app = new Hono();
  let error: unknown;
  app.get("/", async (c) => {
    const now = Date.now();
    const big: StoredSession = { payload: "x".repeat(s.maxPayloadBytes + 1), expiresAt: now + 1000, createdAt: now, userId: null };
    await assert.doesNotReject(async () => await s.forRequest(c).set(generateId(), { ...big, payload: big.payload.slice(1) }));
    try {
      await s.forRequest(c).set(generateId(), big);
    } catch (e) {
      error = e;
    }
    return c.text("ok");
  });
  await app.request("http://localhost/");
  assert.ok(error instanceof SessionTooLargeError);
  assert.equal(error.limit, MAX_COOKIE_BYTES);
  // One byte over the most that fits: the cookie is one or two characters over the limit.
  assert.ok(error.size > MAX_COOKIE_BYTES && error.size <= MAX_COOKIE_BYTES + 2, `size ${error.size}`);
  assert.match(error.message, /Cannot store session: its sealed cookie would be \d+ bytes, over the 4096 bytes browsers keep/);
});

test("CookieStore does not open a data cookie moved next to another session's id", async () => {
  const { app, invalid } = counterApp();
  const alice = new CookieJar(app);
  const mallory = new CookieJar(app);
  for (let i = 0; i < 5; i++) await alice.text("/inc");
  await mallory.text("/inc");
  mallory.cookies.set("satchel-data", alice.cookies.get("satchel-data")!);
  assert.equal(await mallory.text("/read"), "0");
  assert.deepEqual(invalid, ["unknown"]);
  assert.equal(await alice.text("/read"), "5");
});

test("CookieStore moves the data to the new id on regenerate and clears it on destroy, one data cookie per response", async () => {
  const { app } = counterApp();
  const jar = new CookieJar(app);
  await jar.text("/inc");
  const oldId = jar.cookies.get("satchel")!.split(".")[0];
  const login = await jar.fetch("/login");
  const dataLines = setCookies(login).filter((l) => l.startsWith("satchel-data="));
  assert.equal(dataLines.length, 1);
  assert.notEqual(jar.cookies.get("satchel")!.split(".")[0], oldId);
  assert.equal(await jar.text("/read"), "1");
  const logout = await jar.fetch("/logout");
  const cleared = setCookies(logout).filter((l) => l.startsWith("satchel-data="));
  assert.equal(cleared.length, 1);
  assert.equal(parseSetCookie(cleared[0]!).attrs["max-age"], "0");
  assert.equal(jar.cookies.has("satchel-data"), false);
  assert.equal(await jar.text("/read"), "0");
});

test("CookieStore takes the data cookie's attributes and name", async () => {
  const { app } = counterApp({ cookie: { name: "d", sameSite: "Strict", secure: true } });
  const res = await new CookieJar(app).fetch("/inc");
  const data = setCookies(res).map(parseSetCookie).find((c) => c.name === "d")!;
  assert.equal(data.attrs["samesite"], "Strict");
  assert.equal(data.attrs["secure"], true);
});

test("CookieStore refuses a bad configuration at setup, saying how to fix it", () => {
  assert.throws(() => new CookieStore({ secret: "short" }), {
    name: "RangeError",
    message: "Cannot create CookieStore: each secret must be at least 32 bytes: received 5 (generate one with: openssl rand -base64 48)",
  });
  assert.throws(() => new CookieStore({ secret: [] }), { name: "TypeError", message: /secret must be a string or a non-empty array/ });
  assert.throws(() => new CookieStore(undefined as unknown as CookieStoreOptions), { name: "TypeError" });
  assert.throws(() => new CookieStore({ secret: KEY_A, cookie: { name: "bad name" } }), { name: "TypeError", message: /Cannot create session cookie: name/ });
  assert.throws(() => store().get(generateId()), { name: "TypeError", message: /Cannot use CookieStore.get\(\) outside a request/ });
  assert.equal(store().deleteExpired(), 0);
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
  assert.equal(await sealer.open("Ag" + sealed.slice(2), ad), null);
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
  assert.ok(jar.cookies.has("satchel-data"), "the sealed data left with the response");
  assert.equal(await jar.text("/late"), "2");
  assert.equal(await jar.text("/read"), "2");
});
