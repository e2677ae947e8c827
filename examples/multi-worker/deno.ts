/**
 * Deno: `deno serve --parallel` runs one isolate per CPU (or `DENO_JOBS`),
 * each importing this module and opening its own connection to the one file;
 * the kernel spreads connections over them (SO_REUSEPORT).
 *
 *   DENO_JOBS=4 deno serve --parallel -A --port 8000 examples/multi-worker/deno.ts
 *
 * The workers are threads of one process: a crash of the process takes them
 * all down, so run it under systemd (Restart=always) or a container restart policy.
 * @module
 */
import { app, workerId } from "./app.ts";

console.log(`worker ${workerId} ready`);

export default { fetch: app.fetch };
