/**
 * Eight worker processes writing to one SQLite file at once: no request may
 * fail with SQLITE_BUSY ("database is locked") or any other 5xx, and no
 * write may be lost. CI runs it for 2 s (the suite runs on three runtimes);
 * `MULTIPROCESS_SECONDS=10` runs the 10 s version, as does
 * `bun bench/multiworker.ts contention`.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { tempDir } from "./helpers.ts";
import { burst, countStatus, login, query, scalar, startWorkers, stopAll, tally } from "./fixtures/worker-harness.ts";

const SECONDS = Number(process.env.MULTIPROCESS_SECONDS ?? 2);
const PROCESSES = 8;
const SESSIONS_PER_PROCESS = 8;

test(`SqliteStore answers 8 processes writing different sessions for ${SECONDS} s with no 5xx and no lock error`, async () => {
  const tmp = tempDir();
  const db = tmp.file("s.sqlite");
  const workers = await startWorkers(PROCESSES, { SATCHEL_DB: db });
  try {
    // Each lane is one client with its own session, always talking to its own process.
    const cookies = await Promise.all(
      workers.map((w) =>
        Promise.all(Array.from({ length: SESSIONS_PER_PROCESS }, (_, i) => login(w.origin, `p${w.pid}s${i}`)))
      ),
    );
    const t = tally();
    let incs = 0;
    const end = Date.now() + SECONDS * 1000;
    await Promise.all(workers.map((w, p) =>
      burst({
        origin: w.origin,
        total: Number.MAX_SAFE_INTEGER,
        concurrency: SESSIONS_PER_PROCESS,
        // Alternate a read-modify-write with a plain write of another key.
        path: (i) => (i % 2 === 0 ? "/inc" : `/set?k=last&v=${i}`),
        cookie: (i) => cookies[p]![i % SESSIONS_PER_PROCESS],
        into: t,
        onResponse: (r) => void (r.status === 200 && r.body !== "set" && incs++),
        until: () => Date.now() >= end,
      })
    ));
    const answered = countStatus(t, 200);
    assert.equal(t.failed, 0);
    assert.equal(countStatus(t, 500), 0, t.errors.join("\n"));
    assert.deepEqual([...t.status.keys()], [200]);
    assert.ok(answered >= PROCESSES * SESSIONS_PER_PROCESS, `only ${answered} requests were answered`);
    for (const w of workers) assert.doesNotMatch(w.stderr(), /locked|BUSY|error/i);

    // Not one write lost: the counts of all sessions add up to the /inc answered.
    const rows = query(db, "SELECT payload FROM satchel_sessions");
    assert.equal(rows.length, PROCESSES * SESSIONS_PER_PROCESS);
    const total = rows.reduce((sum, r) => sum + Number(/"count":(\d+)/.exec(String(r.payload))![1]), 0);
    assert.equal(total, incs, "the counts of all sessions add up to the increments answered");
  } finally {
    await stopAll(workers);
  }
  assert.equal(scalar(db, "PRAGMA integrity_check"), "ok");
  tmp.cleanup();
});
