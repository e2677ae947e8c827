/**
 * The smallest Satchel app: a per-visitor counter kept on the server.
 *
 *   bun examples/counter.ts    |  deno run -A examples/counter.ts  |  node examples/counter.ts
 *
 * Then `curl -c jar -b jar http://127.0.0.1:3000/` a few times.
 */
import { Hono } from "hono";
import { session, type SessionEnv } from "../mod.ts";
import { exampleSecret, serve } from "./serve.ts";

const app = new Hono<SessionEnv<{ count: number }>>();
app.use(session({ secret: exampleSecret(), name: "counter" }));

app.get("/", (c) => {
  // update() is atomic at commit: concurrent requests never lose an increment.
  const count = c.get("session").update("count", (n) => (n ?? 0) + 1);
  return c.text(`count: ${count}\n`);
});

await serve(app, "Satchel counter");
