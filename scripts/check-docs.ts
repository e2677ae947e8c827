/**
 * `deno doc --lint mod.ts`, minus one known false positive.
 *
 * Deno reports `private-type-ref` for every type of another package that a
 * public signature uses, here Hono's `Context`, `MiddlewareHandler` and
 * `HTTPException` (denoland/deno#27364). Deno's fix skips only types from
 * `jsr:`/`https:` modules; npm packages live in files on disk, so Hono's
 * types are still flagged. Re-exporting them would drag all of Hono's API
 * into Satchel's docs (and its own lint errors with it).
 *
 * This script runs the lint and fails on every diagnostic except a
 * `private-type-ref` to a type that no file of this package declares. A
 * missing JSDoc, a missing return type, or a reference to one of Satchel's own
 * unexported types still fails.
 *
 * Then it type-checks README.md's "A complete example" (strict, with tsc),
 * so the example users copy compiles against the current API
 * (tests/readme.test.ts runs it), and checks that every option of every
 * exported options interface has a row in a README table.
 *
 * Usage: node scripts/check-docs.ts   (Node 24+, or bun / deno run -A)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DENO = process.env.DENO ?? join(ROOT, "node_modules", ".bin", "deno");

/** Every `.ts` file of the published package: mod.ts and src/. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  );
}
const ownCode = [join(ROOT, "mod.ts"), ...sources(join(ROOT, "src"))].map((f) => readFileSync(f, "utf8")).join("\n");

function declaredHere(name: string): boolean {
  return new RegExp(`\\b(class|interface|type|enum|function|const|let|var)\\s+${name}\\b`).test(ownCode);
}

const run = spawnSync(DENO, ["doc", "--lint", "mod.ts"], {
  cwd: ROOT,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
if (run.error) {
  console.error(`check-docs: Cannot run ${DENO}: ${run.error.message} (run npm install first)`);
  process.exit(2);
}
const output = `${run.stdout}${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, "");
const blocks = output.split(/\n(?=(?:error|warning)\[)/).filter((b) => /^(error|warning)\[/.test(b.trimStart()));

const allowed: string[] = [];
const failures: string[] = [];
for (const raw of blocks) {
  const block = raw.trim().replace(/\n\s*\n(error: Found \d+ .*)?$/s, "");
  const head = block.split("\n")[0]!;
  const ref = /^error\[private-type-ref\]: public type '.*' references private type '([A-Za-z0-9_$]+)'$/.exec(head);
  if (ref !== null && !declaredHere(ref[1]!)) allowed.push(`${ref[1]} (${head.split("'")[1]})`);
  else failures.push(block);
}

if (run.status !== 0 && blocks.length === 0) {
  console.error(output);
  console.error(`check-docs: deno doc --lint exited ${run.status} without a diagnostic it could read`);
  process.exit(1);
}
if (allowed.length > 0) {
  const names = [...new Set(allowed.map((a) => a.split(" ")[0]))].sort();
  console.log(`check-docs: ignored ${allowed.length} private-type-ref to other packages' types (${names.join(", ")}; denoland/deno#27364)`);
}
if (failures.length > 0) {
  for (const f of failures) console.error(`${f}\n`);
  console.error(`check-docs: ${failures.length} documentation problem(s) in the public API`);
} else {
  console.log("check-docs: deno doc --lint mod.ts passes");
}

// README.md's complete example, type-checked as a user would compile it.
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const section = readme.indexOf("\n## A complete example\n");
const example = section === -1 ? null : /```ts\n([\s\S]*?)\n```/.exec(readme.slice(section))?.[1];
let exampleFailed = false;
if (example == null) {
  console.error('check-docs: README.md has no ts code block under "## A complete example"');
  exampleFailed = true;
} else {
  const dir = join(ROOT, "tmp", `readme-check-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(join(dir, "example.ts"), example.replace('from "satchel"', 'from "../../mod.ts"'));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.json", include: ["example.ts"], compilerOptions: { noEmit: true } }),
    );
    const tsc = spawnSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    if (tsc.status !== 0) {
      console.error(`${tsc.stdout}${tsc.stderr}`);
      console.error("check-docs: README.md's complete example does not type-check");
      exampleFailed = true;
    } else {
      console.log("check-docs: README.md's complete example type-checks");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
// Every option of every exported options interface has a row in a README table.
const exported = [...readFileSync(join(ROOT, "mod.ts"), "utf8").matchAll(/type (\w+Options|SessionBinding)\b/g)].map((m) => m[1]!);
const missingRows: string[] = [];
for (const name of new Set(exported)) {
  const body = new RegExp(`export interface ${name}\\b[^{]*\\{([\\s\\S]*?)\\n\\}`).exec(ownCode)?.[1];
  if (body === undefined) continue;
  const options = [...body.matchAll(/^\s+(?:readonly\s+)?(\w+)\??:/gm)].map((m) => m[1]!);
  for (const option of options) {
    // A row whose first cell is `option` (or `something.option`, as in `options.noStore`).
    if (!new RegExp(`^\\| \`(\\w+\\.)?${option}\` \\|`, "m").test(readme)) missingRows.push(`${name}.${option}`);
  }
}
if (missingRows.length > 0) {
  console.error(`check-docs: README.md has no table row for ${missingRows.join(", ")}; document every option`);
} else {
  console.log(`check-docs: every option of ${new Set(exported).size} options interfaces has a README row`);
}

if (failures.length > 0 || exampleFailed || missingRows.length > 0) process.exit(1);
