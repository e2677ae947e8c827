import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { generateId, ID_LENGTH, isValidId } from "../src/id.ts";

/** Any UTF-16 string, lone surrogates included (fast-check's "binary" unit is far slower). */
const anyUtf16 = (maxLength: number) =>
  fc.array(fc.nat(0xffff), { maxLength }).map((units) => String.fromCharCode(...units));

test("generateId() returns 32 base64url characters that pass isValidId()", () => {
  for (let i = 0; i < 1000; i++) {
    const id = generateId();
    assert.equal(id.length, ID_LENGTH);
    assert.match(id, /^[A-Za-z0-9_-]{32}$/);
    assert.ok(isValidId(id));
  }
});

test("generateId() never repeats and spreads its 192 bits over the whole alphabet", () => {
  const ids = Array.from({ length: 20_000 }, () => generateId());
  assert.equal(new Set(ids).size, ids.length);
  // Every one of the 64 characters shows up at every position: no fixed or biased position
  // (20 000 draws per position, a character's chance of never appearing is (63/64)^20000 ≈ 1e-137).
  for (let pos = 0; pos < ID_LENGTH; pos++) {
    const seen = new Set<string>();
    for (const id of ids) seen.add(id[pos]!);
    assert.equal(seen.size, 64, `position ${pos}`);
  }
  // Bits are balanced: about half of all 192 × 20 000 bits are set (±1 %).
  const bits = new Map(
    [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"].map((
      ch,
      v,
    ) => [ch, (v & 1) + ((v >> 1) & 1) + ((v >> 2) & 1) + ((v >> 3) & 1) + ((v >> 4) & 1) + (v >> 5)]),
  );
  let ones = 0;
  for (const id of ids) for (let i = 0; i < id.length; i++) ones += bits.get(id[i]!)!;
  const share = ones / (ids.length * 192);
  assert.ok(share > 0.49 && share < 0.51, `share of 1 bits: ${share}`);
});

test("isValidId() refuses other lengths, characters outside base64url, and non-strings", () => {
  const good = generateId();
  const bad: unknown[] = [
    "",
    good.slice(1),
    good + "A",
    good.slice(0, 31) + ".",
    good.slice(0, 31) + "=",
    good.slice(0, 31) + "+",
    good.slice(0, 31) + "/",
    good.slice(0, 31) + "%",
    good.slice(0, 31) + "'",
    good.slice(0, 31) + "\0",
    good.slice(0, 31) + "é",
    good.slice(0, 30) + "\r\n",
    " " + good.slice(1),
    "' OR 1=1 --                     ",
    null,
    undefined,
    42,
    { length: 32 },
    [good],
  ];
  for (const value of bad) assert.equal(isValidId(value), false, JSON.stringify(value));
});

test("isValidId() accepts exactly the strings of 32 base64url characters (property)", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ minLength: 30, maxLength: 34, unit: "binary-ascii" }), anyUtf16(40)), (s) => {
      assert.equal(isValidId(s), /^[A-Za-z0-9_-]{32}$/.test(s));
    }),
    { numRuns: 500 },
  );
  const alphabet = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
  fc.assert(fc.property(fc.string({ unit: alphabet, minLength: 32, maxLength: 32 }), (s) => isValidId(s)), {
    numRuns: 200,
  });
});
