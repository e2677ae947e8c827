/**
 * Every id, CookieStore nonce and RedisStore write version is drawn from
 * `crypto.getRandomValues` when it is made, never from a buffer Satchel
 * keeps: a process cloned after it started (a VM snapshot, CRIU, Lambda
 * SnapStart after a warm-up) would hand a buffer's bytes out again in every
 * clone: the same session ids to two users, a nonce twice under one key, a
 * version twice for one session.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateId } from "../src/id.ts";
import { Sealer } from "../src/crypto/seal.ts";
import { RedisStore } from "../src/store/redis.ts";

const SECRET = "a data secret of at least 32 bytes!!";

/** How many times `fn` calls crypto.getRandomValues. */
async function draws(fn: () => unknown): Promise<number> {
  const original = crypto.getRandomValues;
  let calls = 0;
  crypto.getRandomValues = function <T extends ArrayBufferView | null>(array: T): T {
    calls++;
    return original.call(crypto, array as never) as T;
  };
  try {
    await fn();
  } finally {
    crypto.getRandomValues = original;
  }
  return calls;
}

test("generateId() draws from the CSPRNG for every id", async () => {
  assert.equal(await draws(() => Array.from({ length: 300 }, generateId)), 300);
});

test("CookieStore's sealer draws a fresh nonce from the CSPRNG for every seal", async () => {
  const sealer = new Sealer(SECRET);
  const plain = new TextEncoder().encode('{"json":{"a":1}}');
  const sealed = new Set<string>();
  const n = await draws(() => {
    for (let i = 0; i < 300; i++) sealed.add(sealer.seal(plain, plain));
  });
  assert.equal(n, 300);
  assert.equal(sealed.size, 300);
});

test("RedisStore draws a fresh version from the CSPRNG for every write", async () => {
  const sent: string[][] = [];
  const client = { command: (args: string[]) => (sent.push(args), Promise.resolve(1)) };
  const store = new RedisStore({ client });
  await store.get(generateId()).catch(() => {}); // loads the scripts' SHAs
  const now = Date.now();
  const n = await draws(async () => {
    for (let i = 0; i < 50; i++) {
      await store.set("x".repeat(32), { payload: "p", createdAt: now, expiresAt: now + 60_000 });
    }
  });
  assert.equal(n, 50);
  const versions = new Set(sent.filter((a) => a[0] === "EVALSHA" && a.length > 10).map((a) => a[10]));
  assert.equal(versions.size, 50);
});
