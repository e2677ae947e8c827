/**
 * Peer: @hono/session (JWE cookie carrying a session id) with a session
 * storage on bun:sqlite in WAL mode, or with STORE=redis on Redis (GET /
 * SET EX / DEL, JSON values) through Bun's built-in RedisClient on Bun,
 * ioredis on Deno and node-redis on Node (the clients RedisStore is measured
 * with on each), the benchmark app contract's routes.
 * Run: bun bench/peers/hono-session.js
 *      STORE=redis REDIS_URL=redis://127.0.0.1:6379 bun|node bench/peers/hono-session.js
 *      STORE=redis REDIS_URL=… deno run -A bench/peers/hono-session.js
 */
import { useSession, useSessionStorage } from "@hono/session";
import { Hono } from "hono";
import { dbPath, handleStop, newUser, port, PROFILE, stats } from "./common.js";

/** A storage on bun:sqlite, and how to close it. */
async function sqliteStorage() {
  const { Database } = await import("bun:sqlite");
  const db = new Database(dbPath("hono-session"), { create: true });
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  db.exec(
    "CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, data TEXT NOT NULL)",
  );
  const get = db.prepare("SELECT data FROM sessions WHERE sid = ?");
  const put = db.prepare(
    "INSERT INTO sessions (sid, data) VALUES (?, ?) ON CONFLICT (sid) DO UPDATE SET data = excluded.data",
  );
  const del = db.prepare("DELETE FROM sessions WHERE sid = ?");
  const storage = {
    get: (sid) => {
      const row = get.get(sid);
      return row ? JSON.parse(row.data) : null;
    },
    set: (sid, value) => void put.run(sid, JSON.stringify(value)),
    delete: (sid) => void del.run(sid),
  };
  return { storage, close: () => db.close() };
}

/** A client with get/send/del over the runtime's client: Bun's own, ioredis on Deno, node-redis on Node. */
async function redisClient(url) {
  if (globalThis.Bun !== undefined) {
    const { RedisClient } = await import("bun");
    const redis = new RedisClient(url);
    await redis.connect();
    return redis;
  }
  if (globalThis.Deno !== undefined) {
    const { Redis } = await import("ioredis");
    const redis = new Redis(url);
    return {
      get: (key) => redis.get(key),
      send: (name, args) => redis.call(name, ...args),
      del: (key) => redis.del(key),
      close: () => redis.disconnect(),
    };
  }
  const { createClient } = await import("redis");
  const redis = await createClient({ url }).on("error", (e) => console.error(`redis: ${e}`)).connect();
  return {
    get: (key) => redis.get(key),
    send: (name, args) => redis.sendCommand([name, ...args]),
    del: (key) => redis.del(key),
    close: () => redis.close(),
  };
}

/** The storage issue 23 measured against: one key per session with the app's 3600 s TTL. */
async function redisStorage() {
  const redis = await redisClient(process.env.REDIS_URL);
  // @hono/session calls set and delete without awaiting them: a failure must not become an unhandled rejection.
  const quiet = (p) => void p.catch((e) => console.error(`redis: ${e}`));
  const storage = {
    get: async (sid) => {
      const data = await redis.get(`hs:${sid}`);
      return data === null ? null : JSON.parse(data);
    },
    set: (sid, value) =>
      quiet(
        redis.send("SET", [`hs:${sid}`, JSON.stringify(value), "EX", "3600"]),
      ),
    delete: (sid) => quiet(redis.del(`hs:${sid}`)),
  };
  return { storage, close: () => redis.close() };
}

const { storage, close } = process.env.STORE === "redis" ? await redisStorage() : await sqliteStorage();

// @hono/session wants a 32-byte hex-encoded secret.
const secret = "5c1f5e7a0b9d4c3e8f2a6b7c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";

const app = new Hono();
app.use("/inc", async (c, next) => {
  await next();
  if (c.res.status === 200) stats.incOk++;
});
app.use(
  useSessionStorage(storage),
  useSession({ secret, duration: { absolute: 3600 } }),
);
app.get("/login", async (c) => {
  await c.var.session.update({ user: newUser(), count: 0, profile: PROFILE });
  return c.text("ok");
});
app.get("/inc", async (c) => {
  let count = 0;
  await c.var.session.update((d) => ({
    ...d,
    count: count = (d?.count ?? 0) + 1,
  }));
  return c.text(String(count));
});
app.get(
  "/read",
  async (c) => c.text(String((await c.var.session.get())?.count ?? 0)),
);
app.get("/plain", (c) => c.text("plain"));
app.get("/new", async (c) => {
  await c.var.session.update({ seen: 1 });
  return c.text("new");
});
app.get("/logout", async (c) => {
  await c.var.session.get();
  c.var.session.delete();
  return c.text("bye");
});

/** Bun.serve, Deno.serve, or @hono/node-server on Node; returns how to stop it. */
async function serve() {
  if (globalThis.Bun !== undefined) {
    const server = Bun.serve({ port, hostname: "127.0.0.1", fetch: app.fetch });
    return () => server.stop();
  }
  if (globalThis.Deno !== undefined) {
    const server = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    return () => server.shutdown();
  }
  const { serve: nodeServe } = await import("@hono/node-server");
  const server = await new Promise((resolve) => {
    const s = nodeServe({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => resolve(s));
  });
  return () => server.close();
}

const stop = await serve();
handleStop(() => {
  stop();
  close();
});
console.log(`listening on ${port}`);
