/**
 * The benchmark routes on a session, shared by the HTTP benchmark's app
 * (bench/app.ts) and the in-process RedisStore benchmark
 * (bench/redis-inprocess.ts), so both measure the same session and work.
 * Each route that uses the session calls `load()` first: RedisStore answers
 * asynchronously (a route that never calls it makes no store round trip); on
 * SqliteStore and MemoryStore it resolves at once.
 * @module
 */
import type { Hono } from "hono";
import type { SessionEnv } from "../mod.ts";

/** The benchmark's session: a user, a counter, a 400-byte profile, and /new's flag. */
export type BenchData = { user: string; count: number; profile: string; seen: number };

const PROFILE = "x".repeat(400);

/** /login, /inc, /read, /plain, /new and /logout on `app`, which already runs the session middleware. */
export function sessionRoutes(app: Hono<SessionEnv<BenchData>>): void {
  app.get("/login", async (c) => {
    const s = await c.get("session").load();
    if (!s.isNew) s.regenerate();
    s.set("user", "u" + Math.random().toString(36).slice(2));
    s.set("count", 0);
    s.set("profile", PROFILE);
    return c.text("ok");
  });
  app.get("/inc", async (c) => c.text(String((await c.get("session").load()).update("count", (n) => (n ?? 0) + 1))));
  app.get("/read", async (c) => c.text(String((await c.get("session").load()).get("count") ?? 0)));
  app.get("/plain", (c) => c.text("plain"));
  app.get("/new", async (c) => {
    (await c.get("session").load()).set("seen", 1);
    return c.text("new");
  });
  app.get("/logout", async (c) => {
    (await c.get("session").load()).destroy();
    return c.text("bye");
  });
}
