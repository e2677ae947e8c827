import type { Context } from "hono";

/**
 * How the session token travels between client and server.
 * The token is already signed; a state only carries it.
 */
export interface SessionState {
  /**
   * True when the token the client holds expires with the session (a
   * persistent cookie's Max-Age), so it must be sent again whenever the
   * session's expiry moves. @default false
   */
  readonly persistent?: boolean;
  /** The token the client sent, or `undefined`. */
  read(c: Context): string | undefined;
  /**
   * Send `token` with the response.
   * @param maxAge The session's idle lifetime in seconds, for states that can expire the token.
   * @param persistent Expire the token after `maxAge` even when the state is not persistent by
   *   default: the session has its own lifetime (`session.setExpires`).
   */
  write(c: Context, token: string, maxAge: number, persistent?: boolean): void;
  /** Tell the client to drop its token. */
  clear(c: Context): void;
}
