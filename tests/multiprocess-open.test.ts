/**
 * Workers of a fresh deployment start together: each opens the new database
 * file at the same moment, and SQLite answers some of the races to switch it
 * to WAL and write its header with SQLITE_BUSY at once (no busy handler).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runArgs, scalar, spawnProc } from "./fixtures/worker-harness.ts";
import { tempDir } from "./helpers.ts";

test("SqliteStore opens a brand-new file from 6 processes at the same instant without a lock error", async () => {
  for (let round = 0; round < 3; round++) {
    const tmp = tempDir();
    try {
      const db = tmp.file("fresh.sqlite");
      const startAt = String(Date.now() + 1500);
      const procs = Array.from(
        { length: 6 },
        (_, i) =>
          spawnProc(runArgs("tests/fixtures/open-store.ts"), {
            SATCHEL_DB: db,
            START_AT: startAt,
            MMAP: i % 2 ? "0" : "268435456",
          }),
      );
      await Promise.all(procs.map((p) => p.closed));
      for (const p of procs) {
        assert.equal(p.child.exitCode, 0, p.stderr());
        assert.equal(p.stdout().trim(), "ok");
      }
      assert.equal(scalar(db, "SELECT count(*) FROM satchel_sessions"), 6);
      assert.equal(scalar(db, "PRAGMA journal_mode"), "wal");
    } finally {
      tmp.cleanup();
    }
  }
});
