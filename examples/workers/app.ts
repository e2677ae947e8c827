/**
 * Satchel on Cloudflare Workers: sessions kept in the browser by CookieStore
 * (sealed with AES-256-GCM), so no server state and no `nodejs_compat`.
 *
 *   cp examples/workers/.dev.vars.example examples/workers/.dev.vars
 *   npx wrangler dev -c examples/workers/wrangler.toml
 *
 * Secrets live in `c.env`, which a Worker only sees once a request comes:
 * the middleware is built on the first request and kept, so its keys are
 * derived once per isolate, not once per request (bench/secrets.ts).
 */
import { Hono, type MiddlewareHandler } from "hono";
import { session, type SessionEnv } from "../../mod.ts"; // "satchel" in your app
import { CookieStore } from "../../src/store/cookie.ts"; // "satchel/cookie" in your app

type Data = { count: number; user?: string };
/** The Worker's secrets (`wrangler secret put`, or .dev.vars for `wrangler dev`). */
type Secrets = { SESSION_SECRET: string; SESSION_DATA_SECRET: string };

const app = new Hono<SessionEnv<Data>>();

let sessions: MiddlewareHandler<SessionEnv<Data>> | undefined;
app.use((c, next) => {
  const env = c.env as Secrets;
  sessions ??= session<Data>({
    secret: env.SESSION_SECRET,
    store: new CookieStore({ secret: env.SESSION_DATA_SECRET }),
  });
  return sessions(c, next);
});

app.get("/", (c) => {
  const count = c.get("session").update("count", (n) => (n ?? 0) + 1);
  return c.text(`visits: ${count}`);
});

app.post("/login", async (c) => {
  const form = await c.req.parseBody();
  const user = typeof form.user === "string" && form.user !== "" ? form.user : "guest";
  const s = c.get("session");
  s.regenerate(); // a new id at every privilege change
  s.set("user", user);
  return c.text(`signed in as ${user}`);
});

app.get("/me", (c) => c.text(c.get("session").get("user") ?? "anonymous"));

app.post("/logout", (c) => {
  c.get("session").destroy();
  return c.text("signed out");
});

export default app;
