/**
 * What every peer app shares with bench/app.ts: port, database path, the
 * /login payload, and the `/inc` counter written at SIGTERM to BENCH_STATS
 * (so bench/http.sh can check that the stored counts add up).
 */
import { appendFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

export const port = Number(process.env.PORT ?? 3000);
export const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
export const PROFILE = "x".repeat(400);

/** The SQLite file of a peer: SATCHEL_DB, or a fresh one in the temp dir. */
export function dbPath(name) {
  const path = process.env.SATCHEL_DB ??
    join(tmpdir(), `satchel-bench-${name}.sqlite`);
  if (process.env.SATCHEL_DB === undefined) {
    for (const suffix of ["", "-wal", "-shm"]) {
      rmSync(path + suffix, { force: true });
    }
  }
  return path;
}

export function newUser() {
  return "u" + Math.random().toString(36).slice(2);
}

/** Counts /inc answers with status 200; `onStop` closes the server. */
export const stats = { incOk: 0 };

export function handleStop(onStop) {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await onStop?.();
    if (process.env.BENCH_STATS !== undefined) {
      appendFileSync(process.env.BENCH_STATS, `${stats.incOk}\n`);
    }
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
