/**
 * The session token in a request/response header, for API clients that do
 * not keep cookies.
 * @module
 */
import type { Context } from "hono";
import type { SessionState } from "./types.ts";
import { HTTP_TOKEN } from "../_internal/http.ts";
import { rejectUnknownKeys } from "../_internal/options.ts";

/** Options of {@linkcode HeaderState}. */
export interface HeaderStateOptions {
  /** The header that carries the token both ways. @default "X-Session-Id" */
  name?: string;
  /**
   * Add the header to `Access-Control-Expose-Headers` on responses that carry
   * it, so browser code on another origin (CORS) can read the new token.
   * @default true
   */
  expose?: boolean;
}

/** Headers that mean something else to HTTP, cookies or caches. */
const RESERVED = new Set([
  "cookie",
  "set-cookie",
  "authorization",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "host",
  "cache-control",
  "vary",
  "access-control-expose-headers",
]);

/**
 * Header transport: the client sends the token in `X-Session-Id` and gets a
 * new one back in the same header whenever it changes (a new session,
 * `regenerate`, a rotated secret). A response without the header means
 * "keep the token you have"; an empty header means "drop it" (the session
 * was destroyed or is gone). Works with any store; with CookieStore, carry
 * its sealed data in a header too (`new CookieStore({ secret, state: new
 * HeaderState({ name: "X-Session-Data" }) })`) for clients without cookies.
 * @example
 * ```ts
 * import { HeaderState, session } from "satchel";
 * const mw = session({ secret: "at least thirty-two bytes of secret!!", state: new HeaderState() });
 * // client: const token = res.headers.get("X-Session-Id"); fetch(url, { headers: { "X-Session-Id": token } })
 * ```
 */
export class HeaderState implements SessionState {
  /** The header's name as given. */
  readonly name: string;
  #expose: boolean;

  /**
   * A header state; the header is `X-Session-Id` unless `name` says otherwise.
   * @throws {TypeError} when the header name is not a valid token, or one HTTP gives another meaning.
   */
  constructor(options: HeaderStateOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot create HeaderState: options must be an object: received ${options === null ? "null" : typeof options}`,
      );
    }
    rejectUnknownKeys("HeaderState", options, ["name", "expose"], { header: "use name", headerName: "use name" });
    const name = options.name ?? "X-Session-Id";
    if (typeof name !== "string" || !HTTP_TOKEN.test(name)) {
      throw new TypeError(
        `Cannot create HeaderState: name must be an HTTP header name: received ${JSON.stringify(name)}`,
      );
    }
    if (RESERVED.has(name.toLowerCase())) {
      throw new TypeError(
        `Cannot create HeaderState: the ${name} header already means something to HTTP; ` +
          `pick your own, e.g. "X-Session-Id"`,
      );
    }
    this.name = name;
    const expose = options.expose ?? true;
    if (typeof expose !== "boolean") {
      throw new TypeError(`Cannot create HeaderState: expose must be a boolean: received ${typeof expose}`);
    }
    this.#expose = expose;
  }

  /** The token in the request's header, or `undefined`. */
  read(c: Context): string | undefined {
    return c.req.header(this.name) || undefined;
  }

  #send(c: Context, value: string): void {
    c.header(this.name, value);
    if (!this.#expose) return;
    const current = c.res.headers.get("Access-Control-Expose-Headers");
    if (current === null) return void c.header("Access-Control-Expose-Headers", this.name);
    const listed = current.split(",").map((s) => s.trim().toLowerCase());
    if (!listed.includes(this.name.toLowerCase()) && !listed.includes("*")) {
      c.header("Access-Control-Expose-Headers", `${current}, ${this.name}`);
    }
  }

  /** Sends the token in the response header. */
  write(c: Context, token: string): void {
    this.#send(c, token);
  }

  /** Sends the header empty: the client drops its token. */
  clear(c: Context): void {
    this.#send(c, "");
  }
}
