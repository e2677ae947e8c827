/**
 * The checks a value passes when it enters a session (`set`, `update`,
 * `flash`), so that what cannot be stored faithfully fails at the call that
 * put it there, with a message naming the path, instead of at commit (or
 * worse, on a later load, or silently).
 * @module
 */
import { SessionDataError } from "./errors.ts";

/**
 * Deepest nesting accepted in a session value: `{ a: 1 }` is 1 level,
 * `{ a: [1] }` 2. Real session data is shallow; the limit keeps the
 * serializer's recursion far from any runtime's stack limit (superjson
 * overflows near 5 000 levels on Node and Deno) on both write and read.
 */
export const MAX_DEPTH = 64;

/** Keys refused at any depth: they reach prototypes, and superjson refuses to write them anyway. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Why a serializer would not give `value` back exactly, or `undefined` when
 * it would. It judges one value, not its contents: the guard walks into
 * arrays, plain objects, maps and sets itself and asks again for each value
 * inside, except strings, booleans and `null` (every serializer keeps them).
 */
export type RoundTripCheck = (value: unknown) => string | undefined;

/** What the guard needs from a serializer: its {@linkcode RoundTripCheck}, when it declares one. */
export interface CheckedSerializer {
  check?: RoundTripCheck;
}

/** Objects stored as one leaf (their serializer writes them whole). */
function isLeafObject(v: object): boolean {
  return v instanceof Date || v instanceof RegExp || v instanceof URL || v instanceof Error ||
    v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function describe(key: string, trail: readonly (string | number)[]): string {
  let path = JSON.stringify(key);
  for (const k of trail) {
    path += typeof k === "number" ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  }
  return path;
}

/** State of one check: module functions taking it, rather than closures, keep `set()` cheap. */
interface Walk {
  key: string;
  /** The serializer's round-trip check, if it declares one. */
  check: RoundTripCheck | undefined;
  maxValues: number;
  /** Objects seen: -1 while on the current path (a cycle if met again), else their packed result. */
  seen: Map<object, number>;
  trail: (string | number)[];
}

/** Results are packed as `count * 128 + height` (height ≤ 65), to avoid an object per node. */
const PACK = 128;

const SYMBOL_KEY = "it has a symbol key, which no serializer writes; use a string key";

function fail(w: Walk, why: string): never {
  throw new SessionDataError(`Cannot store session value at ${describe(w.key, w.trail)}: ${why}`);
}

/** Whether every serializer keeps `x` as it is: the common case, checked without a call. */
function isKept(x: unknown): boolean {
  return x === null || typeof x === "string" || typeof x === "boolean";
}

/** Refuse a primitive the serializer would change (NaN in JSON, a BigInt JSON cannot write, …). */
function checkPrimitive(w: Walk, k: string | number, x: unknown): void {
  const why = w.check!(x);
  if (why === undefined) return;
  w.trail.push(k);
  fail(w, why);
}

function visitChild(w: Walk, k: string | number, x: unknown, depth: number, acc: number): number {
  // Primitives are the common case: no trail bookkeeping for them.
  if (isKept(x)) return acc + PACK;
  if (typeof x !== "object" && typeof x !== "function" && typeof x !== "symbol") {
    if (w.check !== undefined) checkPrimitive(w, k, x);
    return acc + PACK;
  }
  w.trail.push(k);
  const r = visit(w, x, depth);
  const height = Math.max(acc % PACK, r % PACK);
  const count = Math.floor(acc / PACK) + Math.floor(r / PACK);
  if (count > w.maxValues) {
    fail(
      w,
      `it holds more than ${w.maxValues} values once written out ` +
        "(shared references are written at every use), over maxPayloadBytes",
    );
  }
  w.trail.pop();
  return count * PACK + height;
}

function visit(w: Walk, v: unknown, depth: number): number {
  if (typeof v === "function") return fail(w, "functions cannot be stored; store plain data");
  if (typeof v === "symbol") return fail(w, "symbols cannot be stored; store plain data");
  if (typeof v !== "object" || v === null) return PACK;
  const why = w.check?.(v);
  if (why !== undefined) return fail(w, why);
  if (isLeafObject(v)) return PACK; // one value, no nesting
  const known = w.seen.get(v);
  if (known === -1) return fail(w, "it holds a circular reference");
  if (known !== undefined) {
    return depth + (known % PACK) > MAX_DEPTH ? fail(w, `nested more than ${MAX_DEPTH} levels deep`) : known;
  }
  if (depth >= MAX_DEPTH) return fail(w, `nested more than ${MAX_DEPTH} levels deep`);
  w.seen.set(v, -1);
  let acc = PACK; // this object: one value, height so far 0 below it
  const d = depth + 1;
  if (Array.isArray(v)) {
    if (Object.getOwnPropertySymbols(v).length > 0) fail(w, SYMBOL_KEY);
    for (let i = 0; i < v.length; i++) acc = visitChild(w, i, v[i], d, acc);
  } else if (v instanceof Map) {
    let i = 0;
    for (const [k, x] of v) {
      acc = visitChild(w, `<map key ${i}>`, k, d, acc);
      acc = visitChild(w, typeof k === "string" || typeof k === "number" ? k : `<map value ${i}>`, x, d, acc);
      i++;
    }
  } else if (v instanceof Set) {
    let i = 0;
    for (const x of v) acc = visitChild(w, `<set item ${i++}>`, x, d, acc);
  } else {
    if (Object.getOwnPropertySymbols(v).length > 0) fail(w, SYMBOL_KEY);
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k)) {
        w.trail.push(k);
        fail(w, "the key is reserved (prototype pollution); rename it");
      }
      acc = visitChild(w, k, (v as Record<string, unknown>)[k], d, acc);
    }
  }
  const result = acc + 1; // this object adds a level to the tallest child
  w.seen.set(v, result);
  return result;
}

/**
 * Check a value entering the session under `key`.
 * @param maxValues How many values the serialized form may hold at most:
 *   shared (not circular) references are written out in full at every use,
 *   so a small graph can serialize to an exponential size. Each value takes
 *   at least a byte, so the session's `maxPayloadBytes` is a safe bound.
 * @param serializer The session's serializer: when it declares a
 *   {@linkcode RoundTripCheck} (`check`), every value it would not give back
 *   exactly is refused too (NaN, Map or Date under JSON; an ArrayBuffer, a
 *   class instance or an invalid Date under superjson).
 * @throws {SessionDataError} when the value holds a function or a symbol
 *   (no serializer keeps them: they would vanish without a word), a symbol
 *   key, a key `__proto__`, `constructor` or `prototype` at any depth, a
 *   circular reference, more than {@linkcode MAX_DEPTH} levels of nesting,
 *   more than `maxValues` values once written out, or a value the
 *   serializer's check refuses. The message names the path and why.
 */
export function checkValue(key: string, value: unknown, maxValues = Infinity, serializer?: CheckedSerializer): void {
  if (isKept(value)) return;
  const w: Walk = { key, check: serializer?.check, maxValues, seen: new Map(), trail: [] };
  if (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol") {
    if (w.check !== undefined) {
      const why = w.check(value);
      if (why !== undefined) fail(w, why);
    }
    return;
  }
  visit(w, value, 0);
}
