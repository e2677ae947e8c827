/**
 * A worker killed with SIGKILL in the middle of a burst of writes: no
 * acknowledged write is lost, none is invented, and the file stays sound.
 * Real processes, real HTTP on 127.0.0.1, a real file; the victim runs with
 * mmap on, its replacement and every other odd-numbered worker with mmap off.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { tempDir } from "./helpers.ts";
import {
  burst,
  get,
  login,
  scalar,
  startWorker,
  startWorkers,
  stopAll,
  tally,
  type Worker,
} from "./fixtures/worker-harness.ts";

test("SqliteStore keeps every acknowledged increment when a worker is killed -9 mid-burst", async () => {
  const tmp = tempDir();
  const db = tmp.file("s.sqlite");
  const workers: Worker[] = await startWorkers(4, { SATCHEL_DB: db });
  const all = [...workers];
  try {
    const cookie = await login(workers[0]!.origin);
    const t = tally();
    const victim = workers[0]!;
    let victimAcks = 0;
    // 4 × 200 /inc, 32 in flight per process; the victim dies after its 50th answer.
    await Promise.all(workers.map((w) =>
      burst({
        origin: w.origin,
        total: 200,
        concurrency: 32,
        path: () => "/inc",
        cookie: () => cookie,
        into: t,
        stopOnFailure: w === victim,
        onResponse: w === victim
          ? () => {
            if (++victimAcks === 50) victim.child.kill("SIGKILL");
          }
          : undefined,
      })
    ));
    await victim.closed;
    assert.equal(victim.child.signalCode, "SIGKILL");
    // It died with requests in flight: those got no answer.
    assert.ok(t.failed > 0, "the kill landed in the middle of the burst");
    assert.deepEqual([...t.status.keys()], [200], t.errors.join("\n"));

    // Restart it on the same file; it serves at once and sees every commit.
    const again = await startWorker({ SATCHEL_DB: db, MMAP_SIZE: process.env.MULTIPROCESS_MMAP ?? "0" });
    all.push(again);
    await burst({
      origin: again.origin,
      total: 50,
      concurrency: 16,
      path: () => "/inc",
      cookie: () => cookie,
      into: t,
    });
    const acked = t.status.get(200)!;
    const count = JSON.parse((await get(again.origin, "/read", cookie)).body).data.count;
    // Every 200 is in the count; at most the unanswered requests were committed on top.
    assert.ok(count >= acked, `count ${count} < acknowledged ${acked}: an acknowledged increment was lost`);
    assert.ok(count <= acked + t.failed, `count ${count} > ${acked} answered + ${t.failed} unanswered`);
    for (const w of workers.filter((w) => w !== victim)) assert.equal(w.stderr(), "");
  } finally {
    await stopAll(all);
  }
  assert.equal(scalar(db, "PRAGMA integrity_check"), "ok");
  tmp.cleanup();
});
