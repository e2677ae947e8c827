/**
 * HeaderState: the session token in a header both ways, with every store,
 * through app.request() and a client that keeps headers instead of cookies.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { generateId } from "../src/id.ts";
import { type InvalidTokenReason, session, type SessionEnv } from "../src/middleware.ts";
import { HeaderState } from "../src/state/header.ts";
import { CookieStore } from "../src/store/cookie.ts";
import { MemoryStore } from "../src/store/memory.ts";
import { NullStore } from "../src/store/null.ts";
import { RedisStore } from "../src/store/redis.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import type { RequestBound, SessionStore } from "../src/store/types.ts";
import { CLIENTS, connect, dropPrefix, REDIS_URL } from "./fixtures/redis-clients.ts";
import { CookieJar, SECRET, setCookies, tempDir } from "./helpers.ts";

const DATA_KEY = "header-state-data-key-header-state-data-key-0123";

/** A client that keeps the headers it is told to (and, optionally, cookies), like an API client. */
class HeaderClient {
  held = new Map<string, string>();
  readonly jar: CookieJar;
  readonly names: string[];
  constructor(app: Hono<SessionEnv<Data>>, names: string[]) {
    this.jar = new CookieJar(app);
    this.names = names;
  }
  async fetch(path: string): Promise<Response> {
    const res = await this.jar.fetch(path, { headers: Object.fromEntries(this.held) });
    for (const name of this.names) {
      const v = res.headers.get(name);
      if (v === "") this.held.delete(name);
      else if (v !== null) this.held.set(name, v);
    }
    return res;
  }
  async text(path: string): Promise<string> {
    return await (await this.fetch(path)).text();
  }
}

type Data = { count: number };

function app(store: SessionStore | RequestBound, state = new HeaderState()) {
  const app = new Hono<SessionEnv<Data>>();
  const invalid: InvalidTokenReason[] = [];
  app.use(session({ secret: SECRET, store, state, onInvalidToken: (_c, r) => void invalid.push(r) }));
  app.get("/inc", async (c) => c.text(String((await c.get("session").load()).update("count", (n) => (n ?? 0) + 1))));
  app.get("/read", async (c) => c.text(String((await c.get("session").load()).get("count") ?? 0)));
  app.get("/login", async (c) => {
    (await c.get("session").load()).regenerate();
    return c.text("ok");
  });
  app.get("/logout", async (c) => {
    (await c.get("session").load()).destroy();
    return c.text("bye");
  });
  return { app, invalid };
}

interface StoreCase {
  name: string;
  make: () => Promise<{ store: SessionStore | RequestBound; cleanup?: () => Promise<void> | void }>;
  /** Headers the client must keep besides X-Session-Id. */
  carry?: string[];
  /** The store keeps data in cookies the client must keep. */
  cookies?: string[];
}

const stores: StoreCase[] = [
  { name: "MemoryStore", make: async () => ({ store: new MemoryStore() }) },
  {
    name: "SqliteStore",
    make: async () => {
      const tmp = tempDir();
      const store = new SqliteStore({ path: tmp.file("s.sqlite") });
      return { store, cleanup: () => (store.close(), tmp.cleanup()) };
    },
  },
  {
    name: "CookieStore (data in X-Session-Data)",
    make: async () => ({
      store: new CookieStore({ secret: DATA_KEY, state: new HeaderState({ name: "X-Session-Data" }) }),
    }),
    carry: ["X-Session-Data"],
  },
  {
    name: "CookieStore (data in a cookie)",
    make: async () => ({ store: new CookieStore({ secret: DATA_KEY }) }),
    cookies: ["satchel-data.0"],
  },
];
if (REDIS_URL !== undefined) {
  stores.push({
    name: `RedisStore (${CLIENTS[0]})`,
    make: async () => {
      const c = await connect(CLIENTS[0]!, REDIS_URL!);
      const prefix = `satchel-test:${generateId().slice(0, 10)}:`;
      return {
        store: new RedisStore({ client: c.client, prefix }),
        cleanup: async () => (await dropPrefix(c, prefix), await c.close()),
      };
    },
  });
}

for (const s of stores) {
  test(`HeaderState carries the token both ways with ${s.name}, and never sets the id cookie`, async () => {
    const { store, cleanup } = await s.make();
    try {
      const { app: a } = app(store);
      const client = new HeaderClient(a, ["X-Session-Id", ...(s.carry ?? [])]);
      const first = await client.fetch("/inc");
      assert.equal(await first.text(), "1");
      const token = first.headers.get("X-Session-Id");
      assert.match(token ?? "", /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
      assert.equal(first.headers.get("Cache-Control"), "no-store");
      assert.match(first.headers.get("Access-Control-Expose-Headers") ?? "", /X-Session-Id/);
      assert.deepEqual(setCookies(first).map((l) => l.split("=")[0]), s.cookies ?? []);

      const second = await client.fetch("/inc");
      assert.equal(await second.text(), "2");
      assert.equal(second.headers.get("X-Session-Id"), null, "an unchanged token is not sent again");
      assert.equal(await client.text("/read"), "2");

      const login = await client.fetch("/login");
      const renewed = login.headers.get("X-Session-Id");
      assert.ok(renewed !== null && renewed !== token, "regenerate sends a new token");
      assert.equal(await client.text("/read"), "2");
      // The old token names nothing any more (CookieStore: its data now answers only to the new id).
      const stale = await a.request("http://localhost/read", {
        headers: {
          "X-Session-Id": token!,
          cookie: client.jar.header(),
          "X-Session-Data": client.held.get("X-Session-Data") ?? "",
        },
      });
      assert.equal(await stale.text(), "0");

      const logout = await client.fetch("/logout");
      assert.equal(logout.headers.get("X-Session-Id"), "", "an empty header tells the client to drop its token");
      assert.equal(client.held.has("X-Session-Id"), false);
      assert.equal(await client.text("/read"), "0");
    } finally {
      await (store as SessionStore).close?.();
      await cleanup?.();
    }
  });
}

test("HeaderState with NullStore gives every request a fresh session", async () => {
  const { app: a, invalid } = app(new NullStore());
  const client = new HeaderClient(a, ["X-Session-Id"]);
  assert.equal(await client.text("/inc"), "1");
  assert.equal(await client.text("/inc"), "1");
  assert.equal(await client.text("/read"), "0");
  assert.deepEqual(invalid, ["unknown", "unknown"]);
});

test("HeaderState treats a forged or junk token as no session: a fresh one, never a 500", async () => {
  const { app: a, invalid } = app(new MemoryStore());
  const client = new HeaderClient(a, ["X-Session-Id"]);
  await client.text("/inc");
  const token = client.held.get("X-Session-Id")!;
  for (
    const junk of [
      token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA"),
      "x",
      "a.b.c",
      "\u00e9t\u00e9",
      "A".repeat(500),
    ]
  ) {
    const res = await a.request("http://localhost/read", { headers: { "X-Session-Id": junk } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "0");
  }
  assert.equal(invalid.length, 5);
  assert.equal(await client.text("/read"), "1");
});

test("HeaderState reads its header whatever its case, under the name it was given", async () => {
  const { app: a } = app(new MemoryStore(), new HeaderState({ name: "X-Api-Session" }));
  const first = await a.request("http://localhost/inc");
  const token = first.headers.get("x-api-session")!;
  assert.ok(token.length > 0);
  const res = await a.request("http://localhost/inc", { headers: { "x-api-session": token } });
  assert.equal(await res.text(), "2");
});

test("HeaderState adds its header to Access-Control-Expose-Headers, keeping what hono/cors set", async () => {
  const a = new Hono<SessionEnv<Data>>();
  a.use(cors({ origin: "https://app.example", exposeHeaders: ["X-Request-Id"] }));
  a.use(session({ secret: SECRET, store: new MemoryStore(), state: new HeaderState() }));
  a.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
  const res = await a.request("http://localhost/inc", { headers: { origin: "https://app.example" } });
  assert.deepEqual(res.headers.get("Access-Control-Expose-Headers")!.split(",").map((s) => s.trim()).sort(), [
    "X-Request-Id",
    "X-Session-Id",
  ]);
  const quiet = new Hono<SessionEnv<Data>>();
  quiet.use(session({ secret: SECRET, store: new MemoryStore(), state: new HeaderState({ expose: false }) }));
  quiet.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
  assert.equal((await quiet.request("http://localhost/inc")).headers.get("Access-Control-Expose-Headers"), null);
});

test("HeaderState rejects a header name that is not a token or that HTTP already uses, at setup", () => {
  assert.throws(() => new HeaderState({ name: "X Session" }), {
    name: "TypeError",
    message: 'Cannot create HeaderState: name must be an HTTP header name: received "X Session"',
  });
  for (const name of ["Cookie", "set-cookie", "Authorization", "Content-Length"]) {
    assert.throws(() => new HeaderState({ name }), {
      name: "TypeError",
      message: new RegExp(`the ${name} header already means something to HTTP`),
    });
  }
});

test("new HeaderState() refuses unknown options and a non-boolean expose", () => {
  assert.throws(() => new HeaderState({ header: "X-Token" } as never), {
    name: "TypeError",
    message: 'Cannot create HeaderState: unknown option "header" (use name); known options are name, expose',
  });
  assert.throws(() => new HeaderState({ expose: "yes" } as never), {
    name: "TypeError",
    message: /expose must be a boolean: received string/,
  });
});
