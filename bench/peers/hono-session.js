/**
 * Peer: @hono/session (JWE cookie carrying a session id) with a session
 * storage on bun:sqlite in WAL mode, or with STORE=redis on Redis through
 * Bun's built-in RedisClient (GET / SET EX / DEL, JSON values), the benchmark
 * app contract's routes.
 * Run: bun bench/peers/hono-session.js
 *      STORE=redis REDIS_URL=redis://127.0.0.1:6379 bun bench/peers/hono-session.js
 */
import { Database } from "bun:sqlite";
import { useSession, useSessionStorage } from "@hono/session";
import { RedisClient } from "bun";
import { Hono } from "hono";
import { dbPath, handleStop, newUser, port, PROFILE, stats } from "./common.js";

/** A storage on bun:sqlite, and how to close it. */
function sqliteStorage() {
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

/** The storage issue 23 measured against: Bun's RedisClient, one key per session with the app's 3600 s TTL. */
async function redisStorage() {
  const redis = new RedisClient(process.env.REDIS_URL);
  await redis.connect();
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

const { storage, close } = process.env.STORE === "redis" ? await redisStorage() : sqliteStorage();

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

const server = Bun.serve({ port, hostname: "127.0.0.1", fetch: app.fetch });
handleStop(() => {
  server.stop();
  close();
});
console.log(`listening on ${port}`);
