/**
 * Bun: N processes, each `Bun.serve({ reusePort: true })` on the same port;
 * the Linux kernel spreads connections over them (SO_REUSEPORT).
 *
 *   bun examples/multi-worker/bun.ts            # WORKERS=4 PORT=8000 SATCHEL_DB=./sessions.sqlite
 *
 * The first process is a supervisor: it starts the workers, restarts one that
 * dies, and stops them all on SIGINT/SIGTERM. Linux only: elsewhere
 * `reusePort` does not balance; run one process per port behind a proxy.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The part of Bun's API this file uses (Bun's own types are not a dependency). */
declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    reusePort: boolean;
    fetch: (request: Request) => Response | Promise<Response>;
  }): { hostname: string; port: number; stop(): Promise<void> };
};

const port = Number(process.env.PORT ?? 8000);

if (process.env.SATCHEL_WORKER === undefined) {
  const count = Number(process.env.WORKERS ?? availableParallelism());
  const workers = new Set<ChildProcess>();
  let stopping = false;
  const start = (n: number): void => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, SATCHEL_WORKER: String(n) },
      stdio: ["ignore", "inherit", "inherit"],
    });
    workers.add(child);
    child.on("exit", (code, signal) => {
      workers.delete(child);
      if (stopping) {
        if (workers.size === 0) process.exit(0);
        return;
      }
      console.error(`worker ${n} exited (${signal ?? code}); restarting`);
      start(n);
    });
  };
  for (let n = 0; n < count; n++) start(n);
  const stop = (): void => {
    stopping = true;
    for (const w of workers) w.kill("SIGTERM");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} else {
  const { app, store, workerId } = await import("./app.ts");
  const server = Bun.serve({ port, hostname: process.env.HOST ?? "127.0.0.1", reusePort: true, fetch: app.fetch });
  console.log(`worker ${workerId} listening on http://${server.hostname}:${server.port}`);
  process.on("SIGTERM", () => void server.stop().then(() => (store.close(), process.exit(0))));
}
