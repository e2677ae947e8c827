/**
 * Default sizes shared by the middleware and the stores.
 * @module
 */

/**
 * The longest a browser keeps a cookie, in seconds: 400 days (RFC 6265bis
 * §5.6.2). No `Max-Age` is sent above it, and no session lifetime
 * (`expires`, `setExpires`) may exceed it.
 */
export const MAX_COOKIE_AGE = 400 * 24 * 3600;

/** The largest serialized session accepted unless configured: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
