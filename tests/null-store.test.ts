/** NullStore (Plack's Session::Store::Null): a session lives for one request only. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { SessionTooLargeError } from "../src/errors.ts";
import { generateId } from "../src/id.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { NullStore } from "../src/store/null.ts";
import type { StoredSession } from "../src/store/types.ts";
import { CookieJar, SECRET } from "./helpers.ts";

const stored = (payload = "p"): StoredSession => ({
  payload,
  expiresAt: Date.now() + 60_000,
  createdAt: Date.now(),
  userId: "u",
});

test("NullStore.get() returns null even for an id just set", () => {
  const store = new NullStore();
  const id = generateId();
  store.set(id, stored());
  assert.equal(store.get(id), null);
});

test("NullStore.update() shows the function null, passes its errors through and keeps nothing", () => {
  const store = new NullStore();
  const id = generateId();
  const seen: unknown[] = [];
  assert.equal(store.update(id, (cur) => (seen.push(cur), stored("next"))), null);
  assert.deepEqual(seen, [null]);
  assert.equal(store.get(id), null);
  const boom = new Error("boom");
  assert.throws(() =>
    store.update(id, () => {
      throw boom;
    }), (e) => e === boom);
});

test("NullStore.deleteByUser() has nothing to remove, and NullStore has no touch or deleteExpired to stub", () => {
  const store = new NullStore();
  store.set(generateId(), stored());
  assert.equal(store.deleteByUser("u"), 0);
  assert.equal("touch" in store, false);
  assert.equal("deleteExpired" in store, false);
});

type Data = { count: number; note: string; blob: string };

function app() {
  const a = new Hono<SessionEnv<Data>>();
  a.use(session({ secret: SECRET, store: new NullStore() }));
  a.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
  a.get("/within", (c) => {
    const s = c.get("session");
    s.set("note", "kept for this request");
    s.flash("note", "for the next request");
    return c.text(`${s.get("note")} / ${s.isNew}`);
  });
  a.get("/read", (c) => {
    const s = c.get("session");
    return c.text(`${s.get("count") ?? 0} ${s.get("note") ?? "-"} ${s.flash("note") ?? "-"}`);
  });
  a.get("/big", (c) => {
    c.get("session").set("blob", "x".repeat(2 * 1024 * 1024));
    return c.text("ok");
  });
  const errors: unknown[] = [];
  a.onError((err, c) => (errors.push(err), c.text(err.name, 500)));
  return { a, errors };
}

test("NullStore through the middleware: the session works within a request and is gone on the next", async () => {
  const { a } = app();
  const jar = new CookieJar(a);
  assert.equal(await jar.text("/within"), "kept for this request / true");
  assert.equal(await jar.text("/read"), "0 - -");
  assert.equal(await jar.text("/inc"), "1");
  assert.equal(await jar.text("/inc"), "1");
  assert.equal(await jar.text("/read"), "0 - -");
});

test("NullStore through the middleware still refuses an oversized session with SessionTooLargeError", async () => {
  const { a, errors } = app();
  const res = await new CookieJar(a).fetch("/big");
  assert.equal(res.status, 500);
  assert.ok(errors[0] instanceof SessionTooLargeError, String(errors[0]));
});

test("new NullStore() takes no options and refuses any", () => {
  assert.doesNotThrow(() => new NullStore());
  assert.doesNotThrow(() => new NullStore({}));
  assert.throws(() => new NullStore({ ttl: 1 } as never), {
    name: "TypeError",
    message: 'Cannot create NullStore: it takes no options: received "ttl" (use expires (seconds))',
  });
});
