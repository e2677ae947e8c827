/**
 * The CSPRNG pool (src/_internal/random.ts) that session ids and
 * CookieStore's nonces draw from: every byte handed out once, copies only.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fillRandom, randomBytes } from "../src/_internal/random.ts";
import { generateId } from "../src/id.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

test("randomBytes() hands out distinct, non-zero chunks across many refills of the pool", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2_000; i++) { // 2,000 × 24 bytes: about 12 refills of the 4 KiB pool
    const b = randomBytes(24);
    assert.equal(b.length, 24);
    assert.ok(b.some((x) => x !== 0), "never the wiped part of the pool");
    seen.add(hex(b));
  }
  assert.equal(seen.size, 2_000);
});

test("randomBytes() gives copies: a later call never changes an earlier result", () => {
  const first = randomBytes(32);
  const kept = hex(first);
  for (let i = 0; i < 300; i++) randomBytes(32); // past a refill
  assert.equal(hex(first), kept);
  assert.notEqual(first.buffer.byteLength, 4096, "its own buffer, not a view of the pool");
});

test("fillRandom() fills sizes from 0 to past a quarter of the pool, and returns its argument", () => {
  for (const n of [0, 1, 23, 24, 1024, 1025, 5000]) {
    const into = new Uint8Array(n);
    assert.equal(fillRandom(into), into);
    if (n >= 16) assert.ok(into.some((x) => x !== 0));
  }
});

test("generateId() draws 10,000 distinct ids from the pool", () => {
  const ids = new Set(Array.from({ length: 10_000 }, generateId));
  assert.equal(ids.size, 10_000);
});
