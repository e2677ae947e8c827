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

test("superjsonSerializer.stringify() writes exactly what superjson writes, on its plain-JSON fast path and off it", async () => {
  const { default: superjson } = await import("superjson");
  const shared = { x: 1 };
  const sparse = [1, 2, 3];
  delete sparse[1];
  const cases: unknown[] = [
    { d: { user: "u1", count: 0, profile: "x".repeat(400) } },
    { d: { a: [1, 2, { b: null }], s: "é\u2028\"\\", t: true, e: {}, l: [] }, f: { m: "hi" } },
    { d: Object.assign(Object.create(null), { a: 1 }) },
    // Off the fast path: superjson annotates these, so the fast path must not take them.
    { d: { n: -0 } }, { d: { n: NaN } }, { d: { n: Infinity } }, { d: { u: undefined } }, { d: { arr: sparse } },
    { d: { when: new Date(0) } }, { d: { a: shared, b: shared } }, { d: { big: 10n } }, { d: { m: new Map([["a", 1]]) } },
    { d: { deep: JSON.parse("[".repeat(70) + "1" + "]".repeat(70)) } },
  ];
  for (const value of cases) {
    const text = superjsonSerializer.stringify(value);
    assert.equal(text, superjson.stringify(value));
    assert.deepEqual(superjsonSerializer.parse(text), superjson.parse(superjson.stringify(value)));
  }
  // Keys superjson refuses are refused on the fast path too.
  const proto = JSON.parse('{"d":{"x":{"__proto__":1}}}');
  assert.throws(() => superjson.stringify(proto));
  assert.throws(() => superjsonSerializer.stringify(proto));
});
