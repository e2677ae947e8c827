/**
 * A full database (SqliteStore `maxSizeBytes`, i.e. `PRAGMA max_page_count`)
 * shared by two worker processes: writes fail with StoreFullError and a 503
 * and are never acknowledged, reads go on, and writes resume once room is
 * made, without a restart. The file never shrinks (auto_vacuum stays off).
 * One process runs with mmap on, the other with mmap off.
 */
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { test } from "node:test";
import { openSqlite } from "../src/store/sqlite/driver.ts";
import { SqliteStore } from "../src/store/sqlite.ts";
import { tempDir } from "./helpers.ts";
import {
  get,
  login,
  query,
  type Reply,
  scalar,
  sessionCookie,
  startWorkers,
  stopAll,
} from "./fixtures/worker-harness.ts";

const MAX_SIZE = 256 * 1024; // 64 pages of 4 KiB

test("SqliteStore with maxSizeBytes answers 503 StoreFullError when full, keeps reading, and recovers without a restart", async () => {
  const tmp = tempDir();
  const db = tmp.file("s.sqlite");
  const [a, b] = await startWorkers(2, { SATCHEL_DB: db, MAX_SIZE_BYTES: String(MAX_SIZE) });
  try {
    const rows = () => Number(scalar(db, "SELECT count(*) FROM satchel_sessions"));
    const alice = await login(a!.origin, "alice");
    // Fill it: new sessions of 3 KB each, alternating between the processes,
    // until six in a row are refused (at the margin one insert may still fit
    // where another needs a page split).
    const stored: string[] = [];
    const refused: Reply[] = [];
    let inARow = 0;
    for (let i = 0; i < 300 && inARow < 6; i++) {
      const r = await get((i % 2 ? b : a)!.origin, "/blob?bytes=3000");
      if (r.status === 200) stored.push(sessionCookie(r)!);
      else refused.push(r);
      inARow = r.status === 200 ? 0 : inARow + 1;
    }
    assert.equal(inARow, 6, "the cap was never reached");
    assert.ok(stored.length >= 20, `only ${stored.length} sessions fitted in ${MAX_SIZE} bytes`);
    for (const r of refused) {
      assert.equal(r.status, 503);
      assert.match(r.body, /database is full/);
      // Not acknowledged: no cookie, no row.
      assert.equal(sessionCookie(r), undefined);
    }
    assert.equal(rows(), stored.length + 1);
    for (const w of [a!, b!]) {
      assert.match(w.stderr(), /^error StoreFullError: Cannot store session: the SQLite database is full/m);
      assert.doesNotMatch(w.stderr(), /^error (?!StoreFullError)/m);
    }
    // An update that grows a live session is refused too, and the session keeps its old value.
    for (const w of [a!, b!]) assert.equal((await get(w.origin, "/blob?bytes=9000", alice)).status, 503);
    assert.equal(rows(), stored.length + 1);
    // Reads keep working in both.
    for (const w of [a!, b!]) {
      const r = await get(w.origin, "/read", alice);
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body).data, { user: "alice", count: 0 });
      assert.equal(JSON.parse((await get(w.origin, "/read", stored[0])).body).isNew, false);
    }
    const pages = Number(scalar(db, "PRAGMA page_count"));
    const size = statSync(db).size;

    // Make room: ten users log out. Writes then succeed again, in the same processes.
    for (const c of stored.splice(0, 10)) assert.equal((await get(b!.origin, "/logout", c)).status, 200);
    assert.ok(Number(scalar(db, "PRAGMA freelist_count")) > 0, "deleted sessions left free pages");
    for (const w of [a!, b!, a!, b!]) {
      const r = await get(w.origin, "/blob?bytes=3000");
      assert.equal(r.status, 200, r.body);
      stored.push(sessionCookie(r)!);
    }
    assert.equal((await get(a!.origin, "/inc", alice)).status, 200);
    assert.equal(JSON.parse((await get(b!.origin, "/read", alice)).body).data.count, 1);
    assert.equal(rows(), stored.length + 1);
    // The file never shrank: freed pages are reused, not given back.
    assert.equal(Number(scalar(db, "PRAGMA page_count")), pages);
    assert.ok(statSync(db).size >= size);
    assert.equal(scalar(db, "PRAGMA auto_vacuum"), 0);
  } finally {
    await stopAll([a!, b!]);
  }
  assert.equal(scalar(db, "PRAGMA integrity_check"), "ok");
  assert.ok(query(db, "SELECT id FROM satchel_sessions").length > 0);
  tmp.cleanup();
});

test("SqliteStore refuses a file with auto_vacuum on while mmap is on, and creates new files with it off", () => {
  const tmp = tempDir();
  try {
    // A file someone made with auto_vacuum = FULL: each commit that frees pages would shrink it.
    const path = tmp.file("vacuum.sqlite");
    const raw = openSqlite(path);
    raw.exec("PRAGMA auto_vacuum = FULL; CREATE TABLE other (a)");
    raw.close();
    assert.throws(() => new SqliteStore({ path }), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(
        e.message,
        /^Cannot open SqliteStore: .* has auto_vacuum on, .*SIGBUS.*"PRAGMA auto_vacuum = NONE; VACUUM;".*mmapSize: 0/,
      );
      return true;
    });
    // Without mmap nothing maps the file, so a shrink is harmless: it opens.
    new SqliteStore({ path, mmapSize: 0 }).close();
    const fresh = tmp.file("fresh.sqlite");
    new SqliteStore({ path: fresh }).close();
    assert.equal(scalar(fresh, "PRAGMA auto_vacuum"), 0);
  } finally {
    tmp.cleanup();
  }
});
