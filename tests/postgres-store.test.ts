/**
 * PostgresStore against a real PostgreSQL (the private cluster of
 * scripts/pg-cluster.sh): the conformance suite with every client that runs
 * on this runtime, setup errors, the table check, sweeps, and the middleware
 * through app.request(). Faults and multi-process counts: postgres-faults.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import { Hono } from "hono";
import { SessionTooLargeError, StoreUnavailableError } from "../src/errors.ts";
import { MAX_TIME } from "../src/clock.ts";
import { generateId } from "../src/id.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { PostgresStore } from "../src/store/postgres.ts";
import type { StoredSession } from "../src/store/types.ts";
import { type ClientName, CLIENTS, connect, testServer, uniqueTable } from "./fixtures/pg.ts";
import { HttpJar, runtime, startExample } from "./example-server.ts";
import { CookieJar, FakeClock, SECRET } from "./helpers.ts";
import { storeConformance } from "./store-conformance.ts";

const server = testServer();

function stored(payload: string, now: number, ttlMs = 60_000, userId: string | null = null): StoredSession {
  return { payload, expiresAt: now + ttlMs, createdAt: now, userId };
}

/** A client, a store on a fresh table, and how to drop both. */
async function fixture(
  url: string,
  name: ClientName = CLIENTS[0]!,
  options: Partial<ConstructorParameters<typeof PostgresStore>[0]> = {},
) {
  const c = await connect(name, url);
  const table = uniqueTable();
  const store = new PostgresStore({ client: c.client, table, ...options });
  return {
    c,
    store,
    table,
    async done() {
      await c.exec(`DROP TABLE IF EXISTS ${table}`);
      await c.close();
    },
  };
}

if ("skip" in server) {
  if (process.env.CI) {
    test("PostgresStore tests have a PostgreSQL server", () =>
      assert.fail(`in CI a missing server is a failure: ${server.skip}`));
  } else {
    console.warn(`note: PostgresStore tests skipped: ${server.skip}`);
    test(`PostgresStore tests (skipped: ${server.skip})`, { skip: server.skip }, () => {});
  }
} else {
  const url = server.url;

  for (const name of CLIENTS) {
    storeConformance(`PostgresStore (${name})`, async (clock) => {
      const c = await connect(name, url);
      const table = uniqueTable();
      return {
        store: new PostgresStore({ client: c.client, table, clock: clock.fn }),
        cleanup: async () => {
          await c.exec(`DROP TABLE IF EXISTS ${table}`);
          await c.close();
        },
      };
    });
  }

  test("PostgresStore rejects a client of the wrong kind, at setup, saying what it takes", () => {
    for (const client of [{}, "postgres://localhost/db", null, 42]) {
      assert.throws(() => new PostgresStore({ client: client as object }), {
        name: "TypeError",
        message: /^Cannot create PostgresStore: client must be a PostgreSQL client: postgres\.js's sql/,
      });
    }
    assert.throws(() => new PostgresStore({ client: "postgres://x/y" as never }), /pass postgres\(url\)/);
  });

  test("PostgresStore rejects a table name that is not name or schema.name, at setup", () => {
    const client = { query: async () => ({ rows: [] }) };
    for (const table of ["", "a b", 'x"; DROP TABLE users; --', "a.b.c", "1abc", "x".repeat(64)]) {
      assert.throws(() => new PostgresStore({ client, table }), {
        name: "TypeError",
        message: /^Cannot create PostgresStore: table must be "name" or "schema.name"/,
      });
    }
    assert.equal(new PostgresStore({ client, table: "app.Sessions" }).table, "app.Sessions");
  });

  test("PostgresStore rejects unknown and foreign options with a hint, and bad numbers", () => {
    const client = { query: async () => ({ rows: [] }) };
    assert.throws(() => new PostgresStore({ client, tableName: "s" } as never), /"tableName" \(use table\)/);
    assert.throws(() => new PostgresStore({ client, commandTimeout: 0 }), { name: "RangeError" });
    assert.throws(
      () => new PostgresStore({ client, createTable: "yes" } as never),
      /createTable must be true or false/,
    );
    // undefined keeps the default
    assert.equal(new PostgresStore({ client, maxPayloadBytes: undefined }).maxPayloadBytes, 1024 * 1024);
  });

  test("docs/postgres-schema.sql is PostgresStore.schema(), and a table made from it serves createTable: false", async () => {
    const file = readFileSync(new URL("../docs/postgres-schema.sql", import.meta.url), "utf8");
    const statements = file.split("\n").filter((l) => !l.startsWith("--")).join("\n").split(";\n").map((x) => x.trim())
      .filter((x) => x !== "");
    assert.deepEqual(statements, PostgresStore.schema());
    const c = await connect("pg", url);
    const schema = `m_${generateId().slice(0, 8).toLowerCase().replace(/[^a-z0-9]/g, "_")}`;
    await c.exec(`CREATE SCHEMA ${schema}`);
    try {
      for (const sql of PostgresStore.schema(`${schema}.sessions`)) await c.exec(sql);
      const store = new PostgresStore({ client: c.client, table: `${schema}.sessions`, createTable: false });
      await store.set("c".repeat(32), stored("p", Date.now()));
      assert.equal((await store.get("c".repeat(32)))?.payload, "p");
    } finally {
      await c.exec(`DROP SCHEMA ${schema} CASCADE`);
      await c.close();
    }
  });

  test("PostgresStore.ready() creates the table once and a second store finds it", async () => {
    const f = await fixture(url);
    try {
      await f.store.ready();
      const [row] = await f.c.exec("SELECT obj_description(to_regclass($1), 'pg_class') AS mark", [f.table]);
      assert.equal(row?.mark, "satchel:1");
      const again = new PostgresStore({ client: f.c.client, table: f.table, createTable: false });
      await again.ready();
    } finally {
      await f.done();
    }
  });

  test("PostgresStore: ten stores creating one table at once all succeed", async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect("pg", url, { max: 3 })));
    const table = uniqueTable();
    try {
      const stores = Array.from({ length: 10 }, (_, i) => new PostgresStore({ client: clients[i % 4]!.client, table }));
      await Promise.all(stores.map((s) => s.ready()));
      await stores[0]!.set("a".repeat(32), stored("x", Date.now()));
      assert.equal((await stores[9]!.get("a".repeat(32)))?.payload, "x");
    } finally {
      await clients[0]!.exec(`DROP TABLE IF EXISTS ${table}`);
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  test("PostgresStore.ready() with createTable: false fails on a missing table, saying how to create it", async () => {
    const f = await fixture(url, undefined, { createTable: false });
    try {
      await assert.rejects(
        f.store.ready(),
        /^PostgresSchemaError: Cannot use PostgresStore: table t_\w+ does not exist; create it with the SQL in docs\/postgres-schema\.sql/,
      );
      // a request meanwhile answers 503 with the same message; nothing is created
      await assert.rejects(
        f.store.get(generateId()),
        (e) => e instanceof StoreUnavailableError && /does not exist/.test(e.message),
      );
      assert.equal((await f.c.exec("SELECT to_regclass($1) AS t", [f.table]))[0]?.t, null);
    } finally {
      await f.done();
    }
  });

  test("PostgresStore refuses a table from a newer Satchel and connect-pg-simple's table", async () => {
    const f = await fixture(url);
    try {
      await f.store.ready();
      await f.c.exec(`COMMENT ON TABLE ${f.table} IS 'satchel:2'`);
      const newer = new PostgresStore({ client: f.c.client, table: f.table });
      await assert.rejects(newer.ready(), /has layout satchel:2 and this Satchel reads satchel:1; upgrade Satchel/);
      const legacy = uniqueTable();
      await f.c.exec(
        `CREATE TABLE ${legacy} (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`,
      );
      try {
        const wrong = new PostgresStore({ client: f.c.client, table: legacy });
        await assert.rejects(wrong.ready(), /is not a Satchel sessions table .*looks like connect-pg-simple's/);
      } finally {
        await f.c.exec(`DROP TABLE ${legacy}`);
      }
    } finally {
      await f.done();
    }
  });

  test("PostgresStore.ready() says how to fix a role that may not create the table", async () => {
    const admin = await connect("pg", url);
    const role = `r_${generateId().slice(0, 8).toLowerCase().replace(/[^a-z0-9]/g, "_")}`;
    await admin.exec(`CREATE ROLE ${role} LOGIN`);
    await admin.exec(`CREATE SCHEMA ${role}_s`);
    await admin.exec(`GRANT USAGE ON SCHEMA ${role}_s TO ${role}`);
    const u = new URL(url);
    u.username = role;
    const limited = await connect("pg", u.toString());
    try {
      const store = new PostgresStore({ client: limited.client, table: `${role}_s.sessions` });
      await assert.rejects(
        store.ready(),
        /creating table \w+\.sessions was refused \(permission denied.*\); grant this role CREATE on the schema/,
      );
    } finally {
      await limited.close();
      await admin.exec(`DROP SCHEMA ${role}_s CASCADE`);
      await admin.exec(`DROP ROLE ${role}`);
      await admin.close();
    }
  });

  test("PostgresStore.ready() refuses a table it could not write, saying how to fix it: no key on id, wrong types, no grants", async () => {
    const admin = await connect("pg", url);
    const noKey = uniqueTable();
    const wrongTypes = uniqueTable();
    const role = `r_${generateId().slice(0, 8).toLowerCase().replace(/[^a-z0-9]/g, "_")}`;
    const good = uniqueTable();
    try {
      // The columns by name, but no primary key on id (a hand-written migration, a pre-data-only restore).
      await admin.exec(
        `CREATE TABLE ${noKey} (id text, payload text NOT NULL, expires_at bigint NOT NULL, created_at bigint NOT NULL, ` +
          "user_id text, version bigint NOT NULL DEFAULT 1)",
      );
      await assert.rejects(
        new PostgresStore({ client: admin.client, table: noKey, createTable: false }).ready(),
        /table \w+ has no primary key or unique index on id: .*ALTER TABLE "\w+" ADD PRIMARY KEY \(id\)/,
      );
      await admin.exec(
        `CREATE TABLE ${wrongTypes} (id uuid PRIMARY KEY, payload jsonb NOT NULL, expires_at timestamptz NOT NULL, ` +
          "created_at bigint NOT NULL, user_id text, version integer NOT NULL DEFAULT 1)",
      );
      await assert.rejects(
        new PostgresStore({ client: admin.client, table: wrongTypes, createTable: false }).ready(),
        /table \w+ has column id uuid \(not text\), payload jsonb \(not text\), expires_at timestamp with time zone \(not bigint\), version integer \(not bigint\); create it with the SQL in docs\/postgres-schema\.sql/,
      );
      // A role that may read the table but not write it.
      await new PostgresStore({ client: admin.client, table: good }).ready();
      await admin.exec(`CREATE ROLE ${role} LOGIN`);
      await admin.exec(`GRANT SELECT ON ${good} TO ${role}`);
      const u = new URL(url);
      u.username = role;
      const limited = await connect("pg", u.toString());
      try {
        await assert.rejects(
          new PostgresStore({ client: limited.client, table: good, createTable: false }).ready(),
          new RegExp(
            `this role \\(${role}\\) may not INSERT, UPDATE, DELETE on table ${good}: ` +
              `GRANT SELECT, INSERT, UPDATE, DELETE ON "${good}" TO ${role}`,
          ),
        );
      } finally {
        await limited.close();
      }
    } finally {
      for (const t of [noKey, wrongTypes, good]) await admin.exec(`DROP TABLE IF EXISTS ${t}`);
      await admin.exec(`DROP ROLE IF EXISTS ${role}`);
      await admin.close();
    }
  });

  test("PostgresStore gives each table its own indexes, even two long names alike up to where index names are cut", async () => {
    const c = await connect("pg", url);
    const base = `t_${generateId().slice(0, 8).toLowerCase().replace(/[^a-z0-9]/g, "_")}_`.padEnd(58, "x");
    const [a, b] = [`${base}a`, `${base}b`]; // 59 characters: "<name>_expires_at" must be cut to 63
    try {
      for (const table of [a, b]) await new PostgresStore({ client: c.client, table }).ready();
      for (const table of [a, b]) {
        const indexes = await c.exec(
          "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
          [table],
        );
        const defs = indexes.map((r) => String(r.indexdef));
        assert.ok(defs.some((d) => /\(expires_at\)/.test(d)), `${table}: ${defs.join("; ")}`);
        assert.ok(defs.some((d) => /\(user_id\) WHERE/.test(d)), `${table}: ${defs.join("; ")}`);
      }
    } finally {
      for (const table of [a, b]) await c.exec(`DROP TABLE IF EXISTS "${table}"`);
      await c.close();
    }
  });

  test("PostgresStore keeps a schema-qualified, mixed-case table in its schema", async () => {
    const c = await connect("postgres.js", url);
    const schema = `s_${generateId().slice(0, 8).toLowerCase().replace(/[^a-z0-9]/g, "_")}`;
    await c.exec(`CREATE SCHEMA ${schema}`);
    try {
      const store = new PostgresStore({ client: c.client, table: `${schema}.Sessions` });
      await store.set("b".repeat(32), stored("p", Date.now()));
      const rows = await c.exec(`SELECT payload FROM ${schema}."Sessions"`);
      assert.deepEqual(rows.map((r) => r.payload), ["p"]);
    } finally {
      await c.exec(`DROP SCHEMA ${schema} CASCADE`);
      await c.close();
    }
  });

  test("PostgresStore refuses times no row can hold (NaN, Infinity, negative, past a Date) with a RangeError, writing nothing", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      const now = Date.now();
      await f.store.set(id, stored("kept", now));
      for (const bad of [NaN, Infinity, -1, MAX_TIME + 1]) {
        const s = { ...stored("bad", now), expiresAt: bad };
        await assert.rejects(f.store.set(generateId(), s), RangeError);
        await assert.rejects(f.store.set(generateId(), { ...stored("bad", now), createdAt: bad }), RangeError);
        await assert.rejects(f.store.update(id, () => s), RangeError);
        await assert.rejects(f.store.touch(id, bad), RangeError);
      }
      assert.equal((await f.store.get(id))?.payload, "kept");
      assert.equal((await f.c.exec(`SELECT count(*)::int AS n FROM ${f.table}`))[0]?.n, 1);
    } finally {
      await f.done();
    }
  });

  test("PostgresStore.set() refuses a payload over maxPayloadBytes and writes nothing", async () => {
    const f = await fixture(url, undefined, { maxPayloadBytes: 100 });
    try {
      const id = generateId();
      await assert.rejects(f.store.set(id, stored("x".repeat(101), Date.now())), SessionTooLargeError);
      await assert.rejects(f.store.update(id, () => stored("x".repeat(101), Date.now())), SessionTooLargeError);
      assert.equal(await f.store.get(id), null);
    } finally {
      await f.done();
    }
  });

  test("PostgresStore.deleteExpired(): four sweepers at once delete each expired row once, in batches", async () => {
    const f = await fixture(url);
    try {
      await f.store.ready();
      const now = Date.now();
      await f.c.exec(
        `INSERT INTO ${f.table} (id, payload, expires_at, created_at)
         SELECT 'e' || g, 'p', $1::bigint - 1000, $1::bigint - 5000 FROM generate_series(1, 3000) g
         UNION ALL SELECT 'l' || g, 'p', $1::bigint + 60000, $1::bigint FROM generate_series(1, 100) g`,
        [now],
      );
      const others = await Promise.all(Array.from({ length: 3 }, () => connect("pg", url, { max: 2 })));
      try {
        const sweepers = [f.store, ...others.map((o) => new PostgresStore({ client: o.client, table: f.table }))];
        const counts = await Promise.all(sweepers.map((s) => s.deleteExpired(now)));
        assert.equal(counts.reduce((a, b) => a + b, 0), 3000);
        const [left] = await f.c.exec(`SELECT count(*)::int AS n FROM ${f.table}`);
        assert.equal(left?.n, 100);
      } finally {
        await Promise.all(others.map((o) => o.close()));
      }
    } finally {
      await f.done();
    }
  });

  test("PostgresStore.deleteAll() ends every session and counts them", async () => {
    const f = await fixture(url);
    try {
      const now = Date.now();
      for (let i = 0; i < 5; i++) await f.store.set(generateId(), stored("p", now, 60_000, i % 2 ? "u" : null));
      assert.equal(await f.store.deleteAll(), 5);
      assert.equal(await f.store.deleteAll(), 0);
    } finally {
      await f.done();
    }
  });

  test("PostgresStore.close() leaves the client open and refuses later calls", async () => {
    const f = await fixture(url);
    try {
      await f.store.ready();
      f.store.close();
      await assert.rejects(f.store.get(generateId()), StoreUnavailableError);
      assert.deepEqual(await f.c.exec("SELECT 1 AS one"), [{ one: 1 }]);
    } finally {
      await f.done();
    }
  });

  test("PostgresStore starts each new row at a random version, so a deleted id written again is never taken for its first row", async () => {
    const c = await connect("pg", url);
    const table = uniqueTable();
    const store = new PostgresStore({ client: c.client, table });
    try {
      const id = generateId();
      const version = async () =>
        String((await c.exec(`SELECT version FROM ${table} WHERE id = $1`, [id]))[0]!.version);
      await store.set(id, stored("first", Date.now()));
      const first = await version();
      await store.delete(id);
      await store.update(id, () => stored("second", Date.now())); // the insert branch of a compare-and-set
      const second = await version();
      assert.notEqual(first, "1");
      assert.notEqual(second, first, "a compare-and-set against the first row's version must fail on the second");
    } finally {
      await c.exec(`DROP TABLE IF EXISTS ${table}`);
      await c.close();
    }
  });

  test("PostgresStore.update() right after get() makes one statement, and still sees a write in between", async () => {
    const c = await connect("pg", url);
    const table = uniqueTable();
    const statements: string[] = [];
    const pool = c.client as { query(t: string, p: unknown[]): Promise<{ rows: Record<string, unknown>[] }> };
    const counted = {
      query: async (text: string, params: readonly unknown[]) => {
        statements.push(text.split(" ")[0]!);
        return (await pool.query(text, [...params])).rows;
      },
    };
    const store = new PostgresStore({ client: counted, table });
    try {
      const id = generateId();
      await store.set(id, stored("0", Date.now()));
      statements.length = 0;
      // The session get() returned, handed back as the middleware does: its read stands in for the update's.
      let loaded = (await store.get(id))!;
      await store.update(id, (s) => ({ ...s!, payload: String(Number(s!.payload) + 1) }), loaded);
      assert.deepEqual(statements, ["SELECT", "UPDATE"]);
      // Another process writes between the read and the write: the compare-and-set notices and re-reads.
      loaded = (await store.get(id))!;
      await c.exec(`UPDATE ${table} SET payload = '10', version = version + 1 WHERE id = $1`, [id]);
      await store.update(id, (s) => ({ ...s!, payload: String(Number(s!.payload) + 1) }), loaded);
      assert.equal((await store.get(id))?.payload, "11");
    } finally {
      await c.exec(`DROP TABLE IF EXISTS ${table}`);
      await c.close();
    }
  });

  for (const name of CLIENTS) {
    test(`PostgresStore (${name}) behind the middleware: 50 concurrent /inc over app.request() lose nothing`, async () => {
      const f = await fixture(url, name);
      try {
        const app = new Hono<SessionEnv<{ count: number }>>();
        app.use(session({ secret: SECRET, store: f.store }));
        app.get(
          "/inc",
          async (c) => c.text(String((await c.get("session").load()).update("count", (n) => (n ?? 0) + 1))),
        );
        app.get("/read", async (c) => c.text(String((await c.get("session").load()).get("count") ?? 0)));
        const jar = new CookieJar(app);
        await jar.fetch("/inc");
        await Promise.all(Array.from({ length: 50 }, () => jar.fetch("/inc")));
        assert.equal(await (await jar.fetch("/read")).text(), "51");
      } finally {
        await f.done();
      }
    });
  }

  test("PostgresStore: remember-me and the devices page work through the middleware", async () => {
    const f = await fixture(url, "postgres.js", { clock: new FakeClock().fn });
    try {
      const app = new Hono<SessionEnv<{ n: number }>>();
      app.use(session({ secret: SECRET, store: f.store }));
      app.get("/login", async (c) => {
        const s = await c.get("session").load();
        s.regenerate();
        s.setUser("alice");
        if (c.req.query("remember") === "1") s.setExpires(30 * 24 * 3600);
        return c.text("ok");
      });
      app.get("/devices", async (c) => c.json((await c.get("session").userSessions()).map((d) => d.current)));
      app.get("/out-all", async (c) => c.text(String(await c.get("session").destroyUserSessions())));
      const a = new CookieJar(app);
      const b = new CookieJar(app);
      await a.fetch("/login?remember=1");
      await b.fetch("/login");
      const lifetimes = await f.c.exec(
        `SELECT (expires_at - created_at)::float8 / 1000 AS s FROM ${f.table} ORDER BY 1`,
      );
      assert.deepEqual(lifetimes.map((r) => r.s), [3600, 30 * 24 * 3600]);
      assert.deepEqual((await (await a.fetch("/devices")).json()).sort(), [false, true]);
      await a.fetch("/out-all");
      const [row] = await f.c.exec(`SELECT count(*)::int AS n FROM ${f.table}`);
      assert.equal(row?.n, 0);
    } finally {
      await f.done();
    }
  });
}

if (!("skip" in server)) {
  const url = server.url;

  test(`examples/demo.ts with STORE=postgres over real HTTP: the devices page signs another browser out; 50 concurrent visits all count (${runtime})`, async () => {
    const c = await connect("pg", url);
    await c.exec("DROP TABLE IF EXISTS satchel_sessions");
    const app = await startExample("demo.ts", { STORE: "postgres", DATABASE_URL: url });
    try {
      const a = new HttpJar(app.origin);
      const b = new HttpJar(app.origin);
      for (const jar of [a, b]) {
        await jar.fetch("/");
        assert.equal((await jar.postForm("/login", { user: "ada" })).status, 303);
      }
      const devices = await a.text("/devices");
      const handles = [...devices.matchAll(/action="\/devices\/([^/]+)\/sign-out"/g)].map((m) => m[1]!);
      assert.equal(handles.length, 1, devices); // the other browser; this one has no button
      assert.equal((await a.postForm(`/devices/${handles[0]}/sign-out`)).status, 303);
      assert.doesNotMatch(await b.text("/"), /Signed in as/);
      // 50 concurrent visits of one session over HTTP: the counter ends at exactly 50 more.
      const before = Number(/Visits this session: <strong>(\d+)/.exec(await a.text("/"))?.[1]);
      await Promise.all(Array.from({ length: 50 }, () => a.fetch("/").then((r) => r.text())));
      assert.equal(Number(/Visits this session: <strong>(\d+)/.exec(await a.text("/"))?.[1]), before + 51);
    } finally {
      await app.stop();
      await c.exec("DROP TABLE IF EXISTS satchel_sessions");
      await c.close();
    }
  });
}
