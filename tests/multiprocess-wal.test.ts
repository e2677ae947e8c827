/**
 * The WAL under a long read: it grows while a reader in another process keeps
 * a snapshot open, and comes back down to `journalSizeLimit` once the reader
 * is done and writes go on. Also: a worker itself never keeps a read open
 * between requests, so it never holds the WAL up.
 */
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { test } from "node:test";
import { openSqlite } from "../src/store/sqlite/driver.ts";
import { tempDir } from "./helpers.ts";
import { burst, get, login, query, scalar, startWorker, stopAll, tally } from "./fixtures/worker-harness.ts";

const MiB = 1024 * 1024;
const walSize = (db: string) => (existsSync(db + "-wal") ? statSync(db + "-wal").size : 0);

test("SqliteStore workers hold no read transaction between requests: a TRUNCATE checkpoint from another process completes", async () => {
  const tmp = tempDir();
  const db = tmp.file("s.sqlite");
  const w = await startWorker({ SATCHEL_DB: db });
  try {
    const cookie = await login(w.origin);
    const t = tally();
    await burst({
      origin: w.origin,
      total: 50,
      concurrency: 8,
      path: (i) => (i % 2 ? "/read" : "/inc"),
      cookie: () => cookie,
      into: t,
    });
    assert.deepEqual([...t.status], [[200, 50]]);
    assert.ok(walSize(db) > 0);
    // busy = 0: no reader of the worker pinned a snapshot; the WAL is emptied.
    assert.deepEqual({ ...query(db, "PRAGMA wal_checkpoint(TRUNCATE)")[0] }, { busy: 0, log: 0, checkpointed: 0 });
    assert.equal(walSize(db), 0);
    assert.equal(JSON.parse((await get(w.origin, "/read", cookie)).body).data.count, 25);
  } finally {
    await stopAll([w]);
  }
  tmp.cleanup();
});

test("SqliteStore journalSizeLimit cuts the WAL back after a long read let it grow", async () => {
  const tmp = tempDir();
  const files = { limited: tmp.file("limited.sqlite"), unlimited: tmp.file("unlimited.sqlite") };
  const [limited, unlimited] = await Promise.all([
    startWorker({ SATCHEL_DB: files.limited, JOURNAL_SIZE_LIMIT: String(MiB) }),
    startWorker({ SATCHEL_DB: files.unlimited, JOURNAL_SIZE_LIMIT: "-1" }),
  ]);
  try {
    for (const [w, db] of [[limited, files.limited], [unlimited, files.unlimited]] as const) {
      await login(w.origin);
      // A long-lived reader in this process keeps its snapshot while 80 sessions of 100 KB are written.
      const reader = openSqlite(db);
      reader.exec("BEGIN");
      reader.prepare("SELECT count(*) FROM satchel_sessions").get();
      const t = tally();
      await burst({ origin: w.origin, total: 80, concurrency: 4, path: () => "/blob?bytes=100000", into: t });
      const held = walSize(db);
      // No checkpoint could get past the reader: every page written is still in the WAL.
      assert.ok(held > 8 * MiB, `WAL ${held} bytes while the reader held it`);
      reader.exec("COMMIT");
      reader.close();
      // Writes go on; autocheckpoints (every 1000 pages) now finish and the WAL restarts.
      await burst({ origin: w.origin, total: 80, concurrency: 4, path: () => "/blob?bytes=100000", into: t });
      assert.deepEqual([...t.status], [[200, 160]]);
      const after = walSize(db);
      if (w === limited) {
        // Cut back to 1 MiB at the restart; since then it can only have grown to one autocheckpoint (1000
        // frames) plus the transaction that crossed it: with group commit, up to the 4 concurrent 100 KB
        // writes (26 pages each). A frame is a 4096-byte page and a 24-byte header; the file has a 32-byte header.
        const bound = 32 + (1000 + 4 * 26) * (4096 + 24);
        assert.ok(
          after < held * 0.6 && after <= bound,
          `WAL ${after} bytes after the reader ended (was ${held}; bound ${bound})`,
        );
      } else {
        // Without a limit the file keeps (at least) the size the long read gave it.
        assert.ok(after >= held, `WAL ${after} bytes after the reader ended (was ${held})`);
      }
    }
  } finally {
    await stopAll([limited, unlimited]);
  }
  for (const db of Object.values(files)) assert.equal(scalar(db, "PRAGMA integrity_check"), "ok");
  tmp.cleanup();
});
