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

/** superjson: rich types survive (the default). */
export const superjsonSerializer: Serializer = {
  stringify: (value) => superjson.stringify(value),
  parse: (text) => superjson.parse(text),
};

/** Plain JSON: smaller and faster; Dates come back as strings. */
export const jsonSerializer: Serializer = {
  stringify: (value) => JSON.stringify(value),
  parse: (text) => JSON.parse(text),
};
