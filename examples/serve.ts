/**
 * Serves a Hono app on whichever runtime runs the example: `Bun.serve` on
 * Bun, `Deno.serve` on Deno, `@hono/node-server` on Node. Every example calls
 * it, so each one starts the same way on all three:
 *
 *   bun examples/counter.ts
 *   deno run -A examples/counter.ts
 *   node examples/counter.ts          (Node 24+)
 *
 * The port comes from env `PORT` (default 3000; `0` picks a free one) and
 * the address from env `HOST` (default 127.0.0.1, this machine only). The
 * line `Listening on http://…/` on stdout says where the app is; the smoke
 * tests read it.
 */
import process from "node:process";

/** What this helper needs from an app: Hono's `fetch`. */
export interface Fetchable {
  fetch: (request: Request) => Response | Promise<Response>;
}

/** A running server. */
export interface Served {
  /** The address to open, ending with "/". */
  url: string;
  port: number;
  /** Stop accepting connections. */
  close(): Promise<void>;
}

interface BunGlobal {
  serve(o: { port: number; hostname: string; fetch: Fetchable["fetch"] }): { port: number; stop(): void };
}
interface DenoGlobal {
  serve(
    o: { port: number; hostname: string; onListen?: () => void },
    handler: Fetchable["fetch"],
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

/** The port from env `PORT`, or 3000. */
export function envPort(fallback = 3000): number {
  const raw = process.env.PORT;
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot start example: PORT must be an integer from 0 to 65535: received ${JSON.stringify(raw)}`,
    );
  }
  return port;
}

/**
 * Start serving `app` and print `<name>: Listening on <url>`.
 * Stops cleanly on SIGINT and SIGTERM, then runs `onClose` (close the store there).
 */
export async function serve(app: Fetchable, name: string, onClose?: () => void | Promise<void>): Promise<Served> {
  const port = envPort();
  const hostname = process.env.HOST || "127.0.0.1";
  const g = globalThis as { Bun?: BunGlobal; Deno?: DenoGlobal };
  let served: Served;
  if (g.Bun !== undefined) {
    const server = g.Bun.serve({ port, hostname, fetch: (req) => app.fetch(req) });
    served = { url: "", port: server.port, close: async () => server.stop() };
  } else if (g.Deno !== undefined) {
    const server = g.Deno.serve({ port, hostname, onListen: () => {} }, (req) => app.fetch(req));
    served = { url: "", port: server.addr.port, close: () => server.shutdown() };
  } else {
    const { serve: nodeServe } = await import("@hono/node-server");
    served = await new Promise<Served>((resolve) => {
      const server = nodeServe({ fetch: (req: Request) => app.fetch(req), port, hostname }, (info) => {
        resolve({
          url: "",
          port: info.port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      });
    });
  }
  const shown = hostname === "0.0.0.0" || hostname === "::"
    ? "localhost"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  served.url = `http://${shown}:${served.port}/`;
  console.log(`${name}: Listening on ${served.url}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.race([served.close(), new Promise((r) => setTimeout(r, 1000))]);
    await onClose?.();
    console.log(`${name}: stopped`);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return served;
}

/** The session secret: env `SATCHEL_SECRET`, or a fixed one for local demos (with a warning). */
export function exampleSecret(): string {
  const secret = process.env.SATCHEL_SECRET;
  if (secret !== undefined && secret !== "") return secret;
  console.warn("note: SATCHEL_SECRET is not set; using a fixed development secret (never do this in production)");
  return "development-only secret: set SATCHEL_SECRET in production";
}
