/**
 * Satchel on Cloudflare Workers with sessions in D1: a counter, a login that
 * regenerates the session id, a "devices" list and a logout.
 *
 *   cd examples/workers-d1
 *   ../../node_modules/.bin/wrangler d1 migrations apply satchel-example --local
 *   ../../node_modules/.bin/wrangler dev
 *
 * Then `curl -c jar -b jar http://127.0.0.1:8787/` a few times. In your own
 * project, import from "satchel" and "satchel/d1" instead of the paths into
 * this repository.
 */
import { type ExecutionContext, Hono } from "hono";
import { session, type SessionEnv } from "../../../mod.ts"; // "satchel" in your app
import { type D1DatabaseLike, D1Store } from "../../../src/store/d1.ts"; // "satchel/d1" in your app

/** What wrangler.jsonc binds: the D1 database and the secret (`wrangler secret put SESSION_SECRET`). */
type Bindings = { DB: D1DatabaseLike; SESSION_SECRET: string };
type Data = { count: number; user?: string };

/** The app, built once per isolate: bindings exist only once the first request arrives. */
function createApp(env: Bindings) {
  const app = new Hono<SessionEnv<Data> & { Bindings: Bindings }>();
  app.use(session({ secret: env.SESSION_SECRET, store: new D1Store({ db: env.DB }) }));

  // D1Store answers asynchronously: a route loads the session before it uses it (one query),
  // and a route that never does costs D1 nothing.
  app.get("/", async (c) => {
    // A compare-and-set on D1 at commit: concurrent requests never lose an increment.
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

  app.get("/whoami", async (c) => c.text(`${(await c.get("session").load()).get("user") ?? "nobody"}\n`));

  app.post("/logout", async (c) => {
    (await c.get("session").load()).destroy();
    return c.text("bye\n");
  });
  return app;
}

let app: ReturnType<typeof createApp> | undefined;

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> {
    app ??= createApp(env);
    return app.fetch(request, env, ctx);
  },
};
