/**
 * Many worker processes, one SQLite file: real processes of the runtime
 * running the tests, real HTTP on 127.0.0.1, a real file in a temp dir.
 * Every scenario runs processes with mmap on (the default, 256 MiB) and off
 * side by side on the one file (odd-numbered workers have mmap off);
 * `MULTIPROCESS_MMAP=0 npm test` runs them all with mmap off.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { tempDir } from "./helpers.ts";
import {
  burst,
  get,
  login,
  query,
  scalar,
  sessionCookie,
  startWorkers,
  stopAll,
  tally,
} from "./fixtures/worker-harness.ts";

test("SqliteStore shares sessions between two processes on one file", async () => {
  const tmp = tempDir();
  const db = tmp.file("s.sqlite");
  const [a, b] = await startWorkers(2, { SATCHEL_DB: db });
  try {
    const ca = await login(a!.origin, "alice");
    const cb = await login(b!.origin, "bob");
    // Each process reads the session the other one created, and sees its writes.
    assert.deepEqual(JSON.parse((await get(b!.origin, "/read", ca)).body), {
      isNew: false,
      data: { user: "alice", count: 0 },
    });
    assert.deepEqual(JSON.parse((await get(a!.origin, "/read", cb)).body), {
      isNew: false,
      data: { user: "bob", count: 0 },
    });
    assert.equal((await get(b!.origin, "/inc", ca)).status, 200);
    assert.deepEqual(JSON.parse((await get(a!.origin, "/read", ca)).body).data, { user: "alice", count: 1 });
    // A logout in one process ends the session for the other.
    assert.equal((await get(a!.origin, "/logout", cb)).status, 200);
    assert.deepEqual(JSON.parse((await get(b!.origin, "/read", cb)).body), { isNew: true, data: {} });
  } finally {
    await stopAll([a!, b!]);
    tmp.cleanup();
  }
});

test("session.update() loses no increment: 4 processes × 1,000 concurrent /inc on one session", async () => {
  const tmp = tempDir();
  const db = tmp.file("s.sqlite");
  const workers = await startWorkers(4, { SATCHEL_DB: db });
  try {
    const cookie = await login(workers[0]!.origin);
    const t = tally();
    // 1,000 requests per process, all sent at once over their own connections.
    await Promise.all(
      workers.map((w) =>
        burst({ origin: w.origin, total: 1000, concurrency: 1000, path: () => "/inc", cookie: () => cookie, into: t })
      ),
    );
    assert.equal(t.failed, 0);
    assert.deepEqual([...t.status], [[200, 4000]], t.errors.join("\n"));
    assert.equal(JSON.parse((await get(workers[3]!.origin, "/read", cookie)).body).data.count, 4000);
    for (const w of workers) assert.doesNotMatch(w.stderr(), /error/);
  } finally {
    await stopAll(workers);
  }
  assert.equal(scalar(db, "PRAGMA integrity_check"), "ok");
  tmp.cleanup();
});

test("Session.set() of different keys from 4 processes keeps every key", async () => {
  const tmp = tempDir();
  const db = tmp.file("s.sqlite");
  const workers = await startWorkers(4, { SATCHEL_DB: db });
  try {
    const cookie = await login(workers[0]!.origin);
    const t = tally();
    // Process i sets its own key k<i> 250 times (v = 1..250), 50 requests at a time.
    await Promise.all(
      workers.map((w, i) =>
        burst({
          origin: w.origin,
          total: 250,
          concurrency: 50,
          path: (n) => `/set?k=k${i}&v=${n + 1}`,
          cookie: () => cookie,
          into: t,
        })
      ),
    );
    assert.deepEqual([...t.status], [[200, 1000]], t.errors.join("\n"));
    const data = JSON.parse((await get(workers[1]!.origin, "/read", cookie)).body).data;
    assert.deepEqual(Object.keys(data).sort(), ["count", "k0", "k1", "k2", "k3", "user"]);
    for (let i = 0; i < 4; i++) assert.match(data[`k${i}`], /^\d+$/);
  } finally {
    await stopAll(workers);
  }
  tmp.cleanup();
});

test("Session.destroy() wins over a slow request of another process that writes afterwards", async () => {
  const tmp = tempDir();
  const db = tmp.file("s.sqlite");
  const [slow, other] = await startWorkers(2, { SATCHEL_DB: db });
  try {
    const cookie = await login(other!.origin);
    const id = () => query(db, "SELECT id FROM satchel_sessions").map((r) => r.id);
    assert.equal(id().length, 1);
    // The slow request loads the session, then waits at a gate.
    const pending = get(slow!.origin, "/slow", cookie);
    assert.equal((await get(slow!.origin, "/slow/arrived")).body, "arrived");
    // Meanwhile another process logs the session out.
    const out = await get(other!.origin, "/logout", cookie);
    assert.equal(out.status, 200);
    assert.deepEqual(id(), []);
    // The slow request now writes: the session must stay deleted.
    assert.equal((await get(slow!.origin, "/slow/release")).status, 200);
    const late = await pending;
    assert.equal(late.status, 200);
    assert.deepEqual(id(), []);
    // It neither hands out a new session nor clears the cookie (the client may hold a newer token by now).
    assert.equal(sessionCookie(late), undefined);
    // The old cookie is dead everywhere.
    for (const w of [slow!, other!]) {
      assert.deepEqual(JSON.parse((await get(w.origin, "/read", cookie)).body), { isNew: true, data: {} });
    }
  } finally {
    await stopAll([slow!, other!]);
  }
  tmp.cleanup();
});
