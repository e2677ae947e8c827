/**
 * `lateStore` hands its commit to `c.executionCtx.waitUntil` where the
 * runtime has an execution context (Cloudflare Workers keeps work alive only
 * through it), and to a timer elsewhere. The real workerd run is in
 * tests/workers.test.ts; here Hono's `app.request(url, init, env, executionCtx)`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { MemoryStore } from "../src/store/memory.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { FakeClock, SECRET, setCookies } from "./helpers.ts";

function lateApp(store: MemoryStore, clock: FakeClock) {
  const app = new Hono<SessionEnv<{ count: number }>>();
  app.use(session({ secret: SECRET, store, clock: clock.fn }));
  app.get("/late", (c) => {
    const s = c.get("session");
    s.options.lateStore = true;
    return c.text(String(s.update("count", (n) => (n ?? 0) + 1)));
  });
  app.get("/read", (c) => c.text(String(c.get("session").get("count") ?? 0)));
  return app;
}

test("session() hands a lateStore commit to executionCtx.waitUntil, which resolves once it is stored", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const app = lateApp(store, clock);
  const waited: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => void waited.push(p), passThroughOnException() {}, props: {} };
  const res = await app.request("http://localhost/late", {}, {}, ctx);
  const cookie = setCookies(res)[0]!.split(";")[0]!;
  assert.equal(waited.length, 1, "the commit was given to waitUntil");
  await Promise.all(waited);
  const read = await app.request("http://localhost/read", { headers: { cookie } }, {}, ctx);
  assert.equal(await read.text(), "1");
});

test("session() without an execution context commits a lateStore write on a timer", async () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock: clock.fn });
  const app = lateApp(store, clock);
  const res = await app.request("http://localhost/late");
  const cookie = setCookies(res)[0]!.split(";")[0]!;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await (await app.request("http://localhost/read", { headers: { cookie } })).text(), "1");
});
