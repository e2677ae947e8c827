/**
 * Peer: hono-sessions with its BunSqliteStore (encrypted cookie carrying the
 * session id), the benchmark app contract's routes.
 * Run: bun bench/peers/hono-sessions.js
 */
import { Database } from "bun:sqlite";
import { Hono } from "hono";
import { sessionMiddleware } from "hono-sessions";
import { BunSqliteStore } from "hono-sessions/bun-sqlite-store";
import { dbPath, handleStop, newUser, port, PROFILE, SECRET, stats } from "./common.js";

const db = new Database(dbPath("hono-sessions"), { create: true });
db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");

const app = new Hono();
app.use("/inc", async (c, next) => {
  await next();
  if (c.res.status === 200) stats.incOk++;
});
app.use(sessionMiddleware({
  store: new BunSqliteStore(db),
  encryptionKey: SECRET,
  expireAfterSeconds: 3600,
  cookieOptions: { sameSite: "Lax", path: "/", httpOnly: true },
}));
app.get("/login", (c) => {
  const s = c.get("session");
  s.set("user", newUser());
  s.set("count", 0);
  s.set("profile", PROFILE);
  return c.text("ok");
});
app.get("/inc", (c) => {
  const s = c.get("session");
  const count = (s.get("count") ?? 0) + 1;
  s.set("count", count);
  return c.text(String(count));
});
app.get("/read", (c) => c.text(String(c.get("session").get("count") ?? 0)));
app.get("/plain", (c) => c.text("plain"));
app.get("/new", (c) => {
  c.get("session").set("seen", 1);
  return c.text("new");
});
app.get("/logout", (c) => {
  c.get("session").deleteSession();
  return c.text("bye");
});

const server = Bun.serve({ port, hostname: "127.0.0.1", fetch: app.fetch });
handleStop(() => {
  server.stop();
  db.close();
});
console.log(`listening on ${port}`);
