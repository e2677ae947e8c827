/**
 * Checks that deno.json (JSR) and package.json (npm) agree on everything but
 * the name, so the two packages never drift:
 *
 * - the same version (semver), also the latest entry of CHANGELOG.md;
 * - the same license, and a LICENSE file;
 * - the same export subpaths, each pointing at the same module: JSR at the
 *   TypeScript source `./X.ts`, npm at its build `./dist/X.js` with types
 *   `./dist/X.d.ts`; the source exists;
 * - every npm `bin` is JavaScript that ships (the build of a source file, or
 *   a launcher kept as is) and starts with a `#!` line;
 * - the same dependency ranges: each runtime dependency and peer of
 *   package.json is mapped in deno.json `imports` to `npm:<name>@<same range>`;
 * - neither package ships tests/, bench/, examples/ or scripts/.
 *
 * Usage: node scripts/check-manifests.ts   (Node 24+, or bun / deno run -A)
 * Prints what it checked and exits 1 with one line per problem.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

type Json = Record<string, unknown>;
type PackageExport = string | { types?: string; import?: string; default?: string };

function readJson(file: string): Json {
  return JSON.parse(readFileSync(join(ROOT, file), "utf8")) as Json;
}

/** Normalize a relative path to `./x` form. */
function rel(p: string): string {
  return p.startsWith("./") ? p : `./${p}`;
}

const problems: string[] = [];
const checked: string[] = [];
function fail(message: string): void {
  problems.push(message);
}

const pkg = readJson("package.json");
const deno = readJson("deno.json");

// Version
const version = pkg.version;
if (typeof version !== "string" || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
  fail(`package.json version must be semver: found ${JSON.stringify(version)}`);
}
if (deno.version !== version) {
  fail(
    `versions differ: package.json ${JSON.stringify(version)}, deno.json ${
      JSON.stringify(deno.version)
    }; set both to the same`,
  );
}
if (existsSync(join(ROOT, "CHANGELOG.md"))) {
  const changelog = readFileSync(join(ROOT, "CHANGELOG.md"), "utf8");
  const latest = /^## \[?(\d+\.\d+\.\d+[^\]\s]*)\]?/m.exec(changelog)?.[1];
  if (latest !== version) {
    fail(
      `CHANGELOG.md's latest entry is ${JSON.stringify(latest)}, the manifests say ${
        JSON.stringify(version)
      }; add a "## ${version} - <date>" section`,
    );
  }
} else {
  fail("CHANGELOG.md is missing");
}
checked.push(`version ${version}`);

// License
if (pkg.license !== deno.license) {
  fail(`licenses differ: package.json ${JSON.stringify(pkg.license)}, deno.json ${JSON.stringify(deno.license)}`);
}
if (!existsSync(join(ROOT, "LICENSE"))) fail("LICENSE is missing");
checked.push(`license ${String(pkg.license)}`);

// Exports
function exportMap(value: unknown, file: string): Map<string, unknown> {
  if (typeof value === "string") return new Map([[".", value]]);
  if (typeof value === "object" && value !== null) return new Map(Object.entries(value));
  fail(`${file} has no "exports"`);
  return new Map();
}
const denoExports = exportMap(deno.exports, "deno.json");
const pkgExports = exportMap(pkg.exports, "package.json");
const subpaths = [...new Set([...denoExports.keys(), ...pkgExports.keys()])].sort();
for (const subpath of subpaths) {
  const source = denoExports.get(subpath);
  const built = pkgExports.get(subpath) as PackageExport | undefined;
  if (source === undefined) {
    fail(`export "${subpath}" is in package.json but not in deno.json`);
    continue;
  }
  if (built === undefined) {
    fail(`export "${subpath}" is in deno.json but not in package.json`);
    continue;
  }
  if (typeof source !== "string" || !source.endsWith(".ts") || source.endsWith(".d.ts")) {
    fail(`deno.json export "${subpath}" must name a TypeScript source file: found ${JSON.stringify(source)}`);
    continue;
  }
  if (!existsSync(join(ROOT, source))) fail(`deno.json export "${subpath}" points at ${source}, which does not exist`);
  const stem = rel(source).slice(2, -3); // "./src/x.ts" -> "src/x"
  const wantJs = `./dist/${stem}.js`;
  const wantTypes = `./dist/${stem}.d.ts`;
  if (typeof built !== "object" || built === null) {
    fail(
      `package.json export "${subpath}" must be { "types": "${wantTypes}", "default": "${wantJs}" }: found ${
        JSON.stringify(built)
      }`,
    );
    continue;
  }
  const js = built.import ?? built.default;
  if (js !== wantJs) {
    fail(`package.json export "${subpath}" must load ${wantJs} (the build of ${source}): found ${JSON.stringify(js)}`);
  }
  if (built.types !== wantTypes) {
    fail(`package.json export "${subpath}" must have "types": "${wantTypes}": found ${JSON.stringify(built.types)}`);
  }
  if (Object.keys(built)[0] !== "types") {
    fail(`package.json export "${subpath}": "types" must come first (TypeScript reads conditions in order)`);
  }
  checked.push(`export "${subpath}": ${source} <-> ${wantJs}`);
}
if (typeof pkg.types === "string" && pkgExports.has(".")) {
  const main = pkgExports.get(".") as PackageExport;
  if (typeof main === "object" && main.types !== pkg.types) {
    fail(`package.json "types" (${pkg.types}) differs from exports["."].types (${main.types})`);
  }
}

// Bin: either the build of a TypeScript source (dist/X.js from X.ts) or a
// plain JavaScript launcher kept in the repo; both must start with "#!".
const bins = typeof pkg.bin === "string" ? { [String(pkg.name)]: pkg.bin } : (pkg.bin ?? {}) as Record<string, string>;
const shipped = ((pkg.files ?? []) as string[]).map((e) => e.replace(/^\.\//, ""));
for (const [name, target] of Object.entries(bins)) {
  const path = target.replace(/^\.\//, "");
  const m = /^dist\/(.+)\.js$/.exec(path);
  const source = m === null ? path : `${m[1]}.ts`;
  if (!/\.(m?js|cjs)$/.test(path)) {
    fail(`package.json bin "${name}" must be JavaScript (Node runs no TypeScript from node_modules): found ${target}`);
    continue;
  }
  if (!existsSync(join(ROOT, source))) {
    fail(`package.json bin "${name}" comes from ${source}, which does not exist`);
    continue;
  }
  if (!readFileSync(join(ROOT, source), "utf8").startsWith("#!")) {
    fail(
      `package.json bin "${name}": ${source} must start with a "#!/usr/bin/env node" line, or the installed command cannot run`,
    );
  }
  if (!shipped.some((e) => path === e || path.startsWith(e.replace(/\/?$/, "/")))) {
    fail(`package.json bin "${name}": ${target} is not in "files", so npm would not ship it`);
  }
  checked.push(`bin ${name}: ${target}${m === null ? "" : ` (built from ${source})`}`);
}

// Dependencies: JSR reads deno.json "imports"; npm reads package.json.
const imports = (deno.imports ?? {}) as Record<string, string>;
const runtimeDeps = {
  ...(pkg.dependencies ?? {}) as Record<string, string>,
  ...(pkg.peerDependencies ?? {}) as Record<string, string>,
};
const optionalPeers = new Set(
  Object.entries((pkg.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>)
    .filter(([, meta]) => meta.optional === true).map(([name]) => name),
);
for (const [name, range] of Object.entries(runtimeDeps)) {
  const mapped = imports[name];
  const want = `npm:${name}@${range}`;
  if (mapped === undefined) {
    if (!optionalPeers.has(name)) fail(`deno.json "imports" lacks "${name}": add "${name}": "${want}"`);
    continue;
  }
  if (mapped !== want) {
    fail(`deno.json imports "${name}" as ${JSON.stringify(mapped)}, package.json says ${range}: use "${want}"`);
  }
  const sub = imports[`${name}/`];
  if (sub !== undefined && sub !== `npm:/${name}@${range}/`) {
    fail(`deno.json imports "${name}/" as ${JSON.stringify(sub)}: use "npm:/${name}@${range}/"`);
  }
  checked.push(`dependency ${name}@${range}`);
}
for (const [name, target] of Object.entries(imports)) {
  const bare = name.endsWith("/") ? name.slice(0, -1) : name;
  if (target.startsWith("npm:") && !(bare in runtimeDeps)) {
    fail(
      `deno.json imports "${name}" but package.json has no dependency or peer "${bare}"; add it there or drop the import`,
    );
  }
}

// What ships
const NEVER = ["tests", "bench", "examples", "scripts"];
const files = (pkg.files ?? []) as string[];
const include = ((deno.publish as Json | undefined)?.include ?? []) as string[];
if (files.length === 0) fail('package.json needs a "files" list (otherwise npm ships everything)');
if (include.length === 0) fail('deno.json needs "publish": { "include": [...] } (otherwise JSR gets everything)');
for (const [file, list] of [["package.json files", files], ["deno.json publish.include", include]] as const) {
  for (const entry of list) {
    const top = entry.replace(/^\.\//, "").split("/")[0]!;
    if (NEVER.includes(top)) fail(`${file} ships ${entry}: ${NEVER.join(", ")} are never published`);
  }
}
for (const source of denoExports.values()) {
  if (typeof source !== "string") continue;
  const path = rel(source).slice(2);
  if (
    !include.some((e) =>
      path === e.replace(/^\.\//, "") || path.startsWith(e.replace(/^\.\//, "").replace(/\/?$/, "/"))
    )
  ) {
    fail(`deno.json publish.include does not cover the export ${source}`);
  }
}
if (!files.some((e) => e.replace(/^\.\//, "").startsWith("dist"))) fail('package.json "files" must include "dist/"');
checked.push(`shipped: npm [${files.join(", ")}], JSR [${include.join(", ")}]`);

for (const line of checked) console.log(`ok   ${line}`);
for (const line of problems) console.error(`FAIL ${line}`);
if (problems.length > 0) {
  console.error(`check-manifests: ${problems.length} problem(s) between deno.json and package.json`);
  process.exit(1);
}
console.log("check-manifests: deno.json and package.json agree");
