/**
 * examples/postgres-migrate.ts: live sessions move from express-session +
 * connect-pg-simple (its table as its table.sql creates it, a cookie signed
 * as cookie-signature signs it, here with node:crypto) to PostgresStore.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import process from "node:process";
import { test } from "node:test";
import { Hono } from "hono";
import { fromConnectPgSimple, unsignExpressCookie } from "../examples/postgres-migrate.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { PostgresStore } from "../src/store/postgres.ts";
import { connect, testServer, uniqueTable } from "./fixtures/pg.ts";
import { CookieJar, SECRET } from "./helpers.ts";

const server = testServer();
const OLD_SECRET = "keyboard cat";

/** express-session's cookie value for `sid`: `s:` + cookie-signature's sign(). */
function expressCookie(sid: string, secret = OLD_SECRET): string {
  const mac = createHmac("sha256", secret).update(sid).digest("base64").replace(/=+$/, "");
  return encodeURIComponent(`s:${sid}.${mac}`);
}

test("unsignExpressCookie() checks cookie-signature's HMAC with every secret given", async () => {
  const value = decodeURIComponent(expressCookie("abc-DEF_123"));
  assert.equal(await unsignExpressCookie(value, ["other", OLD_SECRET]), "abc-DEF_123");
  assert.equal(await unsignExpressCookie(value, ["other"]), null);
  assert.equal(await unsignExpressCookie(value.slice(0, -1) + "A", [OLD_SECRET]), null);
  assert.equal(await unsignExpressCookie("abc-DEF_123", [OLD_SECRET]), null);
});

if ("skip" in server) {
  if (process.env.CI) test("migration tests have PostgreSQL", () => assert.fail(server.skip));
  else test(`migration tests (skipped: ${server.skip})`, { skip: server.skip }, () => {});
} else {
  test("fromConnectPgSimple moves a live connect-pg-simple session into PostgresStore, once, and clears the old cookie", async () => {
    const c = await connect("postgres.js", server.url);
    const legacy = uniqueTable();
    const table = uniqueTable();
    await c.exec(
      `CREATE TABLE "${legacy}" ("sid" varchar NOT NULL COLLATE "default", "sess" json NOT NULL, "expire" timestamp(6) NOT NULL)`,
    );
    await c.exec(`ALTER TABLE "${legacy}" ADD CONSTRAINT "${legacy}_pkey" PRIMARY KEY ("sid")`);
    try {
      const sid = "Ab3_x9-QkLmN0pQrStUvWxYz01234567";
      const sess = { cookie: { originalMaxAge: 3600000, httpOnly: true, path: "/" }, userId: "ada", count: 3 };
      await c.exec(`INSERT INTO "${legacy}" (sid, sess, expire) VALUES ($1, $2, now() + interval '1 hour')`, [
        sid,
        JSON.stringify(sess),
      ]);
      await c.exec(
        `INSERT INTO "${legacy}" (sid, sess, expire) VALUES ('gone', '{"count":9}', now() - interval '1 hour')`,
      );
      const sql = c.client as { unsafe(t: string, p: unknown[]): Promise<Record<string, unknown>[]> };
      const store = new PostgresStore({ client: c.client, table });
      const app = new Hono<SessionEnv<{ count: number; userId: string }>>();
      app.use(session({ secret: SECRET, store }));
      app.use(fromConnectPgSimple({
        query: (text, params) => sql.unsafe(text, params),
        secret: OLD_SECRET,
        table: legacy,
        userOf: (old) => typeof old.userId === "string" ? old.userId : undefined,
      }));
      app.get(
        "/inc",
        async (ctx) => ctx.text(String((await ctx.get("session").load()).update("count", (n) => (n ?? 0) + 1))),
      );

      const jar = new CookieJar(app);
      const res = await jar.fetch("/inc", { headers: { cookie: `connect.sid=${expressCookie(sid)}` } });
      assert.equal(await res.text(), "4");
      assert.ok(res.headers.getSetCookie().some((l) => /^connect\.sid=;/.test(l)), "the old cookie is cleared");
      assert.equal(await (await jar.fetch("/inc")).text(), "5");
      assert.deepEqual((await store.listByUser("ada")).length, 1);
      assert.deepEqual(await c.exec(`SELECT sid FROM "${legacy}" WHERE sid = $1`, [sid]), []);

      // The old cookie again (replayed): its row is gone, so it is a fresh session.
      const replay = new CookieJar(app);
      assert.equal(
        await (await replay.fetch("/inc", { headers: { cookie: `connect.sid=${expressCookie(sid)}` } })).text(),
        "1",
      );
      // A forged signature, and an expired old row, copy nothing.
      const forged = new CookieJar(app);
      assert.equal(
        await (await forged.fetch("/inc", { headers: { cookie: `connect.sid=${expressCookie("gone", "wrong")}` } }))
          .text(),
        "1",
      );
      const expired = new CookieJar(app);
      assert.equal(
        await (await expired.fetch("/inc", { headers: { cookie: `connect.sid=${expressCookie("gone")}` } })).text(),
        "1",
      );
    } finally {
      await c.exec(`DROP TABLE IF EXISTS "${legacy}", "${table}"`);
      await c.close();
    }
  });
}
