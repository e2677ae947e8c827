/**
 * `satchel/testing`: the conformance suite every Satchel store passes, for
 * authors of their own stores. It registers its tests with `node:test`, so
 * `node --test`, `bun test` and `deno test` run it alike; import it from
 * test files only (the root `satchel` import stays free of `node:*`).
 *
 * @example
 * ```ts ignore
 * // my-store.test.ts
 * import { storeConformance } from "satchel/testing";
 * import { MyStore } from "./my-store.ts";
 *
 * storeConformance("MyStore", async (clock) => {
 *   const store = new MyStore({ clock: clock.fn });
 *   return { store, cleanup: () => store.dropEverything() };
 * });
 * ```
 * @module
 */
export { type ConformanceOptions, storeConformance, type StoreFixture } from "./conformance.ts";
export { FakeClock } from "./clock.ts";
