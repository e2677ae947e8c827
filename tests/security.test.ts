/**
 * Attacks on the session token and how Satchel answers them, through a real
 * Hono app: tampering, fixation, replay (after destroy, regenerate, expiry),
 * key rotation, client binding, caching of responses that carry a token,
 * and misconfigurations refused at setup.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { HeaderState, MemoryStore, session, type SessionEnv, SqliteStore } from "../mod.ts";
import { Signer } from "../src/crypto/sign.ts";
import { generateId, isValidId } from "../src/id.ts";
import { CookieJar, FakeClock, parseSetCookie, SECRET, setCookies } from "./helpers.ts";
import { securityApp, SpyStore, tokenOf } from "./security-helpers.ts";

const OLD = "old-secret-old-secret-old-secret-0123456789";
const NEW = "new-secret-new-secret-new-secret-0123456789";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function withCookie(app: { request: CookieJar["app"]["request"] }, token: string, init: RequestInit = {}) {
  const jar = new CookieJar(app);
  jar.cookies.set("sid", token);
  if (init.headers) {
    const fetch = jar.fetch.bind(jar);
    jar.fetch = (path, more = {}) =>
      fetch(path, {
        ...init,
        ...more,
        headers: { ...(init.headers as Record<string, string>), ...(more.headers as Record<string, string>) },
      });
  }
  return jar;
}

test("session() never lets a token with a bad signature reach the store", async () => {
  const clock = new FakeClock();
  const store = new SpyStore(new MemoryStore({ clock: clock.fn }));
  const { app, reasons } = securityApp(store, { clock: clock.fn });
  const jar = new CookieJar(app);
  await jar.fetch("/login/alice");
  const token = tokenOf(jar);
  const before = store.calls.length;
  let tried = 0;
  for (let pos = 0; pos < token.length; pos++) {
    for (const ch of [B64URL[(B64URL.indexOf(token[pos]!) + 1) % 64]!, "."]) {
      if (token[pos] === ch) continue;
      const forged = token.slice(0, pos) + ch + token.slice(pos + 1);
      const res = await withCookie(app, forged).fetch("/whoami");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "anonymous");
      tried++;
    }
  }
  assert.ok(tried > 140);
  assert.deepEqual(store.calls.slice(before), [], "a forged token reached the store");
  assert.ok(reasons.every((r) => r === "signature" || r === "malformed"));
  assert.ok(
    reasons.filter((r) => r === "signature").length >= 32,
    "changes of the signature's characters are reported as signature",
  );
  // The real token still works.
  assert.equal(await jar.text("/whoami"), "alice");
});

test("session() checks an id's shape before any store access, for cookies and headers alike", async () => {
  const clock = new FakeClock();
  for (const state of [undefined, new HeaderState()]) {
    const store = new SpyStore(new MemoryStore({ clock: clock.fn }));
    const { app, reasons } = securityApp(store, { clock: clock.fn, state });
    const junk = [
      "' OR '1'='1",
      "../../etc/passwd",
      "a".repeat(31) + "'",
      "KEYS *",
      "*\r\n$4\r\nPING",
      "x".repeat(5000),
      "%00%00",
      "\u00e9".repeat(76),
      generateId(), // an id with no signature
      `${generateId()}.`,
      `${generateId()}.${generateId()}`,
    ];
    for (const value of junk) {
      const headers: Record<string, string> = state ? { "x-session-id": value } : { cookie: `sid=${value}` };
      let res: Response;
      try {
        res = await app.request("http://localhost/whoami", { headers });
      } catch {
        continue; // the Request itself refused the header (CR/LF): it never reaches the app
      }
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "anonymous");
    }
    assert.deepEqual(store.calls, []);
    assert.ok(reasons.length >= junk.length - 2);
  }
});

test("session() never adopts a correctly signed id it did not issue (fixation with a forged or stolen-key token)", async () => {
  const clock = new FakeClock();
  const store = new SpyStore(new MemoryStore({ clock: clock.fn }));
  const { app, reasons } = securityApp(store, { clock: clock.fn });
  // Worst case: the attacker can sign (a leaked secret), and picks the id.
  const chosen = generateId();
  const token = await new Signer(SECRET).sign(chosen);
  const victim = withCookie(app, token);
  assert.equal(await victim.text("/isnew"), "true");
  assert.equal(
    victim.cookies.get("sid"),
    token,
    "an unknown token is left alone (another request may have rotated it)",
  );
  victim.cookies.set("sid", token); // planted again
  assert.equal(await victim.text("/inc"), "1");
  assert.notEqual(tokenOf(victim), token, "a write gets a new id, not the planted one");
  assert.equal(await victim.text("/login/alice"), "ok");
  const issued = await victim.text("/id");
  assert.notEqual(issued, chosen);
  assert.deepEqual(reasons, ["unknown", "unknown"]);
  // Only ids the server generated were ever written.
  for (const call of store.calls.filter((c) => c.method === "set" || c.method === "update" || c.method === "touch")) {
    assert.notEqual(call.arg, chosen);
    assert.ok(isValidId(call.arg));
  }
  assert.equal(await store.inner.get(chosen), null);
  // The attacker, replaying the token they planted, sees nothing of the victim.
  assert.equal(await withCookie(app, token).text("/whoami"), "anonymous");
});

test("session() + regenerate() at login defeats fixation with the attacker's own live session", async () => {
  const clock = new FakeClock();
  const { app } = securityApp(new MemoryStore({ clock: clock.fn }), { clock: clock.fn });
  const attacker = new CookieJar(app);
  await attacker.fetch("/inc"); // a real session the attacker owns
  const planted = tokenOf(attacker);
  const victim = withCookie(app, planted); // e.g. set through a sibling subdomain
  assert.equal(await victim.text("/inc"), "2"); // before login the victim shares it...
  await victim.fetch("/login/alice"); // ...login regenerates:
  assert.notEqual(tokenOf(victim), planted);
  assert.equal(await victim.text("/whoami"), "alice");
  assert.equal(await attacker.text("/whoami"), "anonymous");
  assert.equal(await attacker.text("/secret"), "none");
});

test("session() answers a replayed cookie with a fresh empty session after destroy()", async () => {
  const clock = new FakeClock();
  const { app, reasons } = securityApp(new MemoryStore({ clock: clock.fn }), { clock: clock.fn });
  const jar = new CookieJar(app);
  await jar.fetch("/login/alice");
  const stolen = tokenOf(jar);
  const res = await jar.fetch("/logout");
  assert.equal(parseSetCookie(setCookies(res)[0]!).attrs["max-age"], "0");
  const replay = withCookie(app, stolen);
  assert.equal(await replay.text("/whoami"), "anonymous");
  assert.equal(await replay.text("/secret"), "none");
  // Writing through the replayed cookie starts a new session under a new id; the old one stays dead.
  await replay.fetch("/inc");
  assert.notEqual(tokenOf(replay), stolen);
  assert.equal(await withCookie(app, stolen).text("/whoami"), "anonymous");
  assert.ok(reasons.includes("unknown"));
});

test("session() answers a replayed cookie with a fresh empty session after regenerate()", async () => {
  const clock = new FakeClock();
  const { app } = securityApp(new MemoryStore({ clock: clock.fn }), { clock: clock.fn });
  const jar = new CookieJar(app);
  await jar.fetch("/login/alice");
  const before = tokenOf(jar);
  await jar.fetch("/regenerate");
  assert.notEqual(tokenOf(jar), before);
  assert.equal(await jar.text("/whoami"), "alice");
  assert.equal(await withCookie(app, before).text("/whoami"), "anonymous");
});

test("session() answers a replayed cookie with a fresh empty session after idle and absolute expiry", async () => {
  const clock = new FakeClock();
  const store = new SqliteStore({ path: ":memory:", clock: clock.fn });
  const { app, reasons } = securityApp(store, { clock: clock.fn, expires: 60, absoluteTimeout: 300 });
  const idle = new CookieJar(app);
  await idle.fetch("/login/alice");
  const token = tokenOf(idle);
  clock.advance(61);
  assert.equal(await withCookie(app, token).text("/whoami"), "anonymous");
  assert.equal(reasons.at(-1), "unknown");

  const busy = new CookieJar(app);
  await busy.fetch("/login/bob");
  const bobs = tokenOf(busy);
  for (let t = 50; t < 300; t += 50) {
    clock.advance(50);
    assert.equal(await busy.text("/whoami"), "bob", `at ${t}s`);
  }
  clock.advance(60); // 310 s after login: past the absolute timeout however active
  assert.equal(await withCookie(app, bobs).text("/whoami"), "anonymous");
  assert.ok(reasons.at(-1) === "expired" || reasons.at(-1) === "unknown");
  store.close();
});

test("session() never resurrects a session destroyed while another request of it was in flight", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const app = new Hono<SessionEnv<{ count: number; user: string }>>();
  app.use(session({ secret: SECRET, store, clock: clock.fn }));
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  app.get("/login", (c) => (c.get("session").set("user", "alice"), c.text("ok")));
  app.get("/slow-inc", async (c) => {
    c.get("session").get("count"); // loaded before the logout lands
    await gate;
    return c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1)));
  });
  app.get("/logout", (c) => (c.get("session").destroy(), c.text("bye")));
  app.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "anonymous"));
  const jar = new CookieJar(app);
  await jar.fetch("/login");
  const token = tokenOf(jar);
  const slow = app.request("http://localhost/slow-inc", { headers: { cookie: `sid=${token}` } });
  await jar.fetch("/logout");
  open();
  const res = await slow;
  assert.equal(res.status, 200);
  assert.equal(store.size, 0, "the in-flight write recreated the destroyed session");
  assert.equal(await withCookie(app, token).text("/whoami"), "anonymous");
});

test("session() key rotation: old cookies keep working and come back signed with the new secret", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const before = securityApp(store, { clock: clock.fn, secret: OLD }).app;
  const jar = new CookieJar(before);
  await jar.fetch("/login/alice");
  const oldToken = tokenOf(jar);

  const during = securityApp(store, { clock: clock.fn, secret: [NEW, OLD] }).app;
  const res = await during.request("http://localhost/whoami", { headers: { cookie: `sid=${oldToken}` } });
  assert.equal(await res.text(), "alice");
  const lines = setCookies(res);
  assert.equal(lines.length, 1, "a token signed with an old secret is re-signed even when nothing changed");
  const newToken = parseSetCookie(lines[0]!).value;
  assert.notEqual(newToken, oldToken);
  assert.equal(newToken.split(".")[0], oldToken.split(".")[0], "same session, new signature");
  assert.deepEqual(await new Signer(NEW).verify(newToken), { id: oldToken.split(".")[0], stale: false });
  assert.equal(await new Signer(OLD).verify(newToken), "signature");
  assert.equal(res.headers.get("cache-control"), "no-store");
  // A fresh token is not re-sent on every request.
  const again = await during.request("http://localhost/whoami", { headers: { cookie: `sid=${newToken}` } });
  assert.deepEqual(setCookies(again), []);

  const after = securityApp(store, { clock: clock.fn, secret: NEW });
  assert.equal(await withCookie(after.app, newToken).text("/whoami"), "alice");
  assert.equal(await withCookie(after.app, oldToken).text("/whoami"), "anonymous");
  assert.deepEqual(after.reasons, ["signature"]);
});

test("session() with bind.userAgent gives another browser a new session and ends the bound one", async () => {
  const clock = new FakeClock();
  const store = new SpyStore(new MemoryStore({ clock: clock.fn }));
  const { app, reasons } = securityApp(store, { clock: clock.fn, bind: { userAgent: true } });
  const firefox = { headers: { "user-agent": "Firefox/140" } };
  const jar = new CookieJar(app);
  await jar.fetch("/login/alice", firefox);
  assert.equal(await jar.text("/whoami", firefox), "alice");
  const token = tokenOf(jar);

  const thief = withCookie(app, token, { headers: { "user-agent": "curl/8" } });
  const res = await thief.fetch("/secret");
  assert.equal(await res.text(), "none", "the bound session's data leaked");
  assert.equal(parseSetCookie(setCookies(res)[0]!).attrs["max-age"], "0", "the stolen token is cleared");
  assert.deepEqual(reasons, ["binding"]);
  // Catalyst's choice: a mismatch ends the session, for its owner too (it may be stolen).
  assert.equal(store.calls.filter((c) => c.method === "delete" && c.arg === token.split(".")[0]).length, 1);
  assert.equal(await withCookie(app, token, firefox).text("/whoami", firefox), "anonymous");
  // No user agent at all is a value too.
  const jar2 = new CookieJar(app);
  await jar2.fetch("/login/bob", firefox);
  assert.equal(await withCookie(app, tokenOf(jar2)).text("/whoami"), "anonymous");
});

test("session() with bind.address gives another address a new session, and survives regenerate()", async () => {
  const clock = new FakeClock();
  const { app, reasons } = securityApp(new MemoryStore({ clock: clock.fn }), {
    clock: clock.fn,
    bind: { userAgent: true, address: (c) => c.req.header("x-test-ip") },
  });
  const home = { headers: { "x-test-ip": "192.0.2.1", "user-agent": "Firefox/140" } };
  const jar = new CookieJar(app);
  await jar.fetch("/login/alice", home);
  await jar.fetch("/regenerate", home);
  for (let i = 0; i < 3; i++) assert.equal(await jar.text("/whoami", home), "alice");
  const elsewhere = { headers: { "x-test-ip": "198.51.100.7", "user-agent": "Firefox/140" } };
  assert.equal(await jar.text("/whoami", elsewhere), "anonymous");
  assert.deepEqual(reasons, ["binding"]);
  assert.equal(await jar.text("/whoami", home), "anonymous");
});

test("session() with bind stores an HMAC of the bound values, never the values themselves", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const { app } = securityApp(store, { clock: clock.fn, bind: { userAgent: true, address: () => "203.0.113.9" } });
  const jar = new CookieJar(app);
  await jar.fetch("/login/alice", { headers: { "user-agent": "Distinctive-Agent/1.0" } });
  const stored = store.get(tokenOf(jar).split(".")[0]!)!;
  assert.doesNotMatch(stored.payload, /Distinctive|203\.0\.113/);
  assert.match(stored.payload, /"b":"[A-Za-z0-9_-]{43}"/);
});

test("session() with bind refuses sessions stored without a binding (turning bind on ends them)", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const jar = new CookieJar(securityApp(store, { clock: clock.fn }).app);
  await jar.fetch("/login/alice");
  const bound = securityApp(store, { clock: clock.fn, bind: { userAgent: true } });
  assert.equal(await withCookie(bound.app, tokenOf(jar)).text("/whoami"), "anonymous");
  assert.deepEqual(bound.reasons, ["binding"]);
});

test("session() with bind rewrites a binding made with a rotated-out secret, so it outlives the old secret", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const bind = { userAgent: true };
  const ua = { headers: { "user-agent": "Firefox/140" } };
  const jar = new CookieJar(securityApp(store, { clock: clock.fn, bind, secret: OLD }).app);
  await jar.fetch("/login/alice", ua);
  const id = tokenOf(jar).split(".")[0]!;
  const tagBefore = /"b":"([^"]+)"/.exec(store.get(id)!.payload)![1];

  const during = new CookieJar(securityApp(store, { clock: clock.fn, bind, secret: [NEW, OLD] }).app);
  during.cookies = jar.cookies;
  assert.equal(await during.text("/whoami", ua), "alice"); // re-signs the token and rewrites the tag
  const tagAfter = /"b":"([^"]+)"/.exec(store.get(id)!.payload)![1];
  assert.notEqual(tagAfter, tagBefore);

  const after = new CookieJar(securityApp(store, { clock: clock.fn, bind, secret: NEW }).app);
  after.cookies = jar.cookies;
  assert.equal(await after.text("/whoami", ua), "alice");
});

test("session() sends Cache-Control: no-store with every response that sets or clears the token, unless the app chose", async () => {
  const clock = new FakeClock();
  const { app } = securityApp(new MemoryStore({ clock: clock.fn }), { clock: clock.fn });
  const jar = new CookieJar(app);
  const login = await jar.fetch("/login/alice");
  assert.equal(login.headers.get("cache-control"), "no-store");
  const plain = await jar.fetch("/plain");
  assert.deepEqual(setCookies(plain), []);
  assert.equal(plain.headers.get("cache-control"), null);
  const own = await jar.fetch("/cached");
  assert.equal(own.headers.get("cache-control"), "private, max-age=60");
  const logout = await jar.fetch("/logout");
  assert.equal(setCookies(logout).length, 1);
  assert.equal(logout.headers.get("cache-control"), "no-store");
  // A tampered cookie is cleared, and that response is not cacheable either.
  const bad = await app.request("http://localhost/whoami", { headers: { cookie: `sid=${generateId()}.x` } });
  assert.equal(parseSetCookie(setCookies(bad)[0]!).attrs["max-age"], "0");
  assert.equal(bad.headers.get("cache-control"), "no-store");
});

test("session() refuses unsafe setups with a message that says how to fix them", () => {
  const store = new MemoryStore();
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [
      { secret: "too short" },
      "RangeError",
      /secret must be at least 32 bytes: received 9 \(generate one with: openssl rand -base64 48\)/,
    ],
    [{ secret: [SECRET, "short"] }, "RangeError", /secret\[1\] must be at least 32 bytes/],
    [{ secret: [] }, "TypeError", /non-empty array/],
    [{ secret: undefined }, "TypeError", /secret must be a string/],
    [
      { maxPayloadBytes: 2 * 1024 * 1024 },
      "RangeError",
      /maxPayloadBytes \(2097152\) exceeds what the store accepts \(1048576\); raise the store's maxPayloadBytes/,
    ],
    [{ maxPayloadBytes: 0 }, "RangeError", /maxPayloadBytes must be a positive integer/],
    [{ maxPayloadBytes: 1.5 }, "RangeError", /maxPayloadBytes must be a positive integer/],
    [{ verifiedTokenCache: NaN }, "RangeError", /verifiedTokenCache must be a non-negative integer/],
    [{ bind: {} }, "TypeError", /bind needs userAgent: true, an address function, or both/],
    [{ bind: { userAgent: "yes" } }, "TypeError", /bind.userAgent must be a boolean/],
    [{ bind: { address: "x-forwarded-for" } }, "TypeError", /bind.address must be a function/],
    [{ bind: true }, "TypeError", /bind must be an object/],
    [{ cookie: { hostPrefix: true, domain: "example.com" } }, "TypeError", /hostPrefix \(__Host-\) forbids a domain/],
  ];
  for (const [extra, name, message] of cases) {
    assert.throws(
      () => session({ secret: SECRET, store, ...extra } as never),
      { name, message },
      JSON.stringify(extra),
    );
  }
});
