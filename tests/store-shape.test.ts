/** checkStoreShape(): the store given to session() is checked for every required method at setup. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkStoreShape } from "../src/_internal/store-shape.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { NullStore } from "../src/store/null.ts";
import { CookieStore } from "../src/store/cookie.ts";

test("checkStoreShape() accepts every store Satchel ships that needs no server, CookieStore included", () => {
  for (const store of [new MemoryStore(), new NullStore(), new CookieStore({ secret: "k".repeat(32) })]) {
    assert.doesNotThrow(() => checkStoreShape(store));
  }
});

test("checkStoreShape() accepts a store with only get, set, delete and update: the rest is optional", () => {
  const store = { get: () => null, set() {}, delete() {}, update: () => null };
  assert.doesNotThrow(() => checkStoreShape(store));
});

test("checkStoreShape() names the methods a get/set/delete cache (Plack Store::Cache style) lacks, with a hint", () => {
  const map = new Map<string, unknown>();
  const cache = {
    get: (k: string) => map.get(k),
    set: (k: string, v: unknown) => void map.set(k, v),
    delete: (k: string) => void map.delete(k),
  };
  assert.throws(() => checkStoreShape(cache), {
    name: "TypeError",
    message:
      /^Cannot create session middleware: the store lacks update\(\); a session store needs get, set, delete and update \(a get\/set\/delete cache cannot update a session atomically/,
  });
});

test("checkStoreShape() refuses a store whose required member is not a function, and a non-object", () => {
  const store = { get() {}, set() {}, delete() {}, touch() {}, update: "no", deleteExpired() {} };
  assert.throws(() => checkStoreShape(store), { name: "TypeError", message: /the store lacks update\(\);/ });
  assert.throws(() => checkStoreShape({}), {
    name: "TypeError",
    message: /lacks get\(\), set\(\), delete\(\), update\(\); a session store needs get, set, delete and update$/,
  });
  assert.throws(() => checkStoreShape(null), {
    name: "TypeError",
    message: /store must be a SessionStore object .*received null/,
  });
  assert.throws(() => checkStoreShape("sqlite"), { name: "TypeError", message: /received string/ });
});

test("checkStoreShape() accepts a class whose methods live on its prototype", () => {
  class Custom {
    get() {
      return null;
    }
    set() {}
    delete() {}
    touch() {}
    update() {
      return null;
    }
    deleteExpired() {
      return 0;
    }
  }
  assert.doesNotThrow(() => checkStoreShape(new Custom()));
});
