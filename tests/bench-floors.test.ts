/**
 * The hand-written minimums that bench/redis.sh and bench/postgres.sh hold
 * RedisStore and PostgresStore against (bench/redis-minimal.ts,
 * bench/pg-minimal.ts) must not do more work than the stores they floor: a
 * request that loads its session and changes it is one read and one write.
 * Until round 3's last stop their `update` read the session again, and every
 * ratio to them flattered the stores. Counted at the driver, through the
 * middleware and the benchmark's own routes, against a real redis-server and
 * a real PostgreSQL.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { Hono } from "hono";
import { MinimalPgStore } from "../bench/pg-minimal.ts";
import { MinimalRedisStore } from "../bench/redis-minimal.ts";
import { type BenchData, sessionRoutes } from "../bench/routes.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { PostgresStore } from "../src/store/postgres.ts";
import type { SessionStore } from "../src/store/types.ts";
import * as pg from "./fixtures/pg.ts";
import * as redis from "./fixtures/redis-clients.ts";
import { SECRET } from "./helpers.ts";

/** The first word of each command `store` sends during `/inc` after `/login`, and the count the route answered. */
async function incCommands(store: SessionStore, sent: string[]): Promise<{ commands: string[]; body: string }> {
  const app = new Hono<SessionEnv<BenchData>>();
  app.use(session<BenchData>({ secret: SECRET, store, expires: 3600 }));
  sessionRoutes(app);
  const login = await app.request("http://localhost/login");
  const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
  sent.length = 0;
  const res = await app.request("http://localhost/inc", { headers: { cookie } });
  return { commands: sent.map((c) => c.split(" ")[0]!.toUpperCase()), body: await res.text() };
}

if (redis.REDIS_URL === undefined) {
  test("bench floor on Redis (skipped: SATCHEL_REDIS_URL is not set)", {
    skip: "run the suite with `npm test`, which starts a private redis-server",
  }, () => {});
} else {
  test("bench/redis-minimal.ts: /inc after a load is one GET and one SET, as RedisStore's is one read and one write", async () => {
    const c = await redis.connect(redis.CLIENTS[0]!, redis.REDIS_URL!);
    const sent: string[] = [];
    const keys = new Set<string>();
    try {
      const store = new MinimalRedisStore((name, args) => {
        sent.push(name);
        keys.add(args[0]!);
        return c.cmd([name, ...args]);
      });
      const { commands, body } = await incCommands(store, sent);
      assert.equal(body, "1");
      assert.deepEqual(commands, ["GET", "SET"]);
    } finally {
      if (keys.size > 0) await c.cmd(["DEL", ...keys]);
      await c.close();
    }
  });
}

const server = pg.testServer();
if ("skip" in server) {
  if (process.env.CI) {
    test("bench floor on PostgreSQL has a server", () =>
      assert.fail(`in CI a missing server is a failure: ${server.skip}`));
  } else {
    test(`bench floor on PostgreSQL (skipped: ${server.skip})`, { skip: server.skip }, () => {});
  }
} else {
  test("bench/pg-minimal.ts: /inc after a load is one SELECT and one upsert, as PostgresStore's is one SELECT and one UPDATE", async () => {
    const c = await pg.connect(pg.CLIENTS[0]!, server.url);
    const table = pg.uniqueTable();
    const sent: string[] = [];
    try {
      await new PostgresStore({ client: c.client, table }).ready(); // the minimum writes PostgresStore's table
      const store = new MinimalPgStore((text, params) => {
        sent.push(text.trim());
        return c.exec(text, params);
      }, table);
      const { commands, body } = await incCommands(store, sent);
      assert.equal(body, "1");
      assert.deepEqual(commands, ["SELECT", "INSERT"]);
    } finally {
      await c.exec(`DROP TABLE IF EXISTS ${table}`);
      await c.close();
    }
  });
}
