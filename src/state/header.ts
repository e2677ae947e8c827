/**
 * The session token in a request/response header, for API clients that do
 * not keep cookies (Plack's non-cookie state).
 * @module
 */
import type { Context } from "hono";
import type { SessionState } from "./types.ts";

/** Options of {@linkcode HeaderState}. */
export interface HeaderStateOptions {
  /** The header that carries the token both ways. @default "X-Session-Id" */
  name?: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Header transport: the client sends the token in `X-Session-Id` and gets a
 * new one back in the same header. A cleared session answers with an empty header.
 * @example
 * ```ts
 * import { HeaderState, session } from "satchel";
 * const mw = session({ secret: "at least thirty-two bytes of secret!!", state: new HeaderState() });
 * ```
 */
export class HeaderState implements SessionState {
  /** The header that carries the token. */
  readonly name: string;

  /**
   * A header state; the header is `X-Session-Id` unless `name` says otherwise.
   * @throws {TypeError} when the header name is not a valid token.
   */
  constructor(options: HeaderStateOptions = {}) {
    const name = options.name ?? "X-Session-Id";
    if (!TOKEN.test(name)) {
      throw new TypeError(`Cannot create HeaderState: name must be an HTTP header name: received ${JSON.stringify(name)}`);
    }
    this.name = name;
  }

  read(c: Context): string | undefined {
    return c.req.header(this.name) || undefined;
  }

  write(c: Context, token: string): void {
    c.header(this.name, token);
  }

  clear(c: Context): void {
    c.header(this.name, "");
  }
}
