/**
 * Values that may or may not be promises: in-process stores answer
 * synchronously, and the hot path keeps them synchronous (no promise, no
 * microtask) instead of awaiting everything.
 * @module
 */

/** Whether `value` is a promise (or any thenable) rather than a value. */
export function isThenable<V>(value: V | PromiseLike<V>): value is PromiseLike<V> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** `f(value)`, after `value` settles when it is a promise; synchronous otherwise. */
export function after<V, R>(value: V | PromiseLike<V>, f: (v: V) => R | PromiseLike<R>): R | Promise<R> {
  return isThenable(value) ? Promise.resolve(value).then(f) : (f(value) as R | Promise<R>);
}
