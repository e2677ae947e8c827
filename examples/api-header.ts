/**
 * A JSON API whose clients keep no cookies: the session token travels in the
 * `X-Session-Id` header (HeaderState). The client stores the token a
 * response sends back and replays it; an empty header means "forget it".
 *
 *   bun examples/api-header.ts  |  deno run -A examples/api-header.ts  |  node examples/api-header.ts
 *
 *   t=$(curl -si -d '{"user":"ada"}' -H 'content-type: application/json' \
 *         http://127.0.0.1:3000/login | sed -n 's/^x-session-id: //Ip' | tr -d '\r')
 *   curl -H "X-Session-Id: $t" -d '{"sku":"tea","qty":2}' -H 'content-type: application/json' http://127.0.0.1:3000/cart
 *   curl -H "X-Session-Id: $t" http://127.0.0.1:3000/cart
 *
 * Env: PORT (default 3000), HOST, SATCHEL_SECRET.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HeaderState, session, type SessionEnv } from "../mod.ts";
import { exampleSecret, serve } from "./serve.ts";

type Data = { user: string; cart: Record<string, number> };

const app = new Hono<SessionEnv<Data>>();
// Browsers only let scripts read response headers that CORS exposes.
app.use(cors({ origin: (o) => o, allowHeaders: ["Content-Type", "X-Session-Id"], exposeHeaders: ["X-Session-Id"] }));
app.use(session({ secret: exampleSecret(), name: "api", state: new HeaderState() }));

app.post("/login", async (c) => {
  const body = await c.req.json<{ user?: unknown }>().catch(() => ({ user: undefined }));
  if (typeof body.user !== "string" || !/^[a-z0-9_-]{1,32}$/i.test(body.user)) {
    return c.json({ error: "user must be 1-32 letters, digits, - or _" }, 400);
  }
  const s = c.get("session");
  s.regenerate();
  s.set("user", body.user);
  return c.json({ user: body.user });
});

// /cart and everything under it need a signed-in session.
app.use("/cart/*", async (c, next) => {
  if (c.get("session").get("user") === undefined) return c.json({ error: "sign in first" }, 401);
  await next();
});

app.get("/cart", (c) => c.json({ user: c.get("session").get("user"), cart: c.get("session").get("cart") ?? {} }));

app.post("/cart", async (c) => {
  const item = await c.req.json<{ sku?: unknown; qty?: unknown }>().catch(() => ({ sku: undefined, qty: undefined }));
  if (
    typeof item.sku !== "string" || !/^[a-z0-9-]{1,40}$/.test(item.sku) || !Number.isInteger(item.qty) ||
    (item.qty as number) < 1
  ) {
    return c.json({ error: "give { sku: 1-40 of a-z 0-9 -, qty: positive integer }" }, 400);
  }
  const sku = item.sku;
  const qty = item.qty as number;
  // update(): two requests adding items at once both count.
  const cart = c.get("session").update("cart", (cur) => ({ ...cur, [sku]: (cur?.[sku] ?? 0) + qty }));
  return c.json({ cart });
});

app.post("/logout", (c) => {
  c.get("session").destroy();
  return c.json({ ok: true });
});

await serve(app, "Satchel API");
