import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore } from "../src/store/memory.ts";
import { FakeClock } from "./helpers.ts";
import { storeConformance } from "./store-conformance.ts";

storeConformance("MemoryStore", (clock) => ({ store: new MemoryStore({ clock: clock.fn }) }));

test("MemoryStore.get() returns a copy the caller cannot use to change the store", () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  store.set("a".repeat(32), { payload: "p", expiresAt: clock.now + 1000, createdAt: clock.now });
  store.get("a".repeat(32))!.payload = "changed";
  assert.equal(store.get("a".repeat(32))!.payload, "p");
});

test("new MemoryStore() refuses unknown options, with a hint for other libraries' names", () => {
  assert.throws(() => new MemoryStore({ ttl: 60 } as never), {
    name: "TypeError",
    message:
      'Cannot create MemoryStore: unknown option "ttl" (use expires (seconds)); known options are clock, maxPayloadBytes, sweepInterval, onSweep',
  });
  assert.throws(() => new MemoryStore({ checkPeriod: 1000 } as never), {
    name: "TypeError",
    message: /unknown option "checkPeriod"/,
  });
});
