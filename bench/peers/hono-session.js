/**
 * Peer: @hono/session (JWE cookie carrying a session id) with a session
 * storage on bun:sqlite in WAL mode, the benchmark app contract's routes.
 * Run: bun bench/peers/hono-session.js
 */
import { Database } from "bun:sqlite";
import { useSession, useSessionStorage } from "@hono/session";
import { Hono } from "hono";
import { dbPath, handleStop, newUser, port, PROFILE, stats } from "./common.js";

const db = new Database(dbPath("hono-session"), { create: true });
db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
db.exec("CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, data TEXT NOT NULL)");
const get = db.prepare("SELECT data FROM sessions WHERE sid = ?");
const put = db.prepare(
  "INSERT INTO sessions (sid, data) VALUES (?, ?) ON CONFLICT (sid) DO UPDATE SET data = excluded.data",
);
const del = db.prepare("DELETE FROM sessions WHERE sid = ?");

// @hono/session wants a 32-byte hex-encoded secret.
const secret = "5c1f5e7a0b9d4c3e8f2a6b7c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";

const app = new Hono();
app.use("/inc", async (c, next) => {
  await next();
  if (c.res.status === 200) stats.incOk++;
});
app.use(
  useSessionStorage({
    get: (sid) => {
      const row = get.get(sid);
      return row ? JSON.parse(row.data) : null;
    },
    set: (sid, value) => void put.run(sid, JSON.stringify(value)),
    delete: (sid) => void del.run(sid),
  }),
  useSession({ secret, duration: { absolute: 3600 } }),
);
app.get("/login", async (c) => {
  await c.var.session.update({ user: newUser(), count: 0, profile: PROFILE });
  return c.text("ok");
});
app.get("/inc", async (c) => {
  let count = 0;
  await c.var.session.update((d) => ({ ...d, count: count = (d?.count ?? 0) + 1 }));
  return c.text(String(count));
});
app.get("/read", async (c) => c.text(String((await c.var.session.get())?.count ?? 0)));
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
  db.close();
});
console.log(`listening on ${port}`);
