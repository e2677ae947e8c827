/**
 * HTTP pieces shared by the states, the middleware and CookieStore.
 * @module
 */
import type { Context } from "hono";

/** An HTTP token (RFC 9110 `tchar`s): what a header or cookie name may be. */
export const HTTP_TOKEN: RegExp = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Add a header to the response the handler already returned, in place:
 * Hono's `c.header()` at that point copies the whole Response for each header,
 * and on Bun the copy loses the implicit Content-Type of a `c.text()` body
 * (bench/RESULTS.md#what-was-changed-for-speed-and-measured). Headers that
 * cannot change (a Response passed through from `fetch()`) still go through
 * `c.header()`, which copies.
 */
export function addResponseHeader(c: Context, name: string, value: string, append = false): void {
  if (c.finalized) {
    try {
      if (append) c.res.headers.append(name, value);
      else c.res.headers.set(name, value);
      return;
    } catch {
      // Immutable headers: let Hono copy the response.
    }
  }
  c.header(name, value, append ? { append: true } : undefined);
}
