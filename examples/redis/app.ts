/**
 * Sessions in Redis, shared by every instance of the app: start two and a
 * visitor's count goes on whichever one answers.
 *
 *   bash examples/redis/start.sh [bun|deno|node]   (a private redis-server and two instances, :3001 and :3002)
 *
 * or by hand, against your Redis:
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=3001 bun examples/redis/app.ts
 *
 * Env: REDIS_URL (default redis://127.0.0.1:6379), REDIS_CLIENT (bun | ioredis |
 * node-redis; default bun on Bun, ioredis elsewhere), PORT, SATCHEL_SECRET,
 * NEAR_CACHE=1 (keep sessions in memory: docs/stores.md#near-cache), REDIS_PREFIX
 * (default satchel-example:).
 * @module
 */
import process from "node:process";
import { Hono } from "hono";
import { session, type SessionEnv } from "../../mod.ts"; // "satchel" in your app
import { RedisStore } from "../../src/store/redis.ts"; // "satchel/redis" in your app
import { exampleSecret, serve } from "../serve.ts";

type Data = { count: number; user: string };

const url = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const which = process.env.REDIS_CLIENT || ("Bun" in globalThis ? "bun" : "ioredis");

/** The user's own client, set to fail fast while Redis is down (each request then answers 503). */
interface Connection {
  client: object;
  close: () => Promise<void> | void;
  /** A second connection of the same client, for the near cache's invalidations. */
  duplicate: () => Promise<Connection>;
}

async function connect(): Promise<Connection> {
  if (which === "ioredis") {
    const { Redis } = await import("ioredis");
    const wrap = (client: InstanceType<typeof Redis>): Connection => {
      client.on("error", (e) => console.error(`redis: ${e.message}`));
      return { client, close: () => void client.disconnect(), duplicate: async () => wrap(client.duplicate()) };
    };
    return wrap(new Redis(url, { maxRetriesPerRequest: 1 }));
  }
  if (which === "node-redis") {
    const { createClient } = await import("redis");
    type Client = ReturnType<typeof createClient>;
    const wrap = async (client: Client): Promise<Connection> => {
      client.on("error", (e: Error) => console.error(`redis: ${e.message}`));
      await client.connect();
      return { client, close: () => void client.destroy(), duplicate: () => wrap(client.duplicate()) };
    };
    return await wrap(createClient({ url, disableOfflineQueue: true }));
  }
  if (which === "bun") {
    const bun = "bun";
    const { RedisClient } = await import(bun);
    type Client = { close(): void; duplicate(): Promise<Client> };
    const wrap = (client: Client): Connection => ({
      client,
      close: () => client.close(),
      duplicate: async () => wrap(await client.duplicate()),
    });
    const client = new RedisClient(url, { enableOfflineQueue: false });
    await client.connect();
    return wrap(client);
  }
  throw new TypeError(
    `Cannot start example: REDIS_CLIENT must be bun, ioredis or node-redis: received ${JSON.stringify(which)}`,
  );
}

const redis = await connect();
const subscriber = process.env.NEAR_CACHE === "1" ? await redis.duplicate() : undefined;
const store = new RedisStore({
  client: redis.client,
  prefix: process.env.REDIS_PREFIX || "satchel-example:",
  nearCache: subscriber && { subscriber: subscriber.client },
});
const port = process.env.PORT ?? "3000";

const app = new Hono<SessionEnv<Data>>();
app.use(session({ secret: exampleSecret(), store }));

// RedisStore answers asynchronously: a route loads the session before it uses it (one Redis round trip),
// and a route that never does (assets, health checks) costs Redis nothing.
app.get("/", async (c) => {
  const s = await c.get("session").load();
  const count = s.update("count", (n) => (n ?? 0) + 1);
  const who = s.get("user") ?? "anonymous";
  return c.text(`count: ${count} (${who}, served by :${port} on ${which})\n`);
});

app.get("/login/:user", async (c) => {
  const s = await c.get("session").load();
  s.regenerate(); // a new id after login (session fixation)
  s.set("user", c.req.param("user"));
  s.setUser(c.req.param("user")); // so deleteByUser can find it
  return c.text(`signed in as ${c.req.param("user")}\n`);
});

app.get("/logout", async (c) => {
  (await c.get("session").load()).destroy();
  return c.text("signed out\n");
});

// Sign out everywhere: every session of this user, on every instance.
app.get("/logout-everywhere", async (c) => {
  const s = await c.get("session").load();
  const user = s.userId;
  if (user === null) return c.text("not signed in\n", 400);
  const ended = await store.deleteByUser(user);
  s.destroy();
  return c.text(`ended ${ended} sessions of ${user}\n`);
});

await serve(app, `Satchel on Redis (:${port})`, async () => {
  store.close();
  await subscriber?.close();
  await redis.close();
});
