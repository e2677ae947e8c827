/**
 * The check of a `secret` option: one string or a non-empty array of
 * strings, each at least 32 bytes. The first signs or seals, all verify.
 * @module
 */

/** Shortest secret accepted, in UTF-8 bytes: the size of an HMAC-SHA256 output. */
export const MIN_SECRET_BYTES = 32;

const HOW = "(generate one with: openssl rand -base64 48)";
const encoder = new TextEncoder();

/**
 * The secrets as a list, checked.
 * @param what What is being created, e.g. `"CookieStore"`, for the message.
 * @throws {TypeError} when `secrets` is neither a string nor a non-empty array of strings.
 * @throws {RangeError} when a secret is shorter than {@linkcode MIN_SECRET_BYTES}, naming which.
 */
export function secretList(what: string, secrets: unknown): string[] {
  const list: unknown[] = typeof secrets === "string" ? [secrets] : Array.isArray(secrets) ? [...secrets] : [];
  if (list.length === 0 || list.some((s) => typeof s !== "string")) {
    throw new TypeError(`Cannot create ${what}: secret must be a string or a non-empty array of strings ${HOW}`);
  }
  const strings = list as string[];
  strings.forEach((s, i) => {
    const size = encoder.encode(s).length;
    if (size < MIN_SECRET_BYTES) {
      const which = strings.length > 1 ? `secret[${i}]` : "secret";
      throw new RangeError(
        `Cannot create ${what}: ${which} must be at least ${MIN_SECRET_BYTES} bytes: received ${size} ${HOW}`,
      );
    }
  });
  return strings;
}
