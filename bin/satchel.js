#!/usr/bin/env node
// The `satchel` command: runs the compiled CLI (dist/, built by `npm run build`)
// on Node 24+, Bun and Deno. Plain JavaScript an older Node can still parse,
// so that it prints the help, or says what it needs, instead of a stack trace.
import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

const cli = new URL("../dist/src/store/sqlite/cli.js", import.meta.url);
const args = process.argv.slice(2);
const { bun, deno, node } = process.versions;
const hasSqlite = bun !== undefined || deno !== undefined || Number(node.split(".")[0]) >= 24;
// The help needs no SQLite: every runtime that can start this file prints it.
const help = args[0] === "help" || args.includes("--help") || args.includes("-h");

if (!hasSqlite && !help) {
  process.stderr.write(
    `satchel: Cannot start: satchel needs Node 24 or newer (node:sqlite); you have ${process.version}. ` +
      `Install Node 24+, or run it with Bun (bunx satchel) or Deno (deno run -A jsr:@satchel/satchel/cli)\n`,
  );
  process.exit(1);
}
if (!existsSync(cli)) {
  process.stderr.write(`satchel: Cannot start: ${fileURLToPath(cli)} is missing; run "npm run build" first\n`);
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(args);
