#!/usr/bin/env node
// The `satchel` command: starts the CLI (dist/src/cli.js in an installed
// package, src/cli.ts in a checkout) on a runtime that can run it.
//
// - Node 24+ runs it in this process. Node refuses to strip TypeScript types
//   from files under node_modules, so an installed package without dist/
//   (installed from git, say) gets a module hook that strips them with
//   node:module's own stripTypeScriptTypes (Satchel's source is erasable
//   TypeScript only).
// - Bun and Deno run it in this process as they are.
// - An older Node (a system /usr/bin/node, say) hands over to the first of
//   node_modules/.bin/node (24+), node_modules/.bin/bun, bun, deno it finds,
//   or says what to install.
//
// Plain JavaScript that old Node versions can parse, so they can say so.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import module from "node:module";
import { dirname, join, sep } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const installed = here.includes(`${sep}node_modules${sep}`);
// An installed package carries the compiled CLI (dist/, built by `npm pack`); a checkout runs the source.
const built = join(here, "..", "dist", "src", "cli.js");
const cli = installed && existsSync(built) ? built : join(here, "..", "src", "cli.ts");
const args = process.argv.slice(2);
const isBun = typeof process.versions.bun === "string";
const isDeno = typeof process.versions.deno === "string";
const nodeMajor = Number(process.versions.node.split(".")[0]);

async function runHere() {
  const { main } = await import(pathToFileURL(cli).href);
  process.exitCode = await main(args);
}

/** Lets Node load Satchel's .ts files from node_modules. */
function stripTypesUnderNodeModules() {
  const marker = `${sep}node_modules${sep}`;
  const emitWarning = process.emitWarning;
  module.registerHooks({
    load(url, context, nextLoad) {
      if (url.startsWith("file:")) {
        const file = fileURLToPath(url);
        if (file.endsWith(".ts") && file.includes(marker)) {
          // The one-time "stripTypeScriptTypes is experimental" warning is noise to a CLI user.
          process.emitWarning = (w, ...rest) =>
            String(w).startsWith("stripTypeScriptTypes") ? undefined : emitWarning.call(process, w, ...rest);
          try {
            const source = module.stripTypeScriptTypes(readFileSync(file, "utf8"));
            return { format: "module", source, shortCircuit: true };
          } finally {
            process.emitWarning = emitWarning;
          }
        }
      }
      return nextLoad(url, context);
    },
  });
}

/** Runs `command` with `argv`, inheriting stdio, and exits the way it did. Returns false if it could not start. */
function handOver(command, argv) {
  const r = spawnSync(command, argv, { stdio: "inherit", env: { ...process.env, SATCHEL_LAUNCHER: "1" } });
  if (r.error) return false;
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}

if (isBun || isDeno) {
  await runHere();
} else if (nodeMajor >= 24) {
  if (installed && cli.endsWith(".ts")) stripTypesUnderNodeModules();
  await runHere();
} else {
  const bins = [];
  for (let dir = here; ; dir = dirname(dir)) {
    bins.push(join(dir, "node_modules", ".bin"));
    if (dirname(dir) === dir) break;
  }
  if (process.env.SATCHEL_LAUNCHER !== "1") {
    for (const bin of bins) {
      const node = join(bin, "node");
      if (existsSync(node)) handOver(node, [fileURLToPath(import.meta.url), ...args]);
    }
  }
  for (const bin of bins) {
    const bun = join(bin, "bun");
    if (existsSync(bun)) handOver(bun, [cli, ...args]);
  }
  handOver("bun", [cli, ...args]);
  handOver("deno", ["run", "--allow-read", "--allow-write", cli, ...args]);
  process.stderr.write(
    `satchel: Cannot start: satchel needs Node.js 24 or later, Bun or Deno, and this is Node.js ${process.version}; ` +
      `install Node.js 24+ (https://nodejs.org) or Bun (npm install --save-dev bun), then run satchel again\n`,
  );
  process.exit(1);
}
