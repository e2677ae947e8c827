import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { CookieState, type CookieStateOptions, MemoryStore, session, type SessionEnv } from "../mod.ts";
import { parseSetCookie, SECRET, setCookies } from "./helpers.ts";

const TOKEN = "A".repeat(32) + "." + "B".repeat(43);

/** Drive a CookieState through a real Hono app: /write sets the token, /clear clears it, /read echoes it. */
function app(options: CookieStateOptions) {
  const state = new CookieState(options);
  const app = new Hono();
  app.get("/write", (c) => (state.write(c, TOKEN, 600), c.text("w")));
  app.get("/clear", (c) => (state.clear(c), c.text("c")));
  app.get("/read", (c) => c.text(state.read(c) ?? "none"));
  return { state, app };
}

async function cookieOf(
  options: CookieStateOptions,
  url = "http://localhost/write",
  headers: Record<string, string> = {},
) {
  const { app: a } = app(options);
  const lines = setCookies(await a.request(url, { headers }));
  assert.equal(lines.length, 1);
  return parseSetCookie(lines[0]!);
}

test("CookieState writes HttpOnly, SameSite=Lax, Path=/ and no Max-Age by default (a browser-session cookie)", async () => {
  const c = await cookieOf({});
  assert.equal(c.name, "sid");
  assert.equal(c.value, TOKEN);
  assert.deepEqual(c.attrs, { path: "/", httponly: true, samesite: "Lax" });
});

test("CookieState with persistent: true sends Max-Age with the session's lifetime", async () => {
  const c = await cookieOf({ persistent: true });
  assert.equal(c.attrs["max-age"], "600");
});

/** Run `work` with console.warn captured; the lines it printed. */
async function warnings(work: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    await work();
  } finally {
    console.warn = original;
  }
  return lines;
}

test("CookieState secure: 'auto' is Secure unless the request is plain HTTP to a loopback host", async () => {
  const secure = async (url: string, headers: Record<string, string> = {}) =>
    (await cookieOf({ name: "s", hostPrefix: false }, url, headers)).attrs.secure === true;
  for (const url of ["http://localhost/write", "http://127.0.0.1:8787/write", "http://127.9.8.7/write"]) {
    assert.equal(await secure(url), false, url);
  }
  for (const url of ["http://[::1]:3000/write", "http://app.localhost/write"]) assert.equal(await secure(url), false);
  for (const url of ["https://example.com/write", "https://localhost/write", "https://127.0.0.1/write"]) {
    assert.equal(await secure(url), true, url);
  }
  // Hosts that only look like loopback ones.
  for (
    const url of ["http://127.0.0.1.example.com/write", "http://localhost.example.com/write", "http://[::2]/write"]
  ) {
    assert.equal((await warnings(async () => assert.equal(await secure(url), true, url))).length, 1, url);
  }
});

test("CookieState secure: 'auto' behind a TLS proxy is Secure with no option, and X-Forwarded-Proto can only add Secure", async () => {
  const https = { "x-forwarded-proto": "https" };
  const quiet = await warnings(async () => {
    assert.equal((await cookieOf({}, "http://app.internal:3000/write", https)).attrs.secure, true);
    assert.equal((await cookieOf({}, "http://localhost/write", https)).attrs.secure, true);
    assert.equal(
      (await cookieOf({}, "http://10.0.0.7/write", { "x-forwarded-proto": "HTTPS, http" })).attrs.secure,
      true,
    );
    // A client (or proxy) claiming http cannot take Secure off an https request.
    assert.equal((await cookieOf({}, "https://example.com/write", { "x-forwarded-proto": "http" })).attrs.secure, true);
  });
  assert.deepEqual(quiet, []);
});

test("CookieState secure: 'auto' over plain HTTP to a non-loopback host warns once, naming the option", async () => {
  const { app: a } = app({});
  const lines = await warnings(async () => {
    for (let i = 0; i < 3; i++) {
      const res = await a.request("http://192.168.1.20:3000/write");
      assert.equal(parseSetCookie(setCookies(res)[0]!).attrs.secure, true);
    }
    await a.request("http://192.168.1.20:3000/write", { headers: { "x-forwarded-proto": "http" } });
  });
  assert.equal(lines.length, 1, "one warning, not one per request");
  assert.match(lines[0]!, /plain HTTP/);
  assert.match(lines[0]!, /X-Forwarded-Proto: https/);
  assert.match(lines[0]!, /secure: false/);
  assert.doesNotMatch(lines[0]!, /192\.168/, "no request data in the log line");
});

test("CookieState defaults to a generic name with the __Host- prefix whenever the cookie is Secure", async () => {
  const secure = await cookieOf({}, "https://example.com/write");
  assert.equal(secure.name, "__Host-sid");
  assert.equal(secure.attrs.secure, true);
  assert.equal(secure.attrs.path, "/");
  assert.equal(secure.attrs.domain, undefined);
  // Local development over http://localhost: neither Secure nor the prefix (browsers would drop __Host- there).
  const local = await cookieOf({}, "http://localhost/write");
  assert.equal(local.name, "sid");
  assert.equal(local.attrs.secure, undefined);
  // The prefix needs Path=/ and no Domain: with either, the plain name.
  assert.equal((await cookieOf({ path: "/app" }, "https://example.com/write")).name, "sid");
  assert.equal((await cookieOf({ domain: "example.com" }, "https://example.com/write")).name, "sid");
  assert.equal((await cookieOf({ hostPrefix: false }, "https://example.com/write")).name, "sid");
  assert.equal((await cookieOf({ secure: true }, "http://localhost/write")).name, "__Host-sid");
  assert.equal((await cookieOf({ secure: false }, "https://example.com/write")).name, "sid");
  assert.equal((await cookieOf({ name: "__Secure-sid" }, "https://example.com/write")).name, "__Secure-sid");
});

test("CookieState reads the cookie under the name the same request would write, never the unprefixed one", async () => {
  const { app: a } = app({});
  const read = async (url: string, cookie: string) => await (await a.request(url, { headers: { cookie } })).text();
  assert.equal(await read("https://example.com/read", `__Host-sid=${TOKEN}`), TOKEN);
  assert.equal(
    await read("https://example.com/read", `sid=${TOKEN}`),
    "none",
    "a planted unprefixed cookie is ignored",
  );
  assert.equal(await read("http://localhost/read", `sid=${TOKEN}`), TOKEN);
  assert.equal(await read("http://localhost/read", `__Host-sid=${TOKEN}`), "none");
  const proxied = { cookie: `__Host-sid=${TOKEN}`, "x-forwarded-proto": "https" };
  assert.equal(await (await a.request("http://localhost/read", { headers: proxied })).text(), TOKEN);
  const cleared = parseSetCookie(setCookies(await a.request("https://example.com/clear"))[0]!);
  assert.equal(cleared.name, "__Host-sid");
});

test("CookieState secure: true and false are fixed whatever the scheme", async () => {
  assert.equal((await cookieOf({ secure: true }, "http://localhost/write")).attrs.secure, true);
  assert.equal((await cookieOf({ secure: false }, "https://localhost/write")).attrs.secure, undefined);
});

test("CookieState hostPrefix names the cookie __Host-<name> with Secure, Path=/ and no Domain, even over http", async () => {
  const c = await cookieOf({ hostPrefix: true, name: "sid" }, "http://localhost/write");
  assert.equal(c.name, "__Host-sid");
  assert.equal(c.attrs.secure, true);
  assert.equal(c.attrs.path, "/");
  assert.equal(c.attrs.domain, undefined);
});

test("CookieState partitioned adds Partitioned and Secure", async () => {
  const c = await cookieOf({ partitioned: true, sameSite: "None" }, "http://localhost/write");
  assert.equal(c.attrs.partitioned, true);
  assert.equal(c.attrs.secure, true);
  assert.equal(c.attrs.samesite, "None");
});

test("CookieState.clear() expires the cookie with the same name, path, domain and Partitioned", async () => {
  const { app: a } = app({ hostPrefix: true, partitioned: true });
  const c = parseSetCookie(setCookies(await a.request("https://localhost/clear"))[0]!);
  assert.equal(c.name, "__Host-sid");
  assert.equal(c.value, "");
  assert.equal(c.attrs["max-age"], "0");
  assert.equal(c.attrs.path, "/");
  assert.equal(c.attrs.partitioned, true);
  assert.equal(c.attrs.secure, true);
  const d = parseSetCookie(
    setCookies(await app({ domain: "example.com", path: "/app" }).app.request("http://x/clear"))[0]!,
  );
  assert.equal(d.attrs.domain, "example.com");
  assert.equal(d.attrs.path, "/app");
});

test("CookieState.read() takes only its own cookie, and the first of duplicates", async () => {
  const { app: a } = app({ hostPrefix: true });
  const read = async (cookie: string) =>
    await (await a.request("https://localhost/read", { headers: { cookie } })).text();
  // Cookie tossing from a sibling subdomain cannot set a __Host- cookie; a plain one is ignored.
  assert.equal(await read(`sid=${TOKEN}`), "none");
  assert.equal(await read(`other=1; __Host-sid=${TOKEN}; x=2`), TOKEN);
  assert.equal(await read(`__Host-sid=${TOKEN}; __Host-sid=evil`), TOKEN);
});

test("new CookieState() refuses __Host- combinations browsers would drop, at setup", () => {
  const bad: [CookieStateOptions, RegExp][] = [
    [{ hostPrefix: true, secure: false }, /hostPrefix \(__Host-\) needs Secure; remove secure: false/],
    [{ hostPrefix: true, path: "/app" }, /hostPrefix \(__Host-\) needs path "\/": received "\/app"/],
    [{ hostPrefix: true, domain: "example.com" }, /hostPrefix \(__Host-\) forbids a domain; remove the domain option/],
    [{ name: "__Host-sid" }, /carries the __Host- prefix; use \{ hostPrefix: true, name: "sid" \}/],
    [{ name: "__host-sid", hostPrefix: true }, /carries the __Host- prefix/],
    [{ name: "__Secure-sid", hostPrefix: true }, /hostPrefix \(__Host-\) and a __Secure- name do not combine/],
    [{ name: "__Secure-sid", secure: false }, /__Secure- needs Secure/],
    [{ partitioned: true, secure: false }, /partitioned needs Secure/],
    [{ sameSite: "None", secure: false }, /sameSite "None" needs Secure/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => new CookieState(options), { name: "TypeError", message }, JSON.stringify(options));
    assert.throws(() => session({ secret: SECRET, store: new MemoryStore(), cookie: options }), {
      name: "TypeError",
      message,
    });
  }
});

test("new CookieState() refuses names and attributes that would inject into Set-Cookie", () => {
  const bad: CookieStateOptions[] = [
    { name: "a b" },
    { name: "a;b" },
    { name: "a=b" },
    { name: "" },
    { name: "sid\r\nSet-Cookie: x=y" },
    { path: "/;Domain=evil.com" },
    { path: "/\r\nX: y" },
    { path: "relative" },
    { domain: "example.com; Secure" },
    { domain: "exa mple.com" },
    { sameSite: "LAX" as "Lax" },
    { secure: "yes" as unknown as boolean },
    { persistent: "true" as unknown as boolean },
    { hostPrefix: 1 as unknown as boolean },
  ];
  for (const options of bad) {
    assert.throws(
      () => new CookieState(options),
      { name: "TypeError", message: /^Cannot create session cookie: / },
      JSON.stringify(options),
    );
  }
});

test("CookieState accepts lowercase sameSite as hono/cookie does, and writes the canonical attribute", async () => {
  for (const [given, written] of [["lax", "Lax"], ["strict", "Strict"], ["none", "None"]] as const) {
    const c = await cookieOf({ sameSite: given }, "http://localhost/write");
    assert.equal(c.attrs.samesite, written);
    if (given === "none") assert.equal(c.attrs.secure, true);
  }
  assert.throws(() => new CookieState({ sameSite: "none", secure: false }), {
    name: "TypeError",
    message: /sameSite "None" needs Secure/,
  });
});

test("new CookieState() and session({ cookie }) refuse unknown options, with a hint for other libraries' names", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { maxAge: 3600 },
      /^Cannot create session cookie: unknown option "maxAge" \(use persistent: true; Max-Age follows the session's expires\); known options are name, path/,
    ],
    [{ expires: new Date() }, /unknown option "expires" \(use persistent: true/],
    [{ sessionCookieName: "sid" }, /unknown option "sessionCookieName" \(use cookie: \{ name \}\)/],
    [{ nmae: "sid", secrue: true }, /unknown options "nmae", "secrue"/],
    [{ trustProxy: true }, /unknown option "trustProxy" \(no longer needed: the cookie is Secure unless/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new CookieState(options as CookieStateOptions), { name: "TypeError", message });
    assert.throws(() => session({ secret: SECRET, store: new MemoryStore(), cookie: options as CookieStateOptions }), {
      name: "TypeError",
      message,
    });
  }
  assert.throws(() => new CookieState(null as unknown as CookieStateOptions), {
    name: "TypeError",
    message: /options must be an object: received null/,
  });
});

test("CookieState __Secure- names are always sent with Secure", async () => {
  const c = await cookieOf({ name: "__Secure-sid" }, "http://localhost/write");
  assert.equal(c.name, "__Secure-sid");
  assert.equal(c.attrs.secure, true);
});

test("session() with cookie: { hostPrefix, persistent } sends __Host- cookies that round-trip", async () => {
  const a = new Hono<SessionEnv<{ n: number }>>();
  a.use(
    session({ secret: SECRET, store: new MemoryStore(), cookie: { hostPrefix: true, persistent: true }, expires: 120 }),
  );
  a.get("/inc", (c) => c.text(String(c.get("session").update("n", (n) => (n ?? 0) + 1))));
  const res = await a.request("https://localhost/inc");
  const c = parseSetCookie(setCookies(res)[0]!);
  assert.equal(c.name, "__Host-sid");
  assert.equal(c.attrs["max-age"], "120");
  assert.equal(c.attrs.secure, true);
  const again = await a.request("https://localhost/inc", { headers: { cookie: `${c.name}=${c.value}` } });
  assert.equal(await again.text(), "2");
});

test("CookieState keeps its defaults for options given as undefined", () => {
  const state = new CookieState({ name: undefined, sameSite: undefined, secure: undefined });
  assert.equal(state.name, "sid");
});

test("CookieState.read() answers exactly what Hono's getCookie() does, for any Cookie header (property)", async () => {
  // read() scans the header in place for the common case and leaves the rest
  // to getCookie(); the two must never disagree. Headers are built from pairs
  // near the edge cases: the name inside other names and values, spaces and
  // tabs, quotes, percent escapes, non-ASCII, empty values, duplicates.
  const name = "satchel";
  const state = new CookieState({ name });
  const app = new Hono();
  app.get("/", (c) => c.json({ ours: state.read(c) ?? null, hono: getCookie(c, name) ?? null }));
  const space = fc.constantFrom("", " ", "  ", "\t", " \t");
  const pairName = fc.constantFrom(name, "x" + name, name + "x", "other", "Satchel", `${name} `, "a");
  const value = fc.oneof(
    fc.constantFrom(
      "",
      "tok.en_-09AZ",
      '"quoted"',
      "a%20b",
      "%E0%A4%A",
      "ü",
      "\u00a0tok",
      "a b",
      "satchel=inner",
      "x,y",
    ),
    fc.string({ unit: fc.constantFrom(...'aZ09._-=" %\t;,ü'), maxLength: 12 }),
  );
  const pair = fc.tuple(space, pairName, space, fc.boolean(), space, value, space).map(
    ([s1, n, s2, eq, s3, v, s4]) => `${s1}${n}${s2}${eq ? "=" : ""}${s3}${v}${s4}`,
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(pair, { minLength: 1, maxLength: 5 }),
      fc.constantFrom(";", "; ", ";\t"),
      async (pairs, sep) => {
        const header = pairs.join(sep);
        let res: Response;
        try {
          res = await app.request("/", { headers: { cookie: header } });
        } catch {
          return; // a header the Headers class itself refuses never reaches read()
        }
        const { ours, hono } = await res.json();
        assert.equal(ours, hono, `header ${JSON.stringify(header)}`);
      },
    ),
    { numRuns: 2000 },
  );
  // The common shapes the fast path serves:
  for (const header of [`${name}=abc.def`, `a=1; ${name}=abc.def`, `a=1;\t${name}= abc.def ; b=2`]) {
    const res = await app.request("/", { headers: { cookie: header } });
    assert.deepEqual(await res.json(), { ours: "abc.def", hono: "abc.def" });
  }
});
