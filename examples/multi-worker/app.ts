/**
 * The app every worker runs: one Hono app, one SqliteStore, one database file
 * shared by all workers (`SATCHEL_DB`, default `./sessions.sqlite`). The
 * store opens its own connection in each worker; SQLite's WAL and file locks
 * do the rest.
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import { session, type SessionEnv, SqliteStore } from "../../mod.ts";

type Data = { count: number };

/** Names this worker in the `x-worker` header (a pid is not enough: `deno serve --parallel` runs threads). */
export const workerId = `${process.pid}-${crypto.randomUUID().slice(0, 8)}`;

export const store = new SqliteStore({
  path: process.env.SATCHEL_DB ?? "./sessions.sqlite",
  // The checkpoint policy and busy timeout are the store's defaults; see the README.
});

export const app = new Hono<SessionEnv<Data>>();
app.use(session({
  // Every worker must share the secret: a token signed by one is read by all.
  secret: process.env.SATCHEL_SECRET ?? "dev-only secret: set SATCHEL_SECRET to 32+ random bytes",
  store,
}));
app.use(async (c, next) => {
  await next();
  c.header("x-worker", workerId);
});

app.get("/", (c) => {
  const count = c.get("session").update("count", (n) => (n ?? 0) + 1);
  return c.text(`visit ${count}, served by worker ${workerId}\n`);
});
app.get("/read", (c) => c.text(String(c.get("session").get("count") ?? 0)));
app.get("/logout", (c) => {
  c.get("session").destroy();
  return c.text("bye\n");
});
