/**
 * Satchel on Deno Deploy with sessions in Deno KV: a counter, a login that
 * regenerates the session id, a "devices" list, sign-out-everywhere and a
 * logout. Locally Deno KV is a SQLite file; on Deno Deploy it is the
 * hosted database, with nothing to set up.
 *
 *   SESSION_SECRET=$(openssl rand -base64 32) KV_PATH=/tmp/satchel-kv.sqlite \
 *     deno serve -A --unstable-kv --port 8000 examples/deno-deploy/main.ts
 *
 * Then `curl -c jar -b jar http://127.0.0.1:8000/` a few times. On Deno
 * Deploy, set SESSION_SECRET in the project's environment variables and
 * leave KV_PATH unset. In your own project, import from "satchel" and
 * "satchel/deno-kv" (or "jsr:@satchel/satchel" and "jsr:@satchel/satchel/deno-kv")
 * instead of the paths into this repository.
 * @module
 */
import { Hono } from "hono";
import { session, type SessionEnv } from "../../mod.ts"; // "satchel" in your app
import { type DenoKvLike, DenoKvStore } from "../../src/store/deno-kv.ts"; // "satchel/deno-kv" in your app

// The part of the `Deno` global used here, so the repository's Node type-check reads this file too.
declare const Deno: { openKv(path?: string): Promise<DenoKvLike>; env: { get(name: string): string | undefined } };

const secret = Deno.env.get("SESSION_SECRET");
if (secret === undefined) {
  throw new Error("Cannot start: set SESSION_SECRET (32+ random bytes, e.g. openssl rand -base64 32)");
}

const store = new DenoKvStore({ kv: await Deno.openKv(Deno.env.get("KV_PATH")) });
type Data = { count: number; user?: string };
const app = new Hono<SessionEnv<Data>>();
app.use(session({ secret, store }));

// DenoKvStore answers asynchronously: a route loads the session before it uses it (one KV read),
// and a route that never does costs KV nothing.
app.get("/", async (c) => {
  // A versionstamp-checked commit: concurrent requests never lose an increment.
  const count = (await c.get("session").load()).update("count", (n) => (n ?? 0) + 1);
  return c.text(`count: ${count}\n`);
});

app.post("/login", async (c) => {
  const s = await c.get("session").load();
  const user = c.req.query("user") ?? "alice";
  s.regenerate(); // a new id at privilege change; the data moves with it
  s.setUser(user);
  s.set("user", user);
  return c.text(`hello ${user}\n`);
});

app.get("/devices", async (c) => {
  const user = (await c.get("session").load()).get("user");
  if (user === undefined) return c.text("nobody\n", 401);
  return c.text(`${(await store.listByUser(user)).length} sessions\n`);
});

app.post("/logout-everywhere", async (c) => {
  const s = await c.get("session").load();
  const user = s.get("user");
  if (user !== undefined) await store.deleteByUser(user);
  s.destroy();
  return c.text("bye everywhere\n");
});

app.post("/logout", async (c) => {
  (await c.get("session").load()).destroy();
  return c.text("bye\n");
});

export default { fetch: app.fetch };
