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

/** Objects stored as one leaf (their serializer writes them whole). */
function isLeafObject(v: object): boolean {
  return v instanceof Date || v instanceof RegExp || v instanceof URL || v instanceof Error ||
    v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function describe(key: string, trail: readonly (string | number)[]): string {
  let path = JSON.stringify(key);
  for (const k of trail) path += typeof k === "number" ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  return path;
}

/** State of one check; module functions instead of closures keep `set()` cheap (about 1 µs for a small object). */
interface Walk {
  key: string;
  maxValues: number;
  /** Objects seen: -1 while on the current path (a cycle if met again), else their packed result. */
  seen: Map<object, number>;
  trail: (string | number)[];
}

/** Results are packed as `count * 128 + height` (height ≤ 65), to avoid an object per node. */
const PACK = 128;

function fail(w: Walk, why: string): never {
  throw new SessionDataError(`Cannot store session value at ${describe(w.key, w.trail)}: ${why}`);
}

function visitChild(w: Walk, k: string | number, x: unknown, depth: number, acc: number): number {
  // Primitives are the common case: no trail bookkeeping for them.
  if (x === null || (typeof x !== "object" && typeof x !== "function" && typeof x !== "symbol")) {
    return acc + PACK;
  }
  w.trail.push(k);
  const r = visit(w, x, depth);
  const height = Math.max(acc % PACK, r % PACK);
  const count = Math.floor(acc / PACK) + Math.floor(r / PACK);
  if (count > w.maxValues) {
    fail(w, `it holds more than ${w.maxValues} values once written out (shared references are written at every use), over maxPayloadBytes`);
  }
  w.trail.pop();
  return count * PACK + height;
}

function visit(w: Walk, v: unknown, depth: number): number {
  if (typeof v === "function") return fail(w, "functions cannot be stored; store plain data");
  if (typeof v === "symbol") return fail(w, "symbols cannot be stored; store plain data");
  if (typeof v !== "object" || v === null || isLeafObject(v)) return PACK; // one value, no nesting
  const known = w.seen.get(v);
  if (known === -1) return fail(w, "it holds a circular reference");
  if (known !== undefined) return depth + (known % PACK) > MAX_DEPTH ? fail(w, `nested more than ${MAX_DEPTH} levels deep`) : known;
  if (depth >= MAX_DEPTH) return fail(w, `nested more than ${MAX_DEPTH} levels deep`);
  w.seen.set(v, -1);
  let acc = PACK; // this object: one value, height so far 0 below it
  const d = depth + 1;
  if (Array.isArray(v)) {
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
 * @throws {SessionDataError} when the value holds a function or a symbol
 *   (no serializer keeps them: they would vanish without a word), a key
 *   `__proto__`, `constructor` or `prototype` at any depth, a circular
 *   reference, more than {@linkcode MAX_DEPTH} levels of nesting, or more
 *   than `maxValues` values once written out.
 */
export function checkValue(key: string, value: unknown, maxValues = Infinity): void {
  if (value === null || (typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol")) return;
  visit({ key, maxValues, seen: new Map(), trail: [] }, value, 0);
}
