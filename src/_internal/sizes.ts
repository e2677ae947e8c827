/**
 * Default sizes shared by the middleware and the stores.
 * @module
 */

/** The largest serialized session accepted unless configured: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
