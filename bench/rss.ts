/**
 * Memory: the resident set of a process that has written 1,000,000 sessions
 * through SqliteStore (`setMany`, 1,000 a transaction; `WRITE=set` makes it one
 * `set` each, as the middleware does, about ten times slower), against the
 * same process that only opened the store. The sessions live in the
 * file; what stays in the process is SQLite's page cache, the mapped pages
 * of the file (`mmapSize`) and the JS heap.
 *
 *   bun bench/rss.ts            deno run -A bench/rss.ts      (--write: into bench/RESULTS.md)
 *   SESSIONS=200000 WRITE=set bun bench/rss.ts
 *
 * Each measurement is a fresh child process on the same runtime; it reports
 * /proc/self/status (VmRSS = RssAnon + RssFile + RssShmem) after a full GC.
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { SqliteStore } from "../mod.ts";
import type { StoredSession } from "../src/store/contract.ts";
import { generateId } from "../src/id.ts";
import { superjsonSerializer } from "../src/serializer.ts";

const SESSIONS = Number(process.env.SESSIONS ?? 1_000_000);
const WRITE = process.env.WRITE === "set" ? "set" : "setMany";
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

function status(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync("/proc/self/status", "utf8").split("\n")) {
    const m = /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

function gc(): void {
  const g = globalThis as {
    Bun?: { gc(full: boolean): void };
    gc?: () => void;
  };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}

async function child(
  mode: "empty" | "filled",
  path: string,
  mmapSize: number,
): Promise<void> {
  const store = new SqliteStore({ path, mmapSize });
  const started = performance.now();
  if (mode === "filled") {
    const now = Date.now();
    const session = (i: number): [string, StoredSession] => [generateId(), {
      payload: superjsonSerializer.stringify({
        d: { user: "u" + i, count: 0, profile: "x".repeat(400) },
      }),
      expiresAt: now + 3_600_000,
      createdAt: now,
    }];
    for (let i = 0; i < SESSIONS; i += 1000) {
      const batch = Array.from(
        { length: Math.min(1000, SESSIONS - i) },
        (_, k) => session(i + k),
      );
      if (WRITE === "set") { for (const [id, s] of batch) store.set(id, s); }
      else store.setMany(batch);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const heap = process.memoryUsage().heapUsed;
  console.log(JSON.stringify({ mode, mmapSize, seconds, heap, ...status() }));
  store.close();
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

if (process.argv[2] === "--child") {
  await child(
    process.argv[3] as "empty" | "filled",
    process.argv[4]!,
    Number(process.argv[5]),
  );
} else {
  const dir = mkdtempSync(join(tmpdir(), "satchel-bench-rss-"));
  const self = fileURLToPath(import.meta.url);
  const runtime = isBun ? "Bun" : "Deno";
  const rows: string[] = [];
  try {
    for (const mmapSize of [256 * 1024 * 1024, 0]) {
      const result: Record<string, Record<string, number>> = {};
      for (const mode of ["empty", "filled"] as const) {
        const path = join(dir, `${mode}-${mmapSize}.sqlite`);
        const args = isBun ? [self, "--child", mode, path, String(mmapSize)] : [
          "run",
          "-A",
          "--v8-flags=--expose-gc",
          self,
          "--child",
          mode,
          path,
          String(mmapSize),
        ];
        const r = spawnSync(process.execPath, args, {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "inherit"],
        });
        if (r.status !== 0) {
          throw new Error(`rss child (${mode}) failed with ${r.status}`);
        }
        result[mode] = JSON.parse(r.stdout.trim().split("\n").pop()!);
        result[mode]!.file = statSync(path).size;
      }
      const e = result.empty!, f = result.filled!;
      const label = mmapSize === 0 ? "mmapSize: 0" : `mmapSize: ${mmapSize / 1024 / 1024} MiB (default)`;
      rows.push(
        `| ${runtime}, ${label} | ${mb(e.VmRSS!)} | ${mb(f.VmRSS!)} | **${mb(f.VmRSS! - e.VmRSS!)}** | ${
          mb(f.RssAnon! - e.RssAnon!)
        } | ${mb(f.RssFile! - e.RssFile!)} | ${mb(f.heap! - e.heap!)} | ${mb(f.file!)} | ${f.seconds!.toFixed(0)} s |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const text = [
    `RSS after writing ${
      SESSIONS.toLocaleString("en-US")
    } sessions through SqliteStore.${WRITE}, against an empty process (after a full GC); ` +
    `measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, load average ${
      readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
    }:`,
    "",
    "| runtime, store | RSS empty | RSS after | **difference** | of which anonymous (heap, SQLite cache) | of which file pages (mmap) | JS heap difference | database file | time to write |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
  console.log(text);
  if (process.argv.includes("--write")) {
    const md = join(dirname(self), "RESULTS.md");
    const name = `rss-${runtime.toLowerCase()}`;
    const doc = readFileSync(md, "utf8");
    const start = `<!-- ${name}:start -->`, end = `<!-- ${name}:end -->`;
    const from = doc.indexOf(start), to = doc.indexOf(end);
    if (from === -1 || to === -1) {
      throw new Error(
        `Cannot update RESULTS.md: markers ${start} … ${end} are missing`,
      );
    }
    writeFileSync(
      md,
      doc.slice(0, from + start.length) + `\n${text}\n` + doc.slice(to),
    );
    console.log(`\nwrote ${md}`);
  }
}
