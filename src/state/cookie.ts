/**
 * The session token in a cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`, and
 * `Secure` with the `__Host-` prefix unless the request is plain HTTP to a
 * loopback host (local development), by default.
 * @module
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { SessionState } from "./types.ts";
import { rejectUnknownKeys, withDefaults } from "../_internal/options.ts";
import { addResponseHeader, HTTP_TOKEN } from "../_internal/http.ts";
import { MAX_COOKIE_AGE } from "../_internal/sizes.ts";

/** Options of {@linkcode CookieState}. */
export interface CookieStateOptions {
  /**
   * Cookie name, without the `__Host-` prefix: a generic name that does not
   * reveal the technology (OWASP Session Management Cheat Sheet).
   * @default "sid" (sent as `__Host-sid` when the prefix applies, see `hostPrefix`)
   */
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
   * `true`, `false`, or `"auto"`: Secure unless the request is plain HTTP to
   * a loopback host (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`)
   * without `X-Forwarded-Proto: https`. So an app behind a TLS-terminating
   * proxy is Secure with no option, and local development over
   * `http://localhost` works. Plain HTTP to any other host gets a Secure
   * cookie (browsers drop it) and one console warning naming this option:
   * set `false` only for a plain-HTTP server that is not on loopback.
   * @default "auto"
   */
  secure?: boolean | "auto";
  /** Add the `Partitioned` attribute (CHIPS); needs Secure. @default false */
  partitioned?: boolean;
  /**
   * Persistent cookie with `Max-Age` = the session's idle lifetime, renewed
   * with it; `false` makes a browser-session cookie. @default false
   */
  persistent?: boolean;
  /**
   * Name the cookie `__Host-<name>`, which browsers accept only with Secure,
   * Path=/ and no Domain, so a sibling subdomain cannot plant or overwrite it.
   * `"auto"`: whenever the cookie is Secure, its path is "/" and it has no
   * domain (over `http://localhost` it is plain `<name>`). `true`: always,
   * forcing Secure. `false`: never. The cookie is read under the name the same
   * request would write.
   * @default "auto"
   */
  hostPrefix?: boolean | "auto";
}

/** The option keys of {@linkcode CookieStateOptions}. */
const KNOWN = [
  "name",
  "path",
  "domain",
  "httpOnly",
  "sameSite",
  "secure",
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
  trustProxy: "no longer needed: the cookie is Secure unless the request is plain HTTP to a loopback host; " +
    "drop trustProxy",
};
const SAME_SITE: Readonly<Record<string, "Strict" | "Lax" | "None">> = { strict: "Strict", lax: "Lax", none: "None" };
const ATTR = /^[\x21-\x3a\x3c-\x7e]+$/; // printable, no ';'
/** Characters of a token Satchel issues (and of none that Hono's cookie parse would change or refuse). */
const TOKEN_CHARS = /^[A-Za-z0-9._-]*$/;

const HOST_PREFIX = "__Host-";

/**
 * Whether the host of an `http:` URL is a loopback one: `localhost` or a name
 * under it (RFC 6761), `127.0.0.0/8`, or `[::1]`. The runtime's URL parser has
 * already lower-cased the host and written IPv4 and IPv6 addresses canonically.
 */
function isLoopbackUrl(url: string): boolean {
  const start = url.indexOf("//") + 2;
  let end = start;
  while (end < url.length) {
    const ch = url.charCodeAt(end);
    if (ch === 47 || ch === 63 || ch === 35) break; // "/", "?", "#"
    end++;
  }
  let host = url.slice(start, end);
  host = host.slice(host.lastIndexOf("@") + 1);
  if (host.startsWith("[")) return host.startsWith("[::1]");
  const colon = host.indexOf(":");
  if (colon !== -1) host = host.slice(0, colon);
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether the first proxy in `X-Forwarded-Proto` says the client used https. */
function forwardedHttps(c: Context): boolean {
  const proto = c.req.raw.headers.get("x-forwarded-proto");
  return proto !== null && proto.split(",")[0]!.trim().toLowerCase() === "https";
}

/**
 * Cookie transport for the session token.
 * @example
 * ```ts
 * import { CookieState, session } from "satchel";
 * const mw = session({
 *   secret: "at least thirty-two bytes of secret!!",
 *   state: new CookieState({ name: "sid", persistent: true }),
 * });
 * ```
 */
export class CookieState implements SessionState {
  /**
   * The cookie's name as configured: with `hostPrefix: true` it carries the
   * `__Host-` prefix; with `"auto"` the prefix is added per request (see
   * {@linkcode CookieState.nameFor}).
   */
  readonly name: string;
  #attrs: string;
  #secure: boolean | "auto";
  /** The name with the `__Host-` prefix when `hostPrefix: "auto"` may add it, else undefined. */
  #prefixed: string | undefined;
  #warned = false;
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
      name: "sid",
      path: "/",
      httpOnly: true,
      sameSite: "Lax" as CookieStateOptions["sameSite"] & string,
      secure: "auto" as boolean | "auto",
      partitioned: false,
      persistent: false,
      hostPrefix: "auto" as boolean | "auto",
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
    if (typeof o.persistent !== "boolean" || typeof o.partitioned !== "boolean") {
      fail("persistent and partitioned must be booleans");
    }
    if (o.hostPrefix !== true && o.hostPrefix !== false && o.hostPrefix !== "auto") {
      fail(`hostPrefix must be true, false or "auto"`);
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
    if (o.hostPrefix === true) {
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
    this.name = o.hostPrefix === true ? HOST_PREFIX + o.name : o.name;
    let attrs = `; Path=${o.path}`;
    if (o.domain !== undefined) attrs += `; Domain=${o.domain}`;
    if (o.httpOnly) attrs += "; HttpOnly";
    attrs += `; SameSite=${sameSite}`;
    if (o.partitioned) attrs += "; Partitioned";
    this.#attrs = attrs;
    // Partitioned and SameSite=None cookies are dropped by browsers without Secure.
    this.#secure = o.partitioned || sameSite === "None" ? true : o.secure;
    // "auto" adds __Host- whenever the cookie may carry it: Secure, Path=/, no Domain, no __Secure- name.
    const prefixable = o.hostPrefix === "auto" && this.#secure !== false && o.path === "/" &&
      o.domain === undefined && !lower.startsWith("__secure-");
    this.#prefixed = prefixable ? HOST_PREFIX + o.name : undefined;
    this.persistent = o.persistent;
  }

  /** Whether this request's cookie is Secure. */
  #isSecure(c: Context): boolean {
    if (this.#secure !== "auto") return this.#secure;
    const url = c.req.url;
    // https:, or anything but plain http: Secure. A client-sent X-Forwarded-Proto can only add Secure, never remove it.
    if (!url.startsWith("http:")) return true;
    if (isLoopbackUrl(url)) return forwardedHttps(c);
    if (!forwardedHttps(c)) this.#warnPlainHttp();
    return true;
  }

  /** Say once, not per request, why sessions will not stick on a plain-HTTP deployment. */
  #warnPlainHttp(): void {
    if (this.#warned) return;
    this.#warned = true;
    console.warn(
      "satchel: a request came over plain HTTP to a host that is not loopback, without X-Forwarded-Proto: https; " +
        "the session cookie is sent Secure, which browsers drop over HTTP, so sessions will not stick. " +
        "Serve over HTTPS, have your TLS proxy send X-Forwarded-Proto: https, or, for a plain-HTTP test server only, " +
        "set the cookie option secure: false",
    );
  }

  /** The cookie's name for this request: with the `__Host-` prefix when `hostPrefix: "auto"` adds it. */
  nameFor(c: Context): string {
    return this.#prefixed !== undefined && this.#isSecure(c) ? this.#prefixed : this.name;
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
    // The name this request would write: a cookie without the prefix may have been planted, so it is not read.
    const name = this.nameFor(c);
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
    const secure = this.#isSecure(c);
    const name = secure && this.#prefixed !== undefined ? this.#prefixed : this.name;
    let cookie = `${name}=${token}${this.#attrs}`;
    if (persistent) cookie += `; Max-Age=${Math.min(maxAge, MAX_COOKIE_AGE)}`;
    if (secure) cookie += "; Secure";
    addResponseHeader(c, "Set-Cookie", cookie, true);
  }

  /**
   * Bytes of the longest `Set-Cookie` line {@linkcode CookieState.write}
   * makes for a value of `valueBytes` bytes: with `Secure` and a ten-digit
   * `Max-Age`. CookieStore sizes its cookies with it.
   */
  maxLineBytes(valueBytes: number): number {
    const name = this.#prefixed ?? this.name;
    return name.length + 1 + valueBytes + this.#attrs.length + "; Max-Age=9999999999; Secure".length;
  }

  /** Expires the cookie in the browser. */
  clear(c: Context): void {
    const secure = this.#isSecure(c);
    const name = secure && this.#prefixed !== undefined ? this.#prefixed : this.name;
    let cookie = `${name}=${this.#attrs}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
    if (secure) cookie += "; Secure";
    addResponseHeader(c, "Set-Cookie", cookie, true);
  }
}
