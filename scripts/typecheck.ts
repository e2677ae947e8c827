/**
 * Type-checks every TypeScript file, strictly, with both checkers:
 * `tsc` (tsconfig.json: strict, noUncheckedIndexedAccess, erasable syntax
 * only) and `deno check` (deno.json: strict, noUncheckedIndexedAccess).
 *
 * Covered: mod.ts, src/, tests/, examples/, scripts/, and bench/. bench/ is a
 * sub-package with its own dependencies (the peers it is measured against);
 * a bench file importing one of those is checked only once they are
 * installed (`cd bench && npm install`), and otherwise named as skipped.
 *
 * Usage: node scripts/typecheck.ts   (npm run typecheck)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules", ".bin");

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name.startsWith(".")) return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? tsFiles(path) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

// bench/: which files need bench's own packages, and are those installed?
const benchDir = join(ROOT, "bench");
const benchPkg = join(benchDir, "package.json");
const benchDeps = existsSync(benchPkg)
  ? Object.keys({
    ...JSON.parse(readFileSync(benchPkg, "utf8")).dependencies,
    ...JSON.parse(readFileSync(benchPkg, "utf8")).devDependencies,
  })
  : [];
const benchInstalled = benchDeps.every((d) => existsSync(join(benchDir, "node_modules", d)));
const bench: string[] = [];
const skipped: string[] = [];
for (const file of tsFiles(benchDir)) {
  const source = readFileSync(file, "utf8");
  const needs = benchDeps.filter((d) =>
    source.includes(`from "${d}"`) || source.includes(`from "${d}/`) || source.includes(`import("${d}"`)
  );
  if (needs.length > 0 && !benchInstalled) skipped.push(`${relative(ROOT, file)} (needs ${needs.join(", ")})`);
  else bench.push(file);
}

const files = [
  join(ROOT, "mod.ts"),
  ...["src", "tests", "examples", "scripts"].flatMap((d) => tsFiles(join(ROOT, d))),
  ...bench,
]
  .map((f) => relative(ROOT, f))
  .sort();

let failed = false;

// tsc, with tsconfig.json's options over exactly these files.
const tmp = join(ROOT, "tmp", `typecheck-${process.pid}`);
mkdirSync(tmp, { recursive: true });
try {
  const config = join(tmp, "tsconfig.json");
  writeFileSync(
    config,
    JSON.stringify({ extends: "../../tsconfig.json", include: [], files: files.map((f) => `../../${f}`) }),
  );
  const tsc = spawnSync(join(BIN, "tsc"), ["-p", config], { cwd: ROOT, encoding: "utf8" });
  if (tsc.status !== 0) {
    process.stderr.write(`${tsc.stdout}${tsc.stderr}`);
    console.error("typecheck: tsc found errors");
    failed = true;
  } else {
    console.log(`typecheck: tsc passes on ${files.length} files`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// deno check on the same files.
const deno = spawnSync(join(BIN, "deno"), ["check", "--quiet", ...files], {
  cwd: ROOT,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
if (deno.status !== 0) {
  process.stderr.write(`${deno.stdout}${deno.stderr}`);
  console.error("typecheck: deno check found errors");
  failed = true;
} else {
  console.log(`typecheck: deno check passes on ${files.length} files`);
}

for (const s of skipped) console.log(`typecheck: skipped ${s}; run npm install in bench/ to check it`);
process.exit(failed ? 1 : 0);
