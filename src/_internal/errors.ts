/**
 * How a thrown value is shown in a log line or inside another error's message.
 * @module
 */

/** `Name: message` of an Error, else the value as a string. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return String(e);
  } catch {
    return "unknown error"; // an object whose toString throws
  }
}

/** A thrown value's message (without its name), cut to `max` characters, for error messages. */
export function messageOf(cause: unknown, max = 200): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.slice(0, max);
}
