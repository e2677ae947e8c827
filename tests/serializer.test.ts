import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonSerializer, superjsonSerializer } from "../src/serializer.ts";
import { generateId, isValidId } from "../src/id.ts";

test("superjsonSerializer round-trips Date, Map, Set, BigInt, undefined and nesting", () => {
  const value = {
    d: new Date(Date.UTC(2024, 4, 5, 6, 7, 8)),
    m: new Map<string, unknown>([["k", new Set([1, 2])]]),
    b: -(2n ** 80n),
    u: undefined,
    nested: [{ when: new Date(0) }],
    s: "ü🎒",
  };
  const back = superjsonSerializer.parse(superjsonSerializer.stringify(value));
  assert.deepEqual(back, value);
});

test("jsonSerializer round-trips plain data and turns Dates into strings", () => {
  const back = jsonSerializer.parse(jsonSerializer.stringify({ a: [1, "x"], d: new Date(0) }));
  assert.deepEqual(back, { a: [1, "x"], d: "1970-01-01T00:00:00.000Z" });
});

test("generateId() makes distinct 32-character base64url ids that isValidId() accepts", () => {
  const ids = new Set(Array.from({ length: 1000 }, generateId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.ok(isValidId(id), id);
  assert.equal(isValidId("A".repeat(31)), false);
  assert.equal(isValidId("A".repeat(33)), false);
  assert.equal(isValidId("A".repeat(31) + "="), false);
  assert.equal(isValidId("A".repeat(31) + "/"), false);
});
