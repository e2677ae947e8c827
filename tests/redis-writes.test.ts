/**
 * RedisStore's writes against a real redis-server: every write script is
 * all-or-nothing (issue 22, defect 4), times the store cannot hold are
 * refused before anything is sent, and what a request costs in round trips
 * (issue 23 §2). scripts/test-all.sh starts the server (SATCHEL_REDIS_URL).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { generateId } from "../src/id.ts";
import { session, type SessionEnv } from "../src/middleware.ts";
import { toCommander } from "../src/store/redis/commander.ts";
import { INDEX, MAX_TIME, type Script, SET, TOUCH } from "../src/store/redis/scripts.ts";
import { RedisStore } from "../src/store/redis.ts";
import type { StoredSession } from "../src/store/types.ts";
import { CLIENTS, connect, dropPrefix, REDIS_URL, type TestClient } from "./fixtures/redis-clients.ts";
import { CookieJar, SECRET } from "./helpers.ts";

const SKIP = "SATCHEL_REDIS_URL is not set: run the suite with `npm test`, which starts a private redis-server";

/** A store on a fresh prefix whose commands are recorded in `sent` (the command names, EVALSHA as the script's role). */
async function fixture(url: string) {
  const c = await connect(CLIENTS[0]!, url);
  const prefix = `satchel-test:${generateId().slice(0, 10)}:`;
  const inner = toCommander(c.client)!;
  const sent: string[][] = [];
  const store = new RedisStore({
    client: { command: (args: string[], key: string) => (sent.push(args), inner.command(args, key)) },
    prefix,
  });
  return {
    c,
    store,
    prefix,
    sent,
    async done() {
      await dropPrefix(c, prefix);
      await c.close();
    },
  };
}

function stored(payload: string, expiresAt: number, userId: string | null = null): StoredSession {
  return { payload, expiresAt, createdAt: Date.now(), userId };
}

/** What a session key and a user index hold, to compare before and after a refused write. */
async function snapshot(c: TestClient, keys: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const key of keys) {
    out.push(await c.cmd(["TYPE", key]));
    const type = String(await c.cmd(["TYPE", key]));
    if (type === "hash") out.push(await c.cmd(["HGETALL", key]));
    if (type === "zset") out.push(await c.cmd(["ZRANGE", key, "0", "-1", "WITHSCORES"]));
    // The TTL to the second: a key that lost its TTL shows -1.
    out.push(Math.round(Number(await c.cmd(["PTTL", key])) / 10_000));
  }
  return out;
}

async function evalScript(c: TestClient, s: Script, key: string, args: string[]): Promise<unknown> {
  return await c.cmd(["EVAL", s.source, "1", key, ...args]);
}

if (REDIS_URL === undefined) {
  test("RedisStore write tests (skipped: SATCHEL_REDIS_URL is not set)", { skip: SKIP }, () => {});
} else {
  const url = REDIS_URL;

  test("RedisStore refuses a time past the latest it can store with a RangeError, before sending a command", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      const now = Date.now();
      await f.store.set(id, stored("kept", now + 60_000, "ada"));
      const keys = [f.store.sessionKey(id), f.store.userKey("ada")];
      const before = await snapshot(f.c, keys);
      // setExpires(9e12) and beyond (issue 22, defect 4), and what no clock gives.
      for (const bad of [now + 9e15, now + 1e16, 1e22, Infinity, NaN, -1]) {
        f.sent.length = 0;
        const message =
          /^Cannot (store|update|touch) session: expiresAt must be a time in ms from 0 to 8640000000000000/;
        await assert.rejects(f.store.set(id, stored("lost", bad, "ada")), { name: "RangeError", message });
        await assert.rejects(f.store.set(generateId(), stored("lost", bad, "ada")), { name: "RangeError", message });
        await assert.rejects(f.store.touch(id, bad), { name: "RangeError", message });
        await assert.rejects(f.store.update(id, (cur) => ({ ...cur!, payload: "lost", expiresAt: bad })), {
          name: "RangeError",
          message,
        });
        // update reads first (it needs the current value); nothing else is sent.
        assert.deepEqual(f.sent.map((a) => a[0]).filter((c) => c !== "HMGET"), [], String(bad));
        assert.deepEqual(await snapshot(f.c, keys), before, String(bad));
      }
      await assert.rejects(f.store.set(id, { ...stored("lost", now + 60_000), createdAt: NaN }), {
        name: "RangeError",
        message:
          /^Cannot store session: createdAt must be a time in ms from 0 to 8640000000000000 \(the latest a JavaScript Date holds\): received NaN$/,
      });
      assert.equal((await f.store.get(id))?.payload, "kept");
      // The largest time allowed is stored, with its TTL.
      await f.store.set(id, stored("far", MAX_TIME, "ada"));
      assert.equal((await f.store.get(id))?.expiresAt, MAX_TIME);
      assert.ok(Number(await f.c.cmd(["PTTL", keys[0]!])) > 0);
      assert.ok(Number(await f.c.cmd(["PTTL", keys[1]!])) > 0);
    } finally {
      await f.done();
    }
  });

  test("RedisStore's write scripts change nothing when an argument is out of range", async () => {
    const f = await fixture(url);
    try {
      const id = generateId();
      const now = Date.now();
      await f.store.set(id, stored("kept", now + 60_000, "ada"));
      const key = f.store.sessionKey(id);
      const ukey = f.store.userKey("ada");
      const before = await snapshot(f.c, [key, ukey]);
      const [v, e] = (await f.c.cmd(["HMGET", key, "v", "e"])) as string[];
      const state = `${v}|${e}`;
      const far = String(now + 120_000);
      const cases: [Script, string, string[]][] = [
        // SET: expected state, payload, createdAt, expiresAt, user flag, user, version, cover, TTL.
        [SET, key, [state, "lost", String(now), far, "1", "ada", "v2", far, "1e+21"]],
        [SET, key, [state, "lost", String(now), far, "1", "ada", "v2", far, "-5"]],
        [SET, key, [state, "lost", String(now), "1e+22", "1", "ada", "v2", far, "120000"]],
        [SET, key, [state, "lost", "x", far, "1", "ada", "v2", far, "120000"]],
        [SET, key, [state, "lost", String(now), far, "1", "ada", "v2", "NaN", "120000"]],
        [SET, key, ["*", "lost", String(now), far, "1", "ada", "v2", far, "9.5"]],
        // TOUCH: now, expiresAt, TTL, cover, its user.
        [TOUCH, key, [String(now), far, "1e+21", "", ""]],
        [TOUCH, key, [String(now), "1e+22", "120000", "", ""]],
        [TOUCH, key, [String(now), far, "120000", "1e+22", "ada"]],
        [TOUCH, key, ["nan", far, "120000", "", ""]],
        // INDEX: now, score, id.
        [INDEX, ukey, ["1e+22", far, generateId()]],
        [INDEX, ukey, [String(now), "1e+22", generateId()]],
        [INDEX, ukey, [String(now), "inf", generateId()]],
      ];
      for (const [s, k, args] of cases) {
        await assert.rejects(evalScript(f.c, s, k, args), /ERR satchel: /, args.join(" "));
        assert.deepEqual(await snapshot(f.c, [key, ukey]), before, args.join(" "));
      }
    } finally {
      await f.done();
    }
  });

  test("RedisStore indexes a user whose index holds an entry past the latest time (left by an earlier version)", async () => {
    const f = await fixture(url);
    try {
      const ukey = f.store.userKey("ada");
      const old = generateId();
      await f.c.cmd(["ZADD", ukey, "2e19", old]);
      await f.c.cmd(["PEXPIRE", ukey, "7200000"]);
      const id = generateId();
      await f.store.set(id, stored("p", Date.now() + 60_000, "ada"));
      assert.equal((await f.store.get(id))?.payload, "p");
      assert.ok(Number(await f.c.cmd(["PTTL", ukey])) > 0);
      assert.equal(await f.store.deleteByUser("ada"), 1);
    } finally {
      await f.done();
    }
  });

  test("session() on RedisStore: setExpires() far past the latest time never leaves a session without TTL or a user locked out", async () => {
    const f = await fixture(url);
    try {
      const app = new Hono<SessionEnv<{ n: number }>>();
      app.use(session({ secret: SECRET, store: f.store }));
      app.onError((e, c) => c.text(e.name, 500)); // the refusal, without Hono's log line
      app.get("/login", async (c) => {
        const s = await c.get("session").load();
        s.setUser("ada");
        s.set("n", 1);
        return c.text("ok");
      });
      // Refused by setExpires() itself (at most 400 days) or, below that guard, by the store: never half written.
      app.get("/forever", async (c) => {
        (await c.get("session").load()).setExpires(Number(c.req.query("s")));
        return c.text("ok");
      });
      for (const seconds of [9e12, 1e16, 1e20]) {
        const jar = new CookieJar(app);
        assert.equal((await jar.fetch("/login")).status, 200);
        const res = await jar.fetch(`/forever?s=${seconds}`);
        await res.text();
        const keys = (await f.c.cmd(["KEYS", `${f.prefix}*`])) as string[];
        for (const key of keys) assert.ok(Number(await f.c.cmd(["PTTL", key])) > 0, `${key} has a TTL (${seconds})`);
        // The user can still sign in, on another browser.
        assert.equal((await new CookieJar(app).fetch("/login")).status, 200, String(seconds));
      }
    } finally {
      await f.done();
    }
  });
}

test(
  "session() on RedisStore: a request's write uses its own load's read however many requests load meanwhile (one round trip, not two)",
  {
    skip: !REDIS_URL && SKIP,
  },
  async () => {
    const f = await fixture(REDIS_URL!);
    try {
      const app = new Hono<SessionEnv<{ n: number }>>();
      app.use(session({ secret: SECRET, store: f.store }));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let loaded!: () => void;
      const hasLoaded = new Promise<void>((r) => (loaded = r));
      app.get("/login", async (c) => ((await c.get("session").load()).set("n", 0), c.text("ok")));
      app.get("/read", async (c) => c.text(String((await c.get("session").load()).get("n"))));
      app.get("/slow-inc", async (c) => {
        const s = await c.get("session").load();
        loaded();
        await gate; // a handler waiting on a database, say, while the process serves others
        return c.text(String(s.update("n", (n) => (n ?? 0) + 1)));
      });
      const jar = new CookieJar(app);
      await jar.fetch("/login");
      // 1,200 other visitors: more sessions than any bounded list of recent reads by id would keep.
      const others = Array.from({ length: 1200 }, () => new CookieJar(app));
      for (let i = 0; i < others.length; i += 100) {
        await Promise.all(others.slice(i, i + 100).map(async (o) => await (await o.fetch("/login")).text()));
      }
      const slow = jar.fetch("/slow-inc");
      await hasLoaded;
      for (let i = 0; i < others.length; i += 100) {
        await Promise.all(others.slice(i, i + 100).map(async (o) => await (await o.fetch("/read")).text()));
      }
      const before = f.sent.length;
      release();
      assert.equal(await (await slow).text(), "1");
      assert.deepEqual(f.sent.slice(before).map((a) => a[0]), ["EVALSHA"], "the write, and no read of its own");
    } finally {
      await f.done();
    }
  },
);

/**
 * What Redis runs for commands on keys containing `marker`, scripts' own calls included: a MONITOR connection over a
 * raw socket (Redis itself reports each command a script makes, as `[0 lua] "HSET" …`). Stop with `stop()`.
 */
async function monitor(url: string, marker: string): Promise<{ seen: string[][]; stop: () => Promise<void> }> {
  const { createConnection } = await import("node:net");
  const u = new URL(url);
  const socket = createConnection({ host: u.hostname, port: Number(u.port || 6379) });
  const seen: string[][] = [];
  let buffer = "";
  // AUTH's +OK first when there is a password; MONITOR's is the last one.
  let oks = u.password ? 2 : 1;
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\r\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (line === "+OK" && --oks === 0) ready();
      else if (line.startsWith("+") && line.includes(marker)) {
        const lua = line.includes("[0 lua]") ? "lua" : "client";
        seen.push([lua, ...[...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!)]);
      }
    }
  });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  if (u.password) {
    socket.write(`AUTH ${decodeURIComponent(u.username || "default")} ${decodeURIComponent(u.password)}\r\n`);
  }
  socket.write("MONITOR\r\n");
  await started;
  return {
    seen,
    stop: async () => {
      // A command of our own, seen last: everything sent before it has been reported.
      const c = await connect(CLIENTS[0]!, url);
      await c.cmd(["EXISTS", `${marker}:end`]);
      for (let i = 0; i < 200 && !seen.some((s) => s.includes(`${marker}:end`)); i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await c.close();
      socket.destroy();
    },
  };
}

test(
  "RedisStore: an update that keeps the expiry and binds no user makes Redis run neither PEXPIRE nor HDEL (its PUBLISH aside, 2 calls on the key, not 4)",
  {
    skip: !REDIS_URL && SKIP,
  },
  async () => {
    const f = await fixture(REDIS_URL!);
    const watch = await monitor(REDIS_URL!, f.prefix);
    try {
      const id = generateId();
      const expiresAt = Date.now() + 60_000;
      await f.store.set(id, stored("a", expiresAt));
      await f.store.get(id);
      await f.store.update(id, (s) => ({ ...s!, payload: "b" })); // same expiry, no user
      await f.store.update(id, (s) => ({ ...s!, payload: "c", expiresAt: expiresAt + 1000 })); // a new expiry
      await f.store.update(id, (s) => ({ ...s!, payload: "d", userId: "u1" })); // bound
      await f.store.update(id, (s) => ({ ...s!, payload: "e", userId: null })); // unbound again
      await watch.stop();
      // The calls the scripts made on the session's key (not the user index's), one list per write.
      const key = f.store.sessionKey(id);
      const scripts = watch.seen.filter((s) => s[0] === "lua" && s[2] === key).map((s) => s[1]!.toUpperCase());
      const writes: string[][] = [];
      for (const call of scripts) {
        if (call === "HMGET" || (call === "HSET" && writes.at(-1)?.at(-1) !== "HMGET")) writes.push([]);
        writes.at(-1)!.push(call);
      }
      const pexpire = (w: string[]) => w.filter((c) => c === "PEXPIRE").length;
      const hdel = (w: string[]) => w.filter((c) => c === "HDEL").length;
      assert.equal(writes.length, 5, JSON.stringify(writes));
      assert.deepEqual(
        writes[1],
        ["HMGET", "HSET"],
        "same expiry, no user: no PEXPIRE, no HDEL " + JSON.stringify(writes),
      );
      assert.equal(pexpire(writes[2]!), 1, "a new expiry moves the TTL");
      assert.equal(hdel(writes[4]!), 1, "unbinding removes the user");
      assert.ok(Number(await f.c.cmd(["PTTL", f.store.sessionKey(id)])) > 55_000, "the key keeps its TTL");
      assert.equal((await f.store.get(id))?.payload, "e");
      // A touch moves the expiry and the TTL; a data write keeping the touched expiry leaves that TTL.
      await f.store.touch(id, Date.now() + 600_000);
      await f.store.get(id);
      await f.store.update(id, (s) => ({ ...s!, payload: "f" }));
      const ttl = Number(await f.c.cmd(["PTTL", f.store.sessionKey(id)]));
      assert.ok(ttl > 590_000 && ttl <= 600_000, `the touched TTL stays: ${ttl}`);
    } finally {
      await watch.stop().catch(() => {});
      await f.done();
    }
  },
);
