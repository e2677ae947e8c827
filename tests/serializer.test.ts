import assert from "node:assert/strict";
import { test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { SessionDataError } from "../src/errors.ts";
import { jsonSerializer, type Serializer, superjsonSerializer } from "../src/serializer.ts";
import { generateId, isValidId } from "../src/id.ts";
import { checkValue } from "../src/value-guard.ts";

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

test("jsonSerializer round-trips plain data; checkValue() refuses a Date, which JSON gives back as a string", () => {
  const back = jsonSerializer.parse(jsonSerializer.stringify({ a: [1, "x"], n: null, t: true }));
  assert.deepEqual(back, { a: [1, "x"], n: null, t: true });
  assert.throws(() => checkValue("when", { at: new Date(0) }, Infinity, jsonSerializer), {
    name: "SessionDataError",
    message: /^Cannot store session value at "when"\.at: a Date comes back from JSON as a string/,
  });
});

const SERIALIZERS: [string, Serializer][] = [["superjsonSerializer", superjsonSerializer], [
  "jsonSerializer",
  jsonSerializer,
]];

/** What the session writes: the data under `d`. */
function roundTrip(serializer: Serializer, value: unknown): unknown {
  return (serializer.parse(serializer.stringify({ d: { v: value } })) as { d: { v: unknown } }).d.v;
}

for (const [name, serializer] of SERIALIZERS) {
  test(`checkValue() with ${name}: every value either comes back exactly or is refused with SessionDataError (property)`, () => {
    const value = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withSparseArray: true,
      withNullPrototype: false,
      withObjectString: false,
      withUnicodeString: true,
      maxDepth: 3,
    });
    const extra = fc.constantFrom<unknown>(
      new ArrayBuffer(4),
      new DataView(new ArrayBuffer(2)),
      new Date(NaN),
      new (class Point {
        x = 1;
      })(),
      new Error("e"),
      new BigInt64Array([1n]),
      [undefined],
      { u: undefined },
      NaN,
      -0,
      Infinity,
      10n,
      /re/g,
      new URL("https://x.test/"),
    );
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(value, extra, fc.array(extra, { maxLength: 3 })), (v) => {
        try {
          checkValue("k", v, Infinity, serializer);
        } catch (e) {
          assert.ok(e instanceof SessionDataError, String(e));
          assert.match(e.message, /^Cannot store session value at "k"/);
          refused++;
          return;
        }
        const back = roundTrip(serializer, v);
        assert.ok(isDeepStrictEqual(back, v), `changed: ${String(v)} came back as ${String(back)}`);
      }),
      { numRuns: 600 },
    );
    assert.ok(refused > 0);
  });
}

test("checkValue() names the path and the reason of each change a serializer would make", () => {
  const cases: [Serializer, unknown, RegExp][] = [
    [superjsonSerializer, { buf: new ArrayBuffer(8) }, /"k"\.buf: superjson writes an ArrayBuffer as \{\}/],
    [superjsonSerializer, [
      new (class Cart {
        items = [];
      })(),
    ], /"k"\[0\]: Cart instance comes back from superjson as a plain object/],
    [superjsonSerializer, { when: new Date("nope") }, /"k"\.when: an invalid Date comes back from superjson as null/],
    [superjsonSerializer, new Map([["a", new Error("x")]]), /"k"\.a: an Error comes back/],
    [jsonSerializer, { tags: new Set(["a"]) }, /"k"\.tags: a Set comes back from JSON as \{\}/],
    [jsonSerializer, new Map(), /"k": a Map comes back from JSON as \{\}/],
    [jsonSerializer, { score: NaN }, /"k"\.score: NaN comes back from JSON as null/],
    [jsonSerializer, [1, Infinity], /"k"\[1\]: Infinity comes back from JSON as null/],
    [jsonSerializer, [undefined], /"k"\[0\]: JSON drops undefined/],
    [jsonSerializer, 10n, /"k": JSON cannot write a BigInt/],
    [jsonSerializer, { [Symbol("s")]: 1 }, /"k": it has a symbol key/],
  ];
  for (const [serializer, value, message] of cases) {
    assert.throws(() => checkValue("k", value, Infinity, serializer), (e) => {
      assert.ok(e instanceof SessionDataError);
      assert.match(e.message, message);
      return true;
    });
  }
  // What survives is accepted: superjson's rich types, a null-prototype object (it comes back plain, same keys).
  const rich = {
    d: new Date(0),
    m: new Map([[1, new Set([2n])]]),
    r: /x/g,
    u: new URL("https://x.test/"),
    b: new Uint8Array([1]),
    n: NaN,
    z: -0,
    v: undefined,
  };
  checkValue("k", rich, Infinity, superjsonSerializer);
  assert.ok(isDeepStrictEqual(roundTrip(superjsonSerializer, rich), rich));
  const bare = Object.assign(Object.create(null), { a: 1 });
  checkValue("k", bare, Infinity, jsonSerializer);
  assert.deepEqual({ ...(roundTrip(jsonSerializer, bare) as object) }, { a: 1 });
});

test("checkValue() refuses an array with properties besides its items, which both serializers drop", () => {
  const match = "2024-05".match(/(?<year>\d+)-(?<month>\d+)/)!;
  const cases: [unknown, RegExp][] = [
    [match, /^Cannot store session value at "k": the array has a property "index" besides its items/],
    [{ tags: Object.assign(["a", "b"], { note: "x" }) }, /^Cannot store session value at "k"\.tags: .*"note"/],
    [[Object.assign([], { note: 1 })], /^Cannot store session value at "k"\[0\]: .*"note"/],
  ];
  for (const [name, serializer] of SERIALIZERS) {
    // What each would store today: the items only.
    assert.deepEqual(roundTrip(serializer, match), ["2024-05", "2024", "05"]);
    for (const [value, message] of cases) {
      assert.throws(() => checkValue("k", value, Infinity, serializer), (e) => {
        assert.ok(e instanceof SessionDataError, `${name}: ${String(e)}`);
        assert.match(e.message, message, name);
        assert.match(e.message, name === "jsonSerializer" ? /which JSON drops/ : /which superjson drops/);
        return true;
      });
    }
    // The items alone, or the properties in an object, are stored as they are.
    checkValue("k", [...match], Infinity, serializer);
    checkValue("k", { items: [...match], index: match.index, groups: { ...match.groups } }, Infinity, serializer);
  }
  // A symbol-keyed property is lost too, whatever the serializer.
  assert.throws(() => checkValue("k", Object.assign([1], { [Symbol("s")]: 1 })), {
    name: "SessionDataError",
    message: /"k": it has a symbol key/,
  });
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
    { d: { a: [1, 2, { b: null }], s: 'é\u2028"\\', t: true, e: {}, l: [] }, f: { m: "hi" } },
    { d: Object.assign(Object.create(null), { a: 1 }) },
    // Off the fast path: superjson annotates these, so the fast path must not take them.
    { d: { n: -0 } },
    { d: { n: NaN } },
    { d: { n: Infinity } },
    { d: { u: undefined } },
    { d: { arr: sparse } },
    { d: { when: new Date(0) } },
    { d: { a: shared, b: shared } },
    { d: { big: 10n } },
    { d: { m: new Map([["a", 1]]) } },
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
