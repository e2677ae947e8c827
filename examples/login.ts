/**
 * Login sessions bound to a user: `regenerate()` at sign-in, `setUser()` so
 * the store can end every session of that user at once ("sign out
 * everywhere"), an absolute timeout, and a `__Host-` cookie when served over
 * https. Plain-text responses, to drive with curl:
 *
 *   bun examples/login.ts    |  deno run -A examples/login.ts  |  node examples/login.ts
 *
 *   curl -c jar -b jar -d user=ada http://127.0.0.1:3000/login
 *   curl -c jar -b jar http://127.0.0.1:3000/me
 *   curl -c jar -b jar -X POST http://127.0.0.1:3000/password           (other devices signed out)
 *   curl -c jar -b jar -X POST http://127.0.0.1:3000/logout-everywhere
 *
 * Env: PORT (default 3000), HOST, SATCHEL_SECRET, SATCHEL_DB (the SQLite file;
 * default `<os temp dir>/satchel-<uid>/login.sqlite`).
 */
import process from "node:process";
import { Hono } from "hono";
import { session, type SessionEnv, SqliteStore } from "../mod.ts";
import { exampleSecret, serve } from "./serve.ts";

type Data = { user: string; signedInAt: Date };

// An explicit store, so it is closed on exit (and its file can be chosen with SATCHEL_DB).
const store = new SqliteStore({ path: process.env.SATCHEL_DB || undefined, name: "login" });

const app = new Hono<SessionEnv<Data>>();
app.use(session({
  secret: exampleSecret(),
  store,
  expires: 30 * 60, // idle: 30 minutes
  absoluteTimeout: 12 * 60 * 60, // at most 12 hours, however active
  // The cookie is `__Host-sid`, Secure, on https (or behind a TLS proxy); on http://localhost it is plain "sid".
}));

app.post("/login", async (c) => {
  const form = await c.req.parseBody();
  const user = typeof form.user === "string" ? form.user.trim() : "";
  // A real app checks a password here; this example accepts any name.
  if (!/^[a-z0-9_-]{1,32}$/i.test(user)) return c.text("user must be 1-32 letters, digits, - or _\n", 400);
  const s = c.get("session");
  s.regenerate();
  s.set("user", user);
  s.set("signedInAt", new Date()); // superjson: comes back as a Date
  s.setUser(user);
  return c.text(`signed in as ${user}\n`);
});

app.get("/me", (c) => {
  const s = c.get("session");
  const user = s.get("user");
  if (user === undefined) return c.text("not signed in\n", 401);
  const since = s.get("signedInAt");
  return c.text(`${user} (signed in at ${since instanceof Date ? since.toISOString() : "?"})\n`);
});

app.post("/logout", (c) => {
  c.get("session").destroy();
  return c.text("signed out\n");
});

app.post("/logout-everywhere", async (c) => {
  const s = c.get("session");
  const user = s.userId;
  if (user === null) return c.text("not signed in\n", 401);
  // Ends every session setUser() bound to this user, this one included.
  const ended = await s.destroyUserSessions(user);
  return c.text(`ended ${ended} session(s) of ${user}\n`);
});

app.post("/password", async (c) => {
  const s = c.get("session");
  const user = s.userId;
  if (user === null) return c.text("not signed in\n", 401);
  // ... change the password here ...
  // Sign out the other devices; this one goes on under a new id.
  const ended = await s.destroyUserSessions(user, { keepCurrent: true });
  return c.text(`password changed; ended ${ended} session(s), this one kept\n`);
});

await serve(app, "Satchel login", () => store.close());
