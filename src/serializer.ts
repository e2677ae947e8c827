/**
 * How session data becomes a payload string and back. The default is
 * superjson, so `Date`, `Map`, `Set`, `BigInt`, `RegExp` and `undefined`
 * survive a round trip; {@linkcode jsonSerializer} is plain JSON.
 * @module
 */
import superjson from "superjson";

/** Turns session data into a string and back. */
export interface Serializer {
  /** Turn session data into the payload string a store keeps. */
  stringify(value: unknown): string;
  /** Turn a payload string back into session data; throws on text it cannot read. */
  parse(text: string): unknown;
}

const SUPERJSON_REFUSED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Whether superjson would write `value` as plain JSON with no `meta`: only
 * strings, booleans, null, finite numbers other than -0, arrays without
 * holes and plain objects, each object met once (superjson annotates an
 * object met twice), no key superjson refuses, at most 64 levels deep.
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
      if (depth > 64 || seen.length > 256 || seen.includes(value)) return false;
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
        if (SUPERJSON_REFUSED_KEYS.has(key) || !isPlainJson((value as Record<string, unknown>)[key], seen, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** superjson: rich types survive (the default). */
export const superjsonSerializer: Serializer = {
  // Plain JSON data (the common case) skips superjson's walk: the text is
  // exactly what superjson.stringify writes for it, `{"json":…}` with no meta.
  stringify: (value) => isPlainJson(value, [], 0) ? JSON.stringify({ json: value }) : superjson.stringify(value),
  parse: (text) => superjson.parse(text),
};

/** Plain JSON: smaller and faster; Dates come back as strings. */
export const jsonSerializer: Serializer = {
  stringify: (value) => JSON.stringify(value),
  parse: (text) => JSON.parse(text),
};
