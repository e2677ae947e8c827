/**
 * The session token in a cookie: `HttpOnly`, `SameSite=Lax`, `Path=/` and
 * `Secure` on https by default.
 * @module
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { SessionState } from "./types.ts";
import { rejectUnknownKeys, withDefaults } from "../_internal/options.ts";
import { addResponseHeader, HTTP_TOKEN } from "../_internal/http.ts";

/** Options of {@linkcode CookieState}. */
export interface CookieStateOptions {
  /** Cookie name (without the `__Host-` prefix). @default "satchel" */
  name?: string;
  /** The cookie's `Path` attribute. @default "/" */
  path?: string;
  /** The cookie's `Domain` attribute. @default undefined (host-only cookie) */
  domain?: string;
  /** The `HttpOnly` attribute: scripts in the page cannot read the cookie. @default true */
  httpOnly?: boolean;
  /**
   * The `SameSite` attribute; `"None"` forces `Secure`. Lowercase is
   * accepted too, as in `hono/cookie`. @default "Lax"
   */
  sameSite?: "Strict" | "Lax" | "None" | "strict" | "lax" | "none";
  /**
   * `true`, `false`, or `"auto"`: Secure when the request came over https
   * (or, with `trustProxy`, when `X-Forwarded-Proto` says https).
   * @default "auto"
   */
  secure?: boolean | "auto";
  /** Believe `X-Forwarded-Proto` for `secure: "auto"`. Only behind a proxy you run. @default false */
  trustProxy?: boolean;
  /** Add the `Partitioned` attribute (CHIPS); needs Secure. @default false */
  partitioned?: boolean;
  /**
   * Persistent cookie with `Max-Age` = the session's idle lifetime, renewed
   * with it; `false` makes a browser-session cookie. @default false
   */
  persistent?: boolean;
  /** Name the cookie `__Host-<name>`: forces Secure, Path=/ and no Domain. @default false */
  hostPrefix?: boolean;
}

/** The option keys of {@linkcode CookieStateOptions}. */
const KNOWN = [
  "name",
  "path",
  "domain",
  "httpOnly",
  "sameSite",
  "secure",
  "trustProxy",
  "partitioned",
  "persistent",
  "hostPrefix",
];
/** Cookie options of other libraries (express-session, hono/cookie) and what CookieState calls them. */
const HINTS: Readonly<Record<string, string>> = {
  maxAge: "use persistent: true; Max-Age follows the session's expires",
  expires: "use persistent: true; the lifetime is the session option expires",
  prefix: 'use hostPrefix: true for "host"; a __Secure- name for "secure"',
  signed: "the session token is always signed; drop signed",
  priority: "not supported; drop priority",
};
const SAME_SITE: Readonly<Record<string, "Strict" | "Lax" | "None">> = { strict: "Strict", lax: "Lax", none: "None" };
const ATTR = /^[\x21-\x3a\x3c-\x7e]+$/; // printable, no ';'
/** Characters of a token Satchel issues (and of none that Hono's cookie parse would change or refuse). */
const TOKEN_CHARS = /^[A-Za-z0-9._-]*$/;

/** The longest `Max-Age` sent, in seconds: 400 days, what browsers keep at most (RFC 6265bis §5.6.2). */
const MAX_COOKIE_AGE = 400 * 24 * 3600;

/**
 * Cookie transport for the session token.
 * @example
 * ```ts
 * import { CookieState, session } from "satchel";
 * const mw = session({
 *   secret: "at least thirty-two bytes of secret!!",
 *   state: new CookieState({ name: "sid", hostPrefix: true, persistent: true }),
 * });
 * ```
 */
export class CookieState implements SessionState {
  /** The cookie's full name, prefix included. */
  readonly name: string;
  #attrs: string;
  #secure: boolean | "auto";
  #trustProxy: boolean;
  /** Whether the cookie carries `Max-Age` (the `persistent` option). */
  readonly persistent: boolean;

  /**
   * Checks the options once and builds the cookie's attributes.
   * @throws {TypeError} on a bad name, attribute, or a combination browsers reject.
   */
  constructor(options: CookieStateOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot create session cookie: options must be an object: received ${
          options === null ? "null" : typeof options
        }`,
      );
    }
    rejectUnknownKeys("session cookie", options, KNOWN, HINTS);
    const o = withDefaults({
      name: "satchel",
      path: "/",
      httpOnly: true,
      sameSite: "Lax" as CookieStateOptions["sameSite"] & string,
      secure: "auto" as const,
      trustProxy: false,
      partitioned: false,
      persistent: false,
      hostPrefix: false,
    }, options);
    const fail = (why: string) => {
      throw new TypeError(`Cannot create session cookie: ${why}`);
    };
    if (!HTTP_TOKEN.test(o.name)) fail(`name must be a cookie token: received ${JSON.stringify(o.name)}`);
    if (!ATTR.test(o.path) || !o.path.startsWith("/")) {
      fail(`path must start with "/" and hold no ";": received ${JSON.stringify(o.path)}`);
    }
    if (o.domain !== undefined && !ATTR.test(o.domain)) {
      fail(`domain holds invalid characters: received ${JSON.stringify(o.domain)}`);
    }
    const sameSite = typeof o.sameSite === "string" ? SAME_SITE[o.sameSite.toLowerCase()] : undefined;
    if (sameSite === undefined || !(o.sameSite === sameSite || o.sameSite === sameSite.toLowerCase())) {
      fail(`sameSite must be "Strict", "Lax" or "None" (or lowercase): received ${JSON.stringify(o.sameSite)}`);
    }
    if (o.secure !== true && o.secure !== false && o.secure !== "auto") fail(`secure must be true, false or "auto"`);
    if (
      typeof o.trustProxy !== "boolean" || typeof o.persistent !== "boolean" || typeof o.partitioned !== "boolean" ||
      typeof o.hostPrefix !== "boolean"
    ) {
      fail("trustProxy, persistent, partitioned and hostPrefix must be booleans");
    }
    // Browsers match the prefixes case-insensitively and silently drop a
    // prefixed cookie that breaks their rules: refuse such a setup now.
    const lower = o.name.toLowerCase();
    if (lower.startsWith("__host-")) {
      fail(
        `name ${JSON.stringify(o.name)} carries the __Host- prefix; use { hostPrefix: true, name: ${
          JSON.stringify(o.name.slice(7))
        } }`,
      );
    }
    if (o.hostPrefix) {
      if (o.secure === false) fail("hostPrefix (__Host-) needs Secure; remove secure: false");
      if (o.path !== "/") fail(`hostPrefix (__Host-) needs path "/": received ${JSON.stringify(o.path)}`);
      if (o.domain !== undefined) fail("hostPrefix (__Host-) forbids a domain; remove the domain option");
      if (lower.startsWith("__secure-")) {
        fail(`hostPrefix (__Host-) and a __Secure- name do not combine: received ${JSON.stringify(o.name)}`);
      }
      o.secure = true;
    }
    if (lower.startsWith("__secure-")) {
      if (o.secure === false) fail(`a name starting with __Secure- needs Secure; remove secure: false`);
      o.secure = true;
    }
    if (o.partitioned && o.secure === false) fail("partitioned needs Secure; remove secure: false");
    if (sameSite === "None" && o.secure === false) fail('sameSite "None" needs Secure; remove secure: false');
    this.name = o.hostPrefix ? `__Host-${o.name}` : o.name;
    let attrs = `; Path=${o.path}`;
    if (o.domain !== undefined) attrs += `; Domain=${o.domain}`;
    if (o.httpOnly) attrs += "; HttpOnly";
    attrs += `; SameSite=${sameSite}`;
    if (o.partitioned) attrs += "; Partitioned";
    this.#attrs = attrs;
    // Partitioned and SameSite=None cookies are dropped by browsers without Secure.
    this.#secure = o.partitioned || sameSite === "None" ? true : o.secure;
    this.#trustProxy = o.trustProxy;
    this.persistent = o.persistent;
  }

  #isSecure(c: Context): boolean {
    if (this.#secure !== "auto") return this.#secure;
    if (this.#trustProxy) {
      const proto = c.req.header("x-forwarded-proto");
      if (proto !== undefined) return proto.split(",")[0]!.trim().toLowerCase() === "https";
    }
    return c.req.url.startsWith("https:");
  }

  /**
   * The token in the request's cookie, or `undefined`: the value Hono's
   * `getCookie(c, name)` returns. The common case (the first mention of the
   * name starts a pair and its value has only token characters) is read in
   * place instead of splitting the whole header
   * (bench/RESULTS.md#what-was-changed-for-speed-and-measured); anything
   * else is left to `getCookie`, so the answer is the same.
   */
  read(c: Context): string | undefined {
    const header = c.req.raw.headers.get("cookie");
    if (header === null) return undefined;
    const name = this.name;
    const at = header.indexOf(name);
    if (at === -1) return undefined;
    let before = at - 1;
    while (before >= 0 && (header.charCodeAt(before) === 32 || header.charCodeAt(before) === 9)) before--;
    if ((before === -1 || header.charCodeAt(before) === 59) && header.charCodeAt(at + name.length) === 61) {
      let end = header.indexOf(";", at + name.length + 1);
      if (end === -1) end = header.length;
      let start = at + name.length + 1;
      // Only spaces and tabs, as Hono trims (String.trim would also drop characters Hono refuses).
      while (start < end && (header.charCodeAt(start) === 32 || header.charCodeAt(start) === 9)) start++;
      while (end > start && (header.charCodeAt(end - 1) === 32 || header.charCodeAt(end - 1) === 9)) end--;
      const value = header.slice(start, end);
      if (TOKEN_CHARS.test(value)) return value;
    }
    return getCookie(c, name);
  }

  /**
   * Sets the cookie: with `Max-Age` (at most 400 days, the cap browsers apply) when persistent or for a session with its
   * own lifetime, `Secure` as configured.
   */
  write(c: Context, token: string, maxAge: number, persistent = this.persistent): void {
    let cookie = `${this.name}=${token}${this.#attrs}`;
    if (persistent) cookie += `; Max-Age=${Math.min(maxAge, MAX_COOKIE_AGE)}`;
    if (this.#isSecure(c)) cookie += "; Secure";
    addResponseHeader(c, "Set-Cookie", cookie, true);
  }

  /**
   * Bytes of the longest `Set-Cookie` line {@linkcode CookieState.write}
   * makes for a value of `valueBytes` bytes: with `Secure` and a ten-digit
   * `Max-Age`. CookieStore sizes its cookies with it.
   */
  maxLineBytes(valueBytes: number): number {
    return this.name.length + 1 + valueBytes + this.#attrs.length + "; Max-Age=9999999999; Secure".length;
  }

  /** Expires the cookie in the browser. */
  clear(c: Context): void {
    let cookie = `${this.name}=${this.#attrs}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
    if (this.#isSecure(c)) cookie += "; Secure";
    addResponseHeader(c, "Set-Cookie", cookie, true);
  }
}
