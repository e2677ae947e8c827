/**
 * The store kit: what every store shares, so that a store is its queries
 * plus a spec. Internal: stores import it, the package does not export it.
 *
 * - options.ts: reading options by a spec, the shared options and limits;
 * - optimistic.ts: the compare-and-set loop and the keyed queue;
 * - errors.ts: driver failures as `StoreUnavailableError`, the "closed" error;
 * - listing.ts: the order of `listByUser`, walking a user index;
 * - loaded.ts: the read behind each session `get` returned, standing in for the read of the `update` made of it;
 * - times.ts: the check that a time handed to a store is one it can hold.
 * @module
 */
export * from "./options.ts";
export * from "./errors.ts";
export * from "./optimistic.ts";
export * from "./listing.ts";
export * from "./loaded.ts";
export * from "./version.ts";
export * from "./deadline.ts";
export * from "./times.ts";
