/**
 * Property-based attacks through a real Hono app: arbitrary Cookie and
 * session headers never produce a 5xx, never reach the store with an id the
 * server did not issue, and never open a session unless the token sent is
 * exactly the one issued.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parse } from "hono/utils/cookie";
import { HeaderState, MemoryStore } from "../mod.ts";
import { isValidId } from "../src/id.ts";
import { CookieJar, FakeClock, setCookies } from "./helpers.ts";
import { securityApp, SpyStore, tokenOf } from "./security-helpers.ts";

const RUNS = 400;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Bytes a header value can carry (HTTP refuses NUL, CR and LF before any app sees them). */
const headerBytes = (maxLength: number) =>
  fc.uint8Array({ maxLength }).map((bytes) =>
    String.fromCharCode(...bytes.filter((b) => b !== 0 && b !== 10 && b !== 13))
  );

async function setup(state?: HeaderState) {
  const clock = new FakeClock();
  const store = new SpyStore(new MemoryStore({ clock: clock.fn }));
  const { app, errors } = securityApp(store, { clock: clock.fn, state });
  const jar = new CookieJar(app);
  const login = await jar.fetch("/login/alice");
  const token = state ? login.headers.get("x-session-id")! : tokenOf(jar);
  const id = token.split(".")[0]!;
  store.calls.length = 0;
  return { app, store, errors, token, id };
}

/** Asserts every store call since the last check named the issued id, and clears the log. */
function onlyIssued(store: SpyStore, id: string, issued: Set<string>): void {
  for (const call of store.calls) {
    assert.ok(
      isValidId(call.arg) || call.method === "deleteByUser",
      `bad id reached the store: ${JSON.stringify(call)}`,
    );
    if (call.method === "get") assert.equal(call.arg, id, "a get for an id the client chose");
    else if (call.method !== "deleteByUser") {
      assert.ok(issued.has(call.arg) || call.arg === id, `write for an unissued id: ${JSON.stringify(call)}`);
    }
  }
  store.calls.length = 0;
}

test("session() answers arbitrary Cookie headers without a 5xx and keeps bad ids away from the store (property)", async () => {
  const { app, store, errors, token, id } = await setup();
  const cookie = fc.oneof(
    headerBytes(200),
    headerBytes(120).map((s) => `sid=${s}`),
    fc.tuple(headerBytes(40), headerBytes(40)).map(([a, b]) => `${a}sid=${token}${b}`),
    fc.tuple(headerBytes(40), headerBytes(40)).map(([a, b]) => `${a}; sid=${b}; sid=${token}`),
    fc.tuple(fc.nat(75), headerBytes(3)).map(([n, s]) => `sid=${token.slice(0, n)}${s}${token.slice(n + 1)}`),
  );
  const issued = new Set<string>();
  await fc.assert(
    fc.asyncProperty(cookie, fc.constantFrom("/whoami", "/inc", "/plain"), async (value, path) => {
      const res = await app.request(`http://localhost${path}`, { headers: { cookie: value } });
      assert.ok(res.status < 500, `status ${res.status} for ${JSON.stringify(value)}`);
      // The server sees exactly what Hono's cookie parser reads; only the issued token opens alice's session.
      const sent = parse(value, "sid").sid;
      const body = await res.text();
      if (path === "/whoami") assert.equal(body === "alice", sent === token, `${JSON.stringify(value)} → ${body}`);
      for (const line of setCookies(res)) {
        const issuedId = /^sid=([A-Za-z0-9_-]{32})\./.exec(line)?.[1];
        if (issuedId) issued.add(issuedId);
      }
      onlyIssued(store, id, issued);
    }),
    { numRuns: RUNS },
  );
  assert.deepEqual(errors, []);
});

test("session() with HeaderState answers arbitrary session headers without a 5xx or a bad id in the store (property)", async () => {
  const { app, store, errors, token, id } = await setup(new HeaderState());
  const issued = new Set<string>();
  const value = fc.oneof(
    headerBytes(150),
    fc.tuple(fc.nat(75), fc.constantFrom(...B64URL, ".", " ", "%")).map(([n, ch]) =>
      token.slice(0, n) + ch + token.slice(n + 1)
    ),
  );
  await fc.assert(
    fc.asyncProperty(value, async (v) => {
      let res: Response;
      try {
        res = await app.request("http://localhost/whoami", { headers: { "x-session-id": v } });
      } catch {
        return; // refused by Headers itself (leading/trailing whitespace rules differ per runtime)
      }
      assert.ok(res.status < 500);
      const sent = v.trim();
      assert.equal((await res.text()) === "alice", sent === token);
      onlyIssued(store, id, issued);
    }),
    { numRuns: RUNS },
  );
  assert.deepEqual(errors, []);
});

test("session() never opens a session for any mutation of a real token (property)", async () => {
  const { app, token } = await setup();
  const mutated = fc.oneof(
    fc.tuple(fc.nat(75), fc.constantFrom(...B64URL, ".")).map(([n, ch]) => token.slice(0, n) + ch + token.slice(n + 1)),
    fc.tuple(fc.nat(75), fc.nat(75)).map(([a, b]) => {
      const chars = [...token];
      [chars[a], chars[b]] = [chars[b]!, chars[a]!];
      return chars.join("");
    }),
    fc.nat(75).map((n) => token.slice(0, n) + token.slice(n + 1)),
    fc.tuple(fc.nat(76), fc.constantFrom(...B64URL)).map(([n, ch]) => token.slice(0, n) + ch + token.slice(n)),
  );
  await fc.assert(
    fc.asyncProperty(mutated, async (t) => {
      fc.pre(t !== token);
      const res = await app.request("http://localhost/whoami", { headers: { cookie: `sid=${t}` } });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "anonymous", t);
    }),
    { numRuns: RUNS },
  );
});
