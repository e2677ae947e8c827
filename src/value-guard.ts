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
  /** Objects already checked (shared references are walked once): levels of nesting (itself included) and values written. */
  const done = new Map<object, { height: number; count: number }>();
  const onPath = new Set<object>();
  const trail: (string | number)[] = [];
  const fail = (why: string): never => {
    throw new SessionDataError(`Cannot store session value at ${describe(key, trail)}: ${why}`);
  };
  const LEAF = { height: 0, count: 1 };

  const visit = (v: unknown, depth: number): { height: number; count: number } => {
    if (typeof v === "function") return fail("functions cannot be stored; store plain data");
    if (typeof v === "symbol") return fail("symbols cannot be stored; store plain data");
    if (typeof v !== "object" || v === null || isLeafObject(v)) return LEAF;
    const known = done.get(v);
    if (known !== undefined) return depth + known.height > MAX_DEPTH ? fail(`nested more than ${MAX_DEPTH} levels deep`) : known;
    if (onPath.has(v)) return fail("it holds a circular reference");
    if (depth >= MAX_DEPTH) return fail(`nested more than ${MAX_DEPTH} levels deep`);
    onPath.add(v);
    let below = 0;
    let count = 1;
    const child = (k: string | number, x: unknown) => {
      trail.push(k);
      const r = visit(x, depth + 1);
      below = Math.max(below, r.height);
      count += r.count;
      if (count > maxValues) {
        fail(`it holds more than ${maxValues} values once written out (shared references are written at every use), over maxPayloadBytes`);
      }
      trail.pop();
    };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) child(i, v[i]);
    } else if (v instanceof Map) {
      let i = 0;
      for (const [k, x] of v) {
        child(`<map key ${i}>`, k);
        child(typeof k === "string" || typeof k === "number" ? k : `<map value ${i}>`, x);
        i++;
      }
    } else if (v instanceof Set) {
      let i = 0;
      for (const x of v) child(`<set item ${i++}>`, x);
    } else {
      for (const k of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(k)) {
          trail.push(k);
          fail("the key is reserved (prototype pollution); rename it");
        }
        child(k, (v as Record<string, unknown>)[k]);
      }
    }
    onPath.delete(v);
    const result = { height: below + 1, count };
    done.set(v, result);
    return result;
  };
  visit(value, 0);
}
