/**
 * Calling an app's callback (`onEvent`, `onSweep`, `onLateStoreError`) so
 * that it can never fail a request or become an unhandled rejection: a throw
 * or a rejected promise is reported on the console and goes no further.
 * @module
 */
import { describeError } from "./errors.ts";

/** Report a callback's failure: its name and the error's name and message (no stack, no request data). */
function report(label: string, error: unknown): void {
  try {
    console.error(`satchel: ${label} failed: ${describeError(error)}`);
  } catch {
    // A console that throws must not turn a report into the failure it reports.
  }
}

/**
 * Call `fn(...args)`; a throw, or a rejection of the promise it returns, is
 * reported under `label` and swallowed.
 */
export function callSafely<A extends unknown[]>(label: string, fn: (...args: A) => unknown, ...args: A): void {
  let result: unknown;
  try {
    result = fn(...args);
  } catch (error) {
    report(label, error);
    return;
  }
  if (typeof (result as PromiseLike<unknown> | null)?.then === "function") {
    Promise.resolve(result).then(undefined, (error: unknown) => report(label, error));
  }
}
