/**
 * Node 24: `node:cluster`. The primary forks N workers and hands them
 * connections round-robin; each worker opens its own connection to the file.
 *
 *   node examples/multi-worker/node.ts          # WORKERS=4 PORT=8000 SATCHEL_DB=./sessions.sqlite
 *
 * The primary restarts a worker that dies and stops them all on SIGINT/SIGTERM.
 * @module
 */
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import process from "node:process";

const port = Number(process.env.PORT ?? 8000);

if (cluster.isPrimary) {
  const count = Number(process.env.WORKERS ?? availableParallelism());
  let stopping = false;
  for (let n = 0; n < count; n++) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); restarting`);
    cluster.fork();
  });
  const stop = (): void => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} else {
  const { serve } = await import("@hono/node-server");
  const { app, store, workerId } = await import("./app.ts");
  const hostname = process.env.HOST ?? "127.0.0.1";
  const server = serve({ fetch: app.fetch, port, hostname }, () => {
    console.log(`worker ${workerId} listening on http://${hostname}:${port}`);
  });
  process.on("SIGTERM", () => server.close(() => (store.close(), process.exit(0))));
}
