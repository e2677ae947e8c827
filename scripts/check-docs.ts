/**
 * Checks that the documentation says what the code does, where it now lives:
 *
 * 1. `deno doc --lint` on every entry point of deno.json's `exports`, minus
 *    one known false positive (below).
 * 2. README.md's "A complete example" type-checks (strict, with tsc), so the
 *    example users copy compiles against the current API
 *    (tests/readme.test.ts runs it).
 * 3. Every option of every exported options interface (`*Options`,
 *    `SessionBinding`) has exactly one row across the options tables of
 *    docs/: a table whose first column is `Option` (or `Field`), under a
 *    heading that names the interface in backticks. A row for an option the
 *    interface does not have fails too, and so does such a row in the
 *    README's short table of `session()` options.
 * 4. Relative links in README.md, CONTRIBUTING.md, SECURITY.md, docs/,
 *    bench/ and the examples' READMEs point to files that exist, and an
 *    anchor into a Markdown file to one of its headings.
 * 5. README.md stays a front page: at most 300 lines, no benchmark figures
 *    (they live in bench/RESULTS.md).
 *
 * About (1): Deno reports `private-type-ref` for every type of another
 * package that a public signature uses, here Hono's `Context`,
 * `MiddlewareHandler` and `HTTPException` (denoland/deno#27364). Only such a
 * reference to a type no file of this package declares is ignored.
 *
 * Usage: node scripts/check-docs.ts   (Node 24+, or bun / deno run -A)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DENO = process.env.DENO ?? join(ROOT, "node_modules", ".bin", "deno");
const README_MAX_LINES = 300;

const problems: string[] = [];
function fail(message: string): void {
  problems.push(message);
  console.error(`check-docs: ${message}`);
}
function pass(message: string): void {
  console.log(`check-docs: ${message}`);
}
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");

/** Every file under `dir` (relative to ROOT) whose name passes `keep`. */
function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), keep) : keep(e.name) ? [join(dir, e.name)] : []
  );
}

/** deno.json's export entry points that are TypeScript modules. */
function entryPoints(): string[] {
  const exports = (JSON.parse(read("deno.json")) as { exports?: string | Record<string, string> }).exports ?? {};
  const paths = typeof exports === "string" ? [exports] : Object.values(exports);
  return paths.filter((p) => p.endsWith(".ts")).map((p) => p.replace(/^\.\//, ""));
}

const ownFiles = ["mod.ts", ...filesUnder("src", (n) => n.endsWith(".ts"))];
const ownCode = ownFiles.map(read).join("\n");
// tests/ too, for interfaces documented before they are exported (the conformance suite's).
const allCode = `${ownCode}\n${filesUnder("tests", (n) => n.endsWith(".ts")).map(read).join("\n")}`;

// ---- 1. deno doc --lint ------------------------------------------------------

function declaredHere(name: string): boolean {
  return new RegExp(`\\b(class|interface|type|enum|function|const|let|var)\\s+${name}\\b`).test(ownCode);
}

function lintPublicApi(entries: string[]): void {
  const run = spawnSync(DENO, ["doc", "--lint", ...entries], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (run.error) {
    console.error(`check-docs: Cannot run ${DENO}: ${run.error.message} (run npm install first)`);
    process.exit(2);
  }
  // NO_COLOR is set, but strip colour codes anyway so the diagnostics parse.
  // deno-lint-ignore no-control-regex
  const output = `${run.stdout}${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, "");
  const blocks = output.split(/\n(?=(?:error|warning)\[)/).filter((b) => /^(error|warning)\[/.test(b.trimStart()));
  if (run.status !== 0 && blocks.length === 0) {
    console.error(output);
    return fail(`deno doc --lint exited ${run.status} without a diagnostic it could read`);
  }
  const allowed: string[] = [];
  const failures: string[] = [];
  for (const raw of blocks) {
    const block = raw.trim().replace(/\n\s*\n(error: Found \d+ .*)?$/s, "");
    const head = block.split("\n")[0]!;
    const ref = /^error\[private-type-ref\]: public type '.*' references private type '([A-Za-z0-9_$]+)'$/.exec(head);
    if (ref !== null && !declaredHere(ref[1]!)) allowed.push(ref[1]!);
    else failures.push(block);
  }
  if (allowed.length > 0) {
    const names = [...new Set(allowed)].sort().join(", ");
    pass(`ignored ${allowed.length} private-type-ref to other packages' types (${names}; denoland/deno#27364)`);
  }
  for (const f of failures) console.error(`${f}\n`);
  if (failures.length > 0) fail(`${failures.length} documentation problem(s) in the public API`);
  else pass(`deno doc --lint ${entries.join(" ")} passes`);
}

// ---- 2. the README's complete example ---------------------------------------

/** The first ```ts block under the heading `## <title>` of README.md. */
function readmeExample(title: string): string | undefined {
  const readme = read("README.md");
  const at = readme.indexOf(`\n## ${title}\n`);
  return at === -1 ? undefined : /```ts\n([\s\S]*?)\n```/.exec(readme.slice(at))?.[1];
}

function typeCheckExample(): void {
  const example = readmeExample("A complete example");
  if (example === undefined) return fail('README.md has no ts code block under "## A complete example"');
  const dir = join(ROOT, "tmp", `readme-check-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(join(dir, "example.ts"), example.replace('from "satchel"', 'from "../../mod.ts"'));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.json", include: ["example.ts"], compilerOptions: { noEmit: true } }),
    );
    const tsc = spawnSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")], {
      encoding: "utf8",
    });
    if (tsc.status !== 0) {
      console.error(`${tsc.stdout}${tsc.stderr}`);
      return fail("README.md's complete example does not type-check");
    }
    pass("README.md's complete example type-checks");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- Markdown ---------------------------------------------------------------

interface Table {
  file: string;
  line: number;
  heading: string;
  columns: string[];
  rows: { line: number; cells: string[] }[];
}

/** Splits `| a | b \| c |` into its cells, keeping escaped pipes. */
function cells(line: string): string[] {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/).map((c) => c.trim());
}

/** The lines of a Markdown file outside fenced code blocks, with their numbers. */
function proseLines(text: string): { n: number; line: string }[] {
  let fenced = false;
  const out: { n: number; line: string }[] = [];
  text.split("\n").forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else if (!fenced) out.push({ n: i + 1, line });
  });
  return out;
}

function tablesOf(file: string): Table[] {
  const lines = proseLines(read(file));
  const tables: Table[] = [];
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const { n, line } = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, "");
    const next = lines[i + 1]?.line ?? "";
    if (!line.startsWith("|") || !/^\|\s*:?-{3,}/.test(next)) continue;
    const table: Table = { file, line: n, heading, columns: cells(line), rows: [] };
    for (i += 2; i < lines.length && lines[i]!.line.startsWith("|"); i++) {
      table.rows.push({ line: lines[i]!.n, cells: cells(lines[i]!.line) });
    }
    i--;
    tables.push(table);
  }
  return tables;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (anchors !== undefined) return anchors;
  anchors = new Set();
  const seen = new Map<string, number>();
  for (const { line } of proseLines(readFileSync(file, "utf8"))) {
    const m = /^#{1,6} (.*?)\s*#*\s*$/.exec(line);
    if (m === null) continue;
    const base = slug(m[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

// ---- 3. every option documented once ----------------------------------------

const OPTIONS_INTERFACE = /^(\w+Options|SessionBinding)$/;

/** The option names of `export interface <name>`, with those of interfaces it extends; undefined if not found. */
function optionsOf(name: string): string[] | undefined {
  const m = new RegExp(`export interface ${name}\\b([^{]*)\\{([\\s\\S]*?)\\n\\}`).exec(allCode);
  if (m === null) return undefined;
  const own = [...m[2]!.matchAll(/^\s+(?:readonly\s+)?(\w+)\??:/gm)].map((x) => x[1]!);
  const heritage = /extends\s+([\w\s,]+)/.exec(m[1]!)?.[1] ?? "";
  const parents = heritage.split(",").map((p) => p.trim()).filter(Boolean);
  return [...own, ...parents.flatMap((p) => optionsOf(p) ?? [])];
}

/** The options interfaces the package exports, from each entry point's export statements. */
function exportedOptionInterfaces(entries: string[]): string[] {
  const names = entries.flatMap((e) =>
    [...read(e).matchAll(/\b([A-Z]\w*Options|SessionBinding)\b/g)].map((m) => m[1]!)
  );
  return [...new Set(names)].filter((n) => OPTIONS_INTERFACE.test(n)).sort();
}

/** The option a row documents: its first cell, `name` or `something.name`. */
function optionOfRow(row: string[]): string | undefined {
  return /^`(?:\w+\.)?(\w+)`$/.exec(row[0] ?? "")?.[1];
}

const isOptionsTable = (t: Table) => t.columns[0] === "Option" || t.columns[0] === "Field";

function checkOptionRows(entries: string[]): void {
  const required = exportedOptionInterfaces(entries);
  const rows = new Map<string, string[]>(); // "Interface.option" → where it is documented
  const docs = filesUnder("docs", (n) => n.endsWith(".md"));
  for (const table of docs.flatMap(tablesOf).filter(isOptionsTable)) {
    const where = `${table.file}:${table.line}`;
    const name = [...table.heading.matchAll(/`(\w+)`/g)].map((m) => m[1]!).find((n) => OPTIONS_INTERFACE.test(n));
    if (name === undefined) {
      fail(`${where}: an options table under "${table.heading}", a heading that names no options interface`);
      continue;
    }
    const known = optionsOf(name);
    if (known === undefined) {
      fail(`${where}: documents ${name}, which no file of this package declares`);
      continue;
    }
    for (const row of table.rows) {
      const at = `${table.file}:${row.line}`;
      const option = optionOfRow(row.cells);
      if (option === undefined) fail(`${at}: a row of ${name} whose first cell is not \`option\`: ${row.cells[0]}`);
      else if (!known.includes(option)) fail(`${at}: ${name} has no option ${option}`);
      else rows.set(`${name}.${option}`, [...rows.get(`${name}.${option}`) ?? [], at]);
    }
  }
  let count = 0;
  for (const name of required) {
    for (const option of optionsOf(name) ?? []) {
      count++;
      const at = rows.get(`${name}.${option}`) ?? [];
      if (at.length === 0) fail(`docs/ has no table row for ${name}.${option}; document every option once`);
      if (at.length > 1) fail(`${name}.${option} is documented ${at.length} times (${at.join(", ")}); once is enough`);
    }
    if (optionsOf(name) === undefined) fail(`${name} is exported but no file declares it as an interface`);
  }
  // The README's short table lists options of session(): none may be stale.
  const sessionOptions = optionsOf("SessionOptions") ?? [];
  for (const table of tablesOf("README.md").filter(isOptionsTable)) {
    for (const row of table.rows) {
      const option = optionOfRow(row.cells);
      if (option === undefined || !sessionOptions.includes(option)) {
        fail(`README.md:${row.line}: SessionOptions has no option ${row.cells[0]}`);
      }
    }
  }
  pass(`checked ${count} options of ${required.length} options interfaces (${required.join(", ")}) against docs/`);
}

// ---- 4. links ---------------------------------------------------------------

function linkedFiles(): string[] {
  return [
    "README.md",
    "CONTRIBUTING.md",
    "SECURITY.md",
    ...filesUnder("docs", (n) => n.endsWith(".md")),
    ...filesUnder("bench", (n) => n.endsWith(".md")).filter((f) => !f.includes("node_modules")),
    ...filesUnder("examples", (n) => n === "README.md"),
  ].filter((f) => existsSync(join(ROOT, f)));
}

function checkLinks(): void {
  let checked = 0;
  for (const file of linkedFiles()) {
    for (const { n, line } of proseLines(read(file))) {
      const prose = line.replace(/`[^`]*`/g, "");
      for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
        checked++;
        const [path, anchor] = target.split("#", 2) as [string, string | undefined];
        const resolved = path === "" ? join(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path));
        const where = `${file}:${n}`;
        if (!existsSync(resolved)) {
          fail(`${where}: links to ${target}, but ${relative(ROOT, resolved)} does not exist`);
        } else if (anchor !== undefined && resolved.endsWith(".md") && !anchorsOf(resolved).has(anchor)) {
          fail(`${where}: links to ${target}, but ${relative(ROOT, resolved)} has no heading #${anchor}`);
        }
      }
    }
  }
  pass(`checked ${checked} relative links in ${linkedFiles().length} Markdown files`);
}

// ---- 5. the README is a front page ------------------------------------------

function checkFrontPage(): void {
  const readme = read("README.md");
  const lines = readme.split("\n").length - (readme.endsWith("\n") ? 1 : 0);
  if (lines > README_MAX_LINES) {
    fail(`README.md has ${lines} lines, over ${README_MAX_LINES}: move reference text to docs/`);
  }
  for (const { n, line } of proseLines(readme)) {
    const figure = /\d[\d,.]*\s?(µs|req\/s|%|×)/.exec(line.replace(/\]\([^)]*\)/g, "]"));
    if (figure !== null) fail(`README.md:${n}: "${figure[0]}" is a benchmark figure: link bench/RESULTS.md instead`);
  }
  pass(`README.md is a front page (${lines} lines)`);
}

const entries = entryPoints();
lintPublicApi(entries);
typeCheckExample();
checkOptionRows(entries);
checkLinks();
checkFrontPage();
if (problems.length > 0) {
  console.error(`check-docs: ${problems.length} problem(s)`);
  process.exit(1);
}
