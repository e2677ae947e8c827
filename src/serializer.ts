/**
 * How session data becomes a payload string and back. The default is
 * superjson, so `Date`, `Map`, `Set`, `BigInt`, `RegExp` and `undefined`
 * survive a round trip; {@linkcode jsonSerializer} is plain JSON.
 * @module
 */
import superjson from "superjson";
import { FORBIDDEN_KEYS, MAX_DEPTH, type RoundTripCheck } from "./value-guard.ts";

export type { RoundTripCheck } from "./value-guard.ts";

/** Turns session data into a string and back. */
export interface Serializer {
  /** Turn session data into the payload string a store keeps. */
  stringify(value: unknown): string;
  /** Turn a payload string back into session data; throws on text it cannot read. */
  parse(text: string): unknown;
  /**
   * Why a value would not come back exactly, or `undefined` when it would.
   * `set()`, `update()` and `flash()` ask it for every value they store (the
   * guard walks arrays, objects, maps and sets and asks for each value
   * inside), and throw `SessionDataError` naming the path and this reason,
   * so nothing is stored changed. Optional: without it, only the checks
   * every serializer shares apply (functions, cycles, depth, keys).
   */
  check?: RoundTripCheck;
}

/** Typed arrays that superjson writes and reads back as the same class (not the BigInt ones: it cannot write them). */
const SUPERJSON_TYPED_ARRAYS: ReadonlySet<object> = new Set(
  [
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
  ]
    .map((c) => c.prototype),
);

/** `Foo`, for the message about an instance of a class the serializer drops. */
function className(value: object): string {
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === "string" && name !== "" ? name : "a class";
}

/**
 * Whether `value` is an array or object that both serializers write as JSON
 * does. Refused here: holes, and an array's properties besides its items (a
 * RegExp match's `index` and `groups`, `arr.note = …`), which neither writes.
 * They are refused rather than carried: JSON has no place for them, and a
 * format of our own would make payloads other readers cannot parse.
 */
function plainContainerWhy(value: object, proto: unknown, name: string): string | undefined | null {
  if (proto === Array.prototype) {
    const array = value as unknown[];
    for (let i = 0; i < array.length; i++) {
      if (!(i in array)) {
        return `the array has a hole at [${i}], which ${name} writes as a value; fill it (null or undefined)`;
      }
    }
    // With no holes, the items are the first `length` keys: any further key is a property.
    const keys = Object.keys(array);
    if (keys.length > array.length) {
      return `the array has a property ${JSON.stringify(keys[array.length])} besides its items, which ${name} ` +
        "drops; store the items ([...array]) and the properties in an object";
    }
    return undefined;
  }
  // A null prototype comes back as a plain object with the same keys: the data is the same.
  if (proto === Object.prototype || proto === null) return undefined;
  return null; // not a plain container: the caller decides
}

/** What JSON (`jsonSerializer`) would not give back exactly. */
export function jsonRoundTrip(value: unknown): string | undefined {
  const use = "use superjsonSerializer (the default)";
  switch (typeof value) {
    case "number":
      if (Number.isNaN(value)) return `NaN comes back from JSON as null; store null, or ${use}`;
      if (!Number.isFinite(value)) return `${value} comes back from JSON as null; store a finite number, or ${use}`;
      if (Object.is(value, -0)) return `-0 comes back from JSON as 0; store 0, or ${use}`;
      return undefined;
    case "undefined":
      return `JSON drops undefined (or writes null in an array); delete the key or store null, or ${use}`;
    case "bigint":
      return `JSON cannot write a BigInt; store it as a string, or ${use}`;
    case "object": {
      if (value === null) return undefined;
      const proto = Object.getPrototypeOf(value);
      const plain = plainContainerWhy(value, proto, "JSON");
      if (plain !== null) return plain;
      if (value instanceof Date) {
        return `a Date comes back from JSON as a string; store date.toISOString() or a number, or ${use}`;
      }
      if (value instanceof Map || value instanceof Set) {
        return `a ${
          value instanceof Map ? "Map" : "Set"
        } comes back from JSON as {}; store an array or object, or ${use}`;
      }
      return `${
        className(value)
      } instance comes back from JSON as a plain object or string (its class is lost); store plain data`;
    }
    default:
      return undefined;
  }
}

/** superjson writes a float array's items as JSON numbers: NaN, ±Infinity and -0 come back as 0. */
function floatsWhy(array: Float32Array | Float64Array): string | undefined {
  for (let i = 0; i < array.length; i++) {
    const x = array[i]!;
    if (!Number.isFinite(x) || Object.is(x, -0)) {
      return `superjson writes ${x} at [${i}] of a ${className(array)} as 0; store a plain array`;
    }
  }
  return undefined;
}

/** What superjson (`superjsonSerializer`) would not give back exactly. */
export function superjsonRoundTrip(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined; // every primitive superjson writes survives
  const proto = Object.getPrototypeOf(value);
  const plain = plainContainerWhy(value, proto, "superjson");
  if (plain !== null) return plain;
  if (proto === Map.prototype || proto === Set.prototype || proto === RegExp.prototype || proto === URL.prototype) {
    return undefined;
  }
  if (proto === Date.prototype) {
    return Number.isNaN((value as Date).getTime())
      ? "an invalid Date comes back from superjson as null; store null"
      : undefined;
  }
  if (SUPERJSON_TYPED_ARRAYS.has(proto)) {
    return value instanceof Float32Array || value instanceof Float64Array ? floatsWhy(value) : undefined;
  }
  if (value instanceof ArrayBuffer || value instanceof DataView) {
    return `superjson writes ${
      value instanceof DataView ? "a DataView" : "an ArrayBuffer"
    } as {}; store a Uint8Array of it`;
  }
  if (ArrayBuffer.isView(value)) {
    return `superjson cannot write a ${
      className(value)
    } back as one; store a Uint8Array, or an array of strings for BigInts`;
  }
  if (value instanceof Error) {
    return "an Error comes back from superjson without its class, stack or own properties; store its message";
  }
  return `${
    className(value)
  } instance comes back from superjson as a plain object (its class is lost); store plain data`;
}

/**
 * Whether superjson would write `value` as plain JSON with no `meta`: only
 * strings, booleans, null, finite numbers other than -0, arrays without
 * holes and plain objects, each object met once (superjson annotates an
 * object met twice), no key superjson refuses, at most MAX_DEPTH levels deep.
 * Session data is small: past 256 objects it answers false (superjson then
 * does the work, and the result is the same).
 */
function isPlainJson(value: unknown, seen: object[], depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth > MAX_DEPTH || seen.length > 256 || seen.includes(value)) return false;
      seen.push(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isPlainJson(value[i], seen, depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (FORBIDDEN_KEYS.has(key) || !isPlainJson((value as Record<string, unknown>)[key], seen, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

/** superjson: rich types survive (the default). */
export const superjsonSerializer: Serializer = {
  check: superjsonRoundTrip,
  // Plain JSON data (the common case) skips superjson's walk: the text is
  // exactly what superjson.stringify writes for it, `{"json":…}` with no meta.
  stringify: (value) => isPlainJson(value, [], 0) ? JSON.stringify({ json: value }) : superjson.stringify(value),
  parse: (text) => superjson.parse(text),
};

/**
 * Plain JSON: smaller and faster. Only what JSON gives back exactly may be
 * stored: strings, booleans, null, finite numbers, arrays and plain objects
 * (a Date, Map, NaN or undefined is refused at `set()`).
 */
export const jsonSerializer: Serializer = {
  check: jsonRoundTrip,
  stringify: (value) => JSON.stringify(value),
  parse: (text) => JSON.parse(text),
};
