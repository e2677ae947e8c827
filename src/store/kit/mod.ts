/**
 * The store kit: what every store shares, so that a store is its queries
 * plus a spec. Internal: stores import it, the package does not export it.
 *
 * - options.ts: reading options by a spec, the shared options and limits;
 * - optimistic.ts: the compare-and-set loop and the keyed queue;
 * - errors.ts: driver failures as `StoreUnavailableError`, the "closed" error;
 * - listing.ts: the order of `listByUser`, walking a user index;
 * - recent.ts: the reads `get` made, standing in for the read of the `update` that follows.
 * @module
 */
export * from "./options.ts";
export * from "./errors.ts";
export * from "./optimistic.ts";
export * from "./listing.ts";
export * from "./recent.ts";
export * from "./deadline.ts";
