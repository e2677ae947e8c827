export { type ConformanceOptions, storeConformance, type StoreFixture } from "../src/testing/mod.ts";
