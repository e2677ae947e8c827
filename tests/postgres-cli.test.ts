/**
 * `satchel sweep|stats --url` against the private PostgreSQL cluster, run
 * in-process through main() (the SQLite CLI's entry, which hands Postgres
 * runs to src/store/postgres/cli.ts).
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { PostgresStore } from "../src/store/postgres.ts";
import { main } from "../src/store/sqlite/cli.ts";
import { connect, testServer, uniqueTable } from "./fixtures/pg.ts";

const server = testServer();

async function satchel(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = "";
  let stderr = "";
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    const code = await main(args, { out: (s) => void (stdout += s), err: (s) => void (stderr += s), tty: false });
    return { code, stdout, stderr };
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

/** A table with 3 live sessions and 2 expired ones. */
async function seeded(url: string) {
  const c = await connect("pg", url);
  const table = uniqueTable();
  const store = new PostgresStore({ client: c.client, table });
  const now = Date.now();
  for (let i = 0; i < 3; i++) {
    await store.set(`live${i}`.padEnd(32, "x"), { payload: "p".repeat(100), expiresAt: now + 60_000, createdAt: now });
  }
  for (let i = 0; i < 2; i++) {
    await store.set(`dead${i}`.padEnd(32, "x"), { payload: "d", expiresAt: now - 1000, createdAt: now - 5000 });
  }
  return { c, table, done: async () => (await c.exec(`DROP TABLE IF EXISTS ${table}`), await c.close()) };
}

if ("skip" in server) {
  if (process.env.CI) {
    test("satchel --url tests have PostgreSQL", () =>
      assert.fail(`in CI a missing server is a failure: ${server.skip}`));
  } else {
    test(`satchel --url tests (skipped: ${server.skip})`, { skip: server.skip }, () => {});
  }
} else {
  const url = server.url;

  test("satchel stats --url counts live and expired sessions of a Postgres table", async () => {
    const f = await seeded(url);
    try {
      const r = await satchel(["stats", "--url", url, "--table", f.table, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout);
      assert.equal(s.live, 3);
      assert.equal(s.expired, 2);
      assert.deepEqual(s.payloadBytes, { total: 300, p50: 100, p99: 100 });
      assert.ok(s.tableBytes > 0);
      const text = await satchel(["stats", "--url", url, "--table", f.table]);
      assert.match(text.stdout, /live sessions +3\n/);
    } finally {
      await f.done();
    }
  });

  test("satchel sweep with DATABASE_URL deletes the expired sessions only", async () => {
    const f = await seeded(url);
    try {
      const r = await satchel(["sweep", "--table", f.table, "--json", "--batch", "1"], { DATABASE_URL: url });
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout);
      assert.equal(result.removed, 2);
      assert.equal(result.batches, 3);
      const [row] = await f.c.exec(`SELECT count(*)::int AS n FROM ${f.table}`);
      assert.equal(row?.n, 3);
    } finally {
      await f.done();
    }
  });

  test("satchel clear --url ends every session after confirmation, and refuses without a terminal or --yes", async () => {
    const f = await seeded(url);
    try {
      const refused = await satchel(["clear", "--url", url, "--table", f.table]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /no terminal to ask for confirmation on; pass --yes/);
      const [before] = await f.c.exec(`SELECT count(*)::int AS n FROM ${f.table}`);
      assert.equal(before?.n, 5);
      const r = await satchel(["clear", "--url", url, "--table", f.table, "--yes", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).ended, 3); // the live ones; the expired rows go too, uncounted
      const [after] = await f.c.exec(`SELECT count(*)::int AS n FROM ${f.table}`);
      assert.equal(after?.n, 0);
    } finally {
      await f.done();
    }
  });

  test("satchel sweep --url refuses a missing table and creates none", async () => {
    const c = await connect("pg", url);
    const table = uniqueTable();
    try {
      const r = await satchel(["sweep", "--url", url, "--table", table]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^satchel: Cannot sweep ${table} at .*: table ${table} does not exist`));
      // The CLI never creates a table: it says how to name another, not to turn on an option it does not have.
      assert.match(r.stderr, /pass --table NAME/);
      assert.doesNotMatch(r.stderr, /createTable/);
      assert.equal((await c.exec("SELECT to_regclass($1) AS t", [table]))[0]?.t, null);
    } finally {
      await c.close();
    }
  });

  test("satchel --url: bad usage exits 2, an unreachable server exits 1 without printing the password", async () => {
    assert.equal((await satchel(["stats", "--url", "mysql://x/y"])).code, 2);
    assert.equal((await satchel(["stats", "some.sqlite", "--url", url])).code, 2);
    assert.equal((await satchel(["sweep", "--url", url, "--batch", "0"])).code, 2);
    const r = await satchel(["stats", "--url", "postgres://u:hunter2@127.0.0.1:1/db"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^satchel: Cannot stats satchel_sessions at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: /);
    assert.doesNotMatch(r.stderr, /hunter2/);
  });
}
