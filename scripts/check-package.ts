/**
 * Packs the npm package the way `npm publish` would (which runs `prepack`,
 * the build) and checks what a user would install:
 *
 * - only dist/, bin/, README.md, LICENSE, CHANGELOG.md and package.json
 *   ship (no tests/, bench/, examples/, scripts/, no TypeScript source);
 * - every dist/ module has its `.d.ts`;
 * - a consumer project with the tarball in node_modules type-checks against
 *   the `.d.ts` files (strict, no skipLibCheck) and runs on Node 24, Bun and
 *   Deno: a typed app counts over two requests with the cookie it was given,
 *   and every subpath of `exports` an app imports (`satchel/redis`, …) loads;
 * - the `satchel` command (bin/satchel.js → the compiled CLI) prints its help
 *   on each of them.
 *
 * Offline: the consumer's hono and superjson are links into this repo's
 * node_modules. Usage: node scripts/check-package.ts
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
type Pkg = { exports: Record<string, unknown> };
const BIN = join(ROOT, "node_modules", ".bin");
const problems: string[] = [];
const work = mkdtempSync(join(tmpdir(), "satchel-package-"));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

try {
  // npm from PATH (any version), with node_modules/.bin first so prepack's tsc and node are this repo's.
  const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}` };
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
      cwd: ROOT,
      encoding: "utf8",
      env,
      stdio: ["ignore", "pipe", "inherit"],
    }),
  ) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path).sort();
  const SHIPS =
    /^(dist\/.+\.(js|d\.ts)|bin\/[^/]+\.js|docs\/[^/]+\.(md|sql)|README\.md|SECURITY\.md|LICENSE|CHANGELOG\.md|package\.json)$/;
  for (const f of files) if (!SHIPS.test(f)) problems.push(`the package ships ${f}`);
  for (const f of files.filter((f) => f.startsWith("dist/") && f.endsWith(".js"))) {
    if (!files.includes(f.replace(/\.js$/, ".d.ts"))) problems.push(`${f} has no ${f.replace(/\.js$/, ".d.ts")}`);
  }
  for (const need of ["dist/mod.js", "dist/mod.d.ts", "README.md", "LICENSE", "package.json"]) {
    if (!files.includes(need)) problems.push(`the package lacks ${need}`);
  }
  console.log(`packed ${packed[0]!.filename}: ${files.length} files`);

  // A consumer project with the tarball installed.
  const app = join(work, "consumer");
  const modules = join(app, "node_modules");
  mkdirSync(join(modules, "satchel"), { recursive: true });
  run("tar", ["-xzf", join(work, packed[0]!.filename), "-C", join(modules, "satchel"), "--strip-components=1"], work);
  for (const dep of ["hono", "superjson", "@types"]) symlinkSync(join(ROOT, "node_modules", dep), join(modules, dep));
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { satchel: "*", hono: "*" } }),
  );
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2023",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ["node"],
        lib: ["ES2023", "DOM"],
      },
      files: ["app.ts", "bad.ts"],
    }),
  );
  writeFileSync(
    join(app, "app.ts"),
    `import { Hono } from "hono";
import { MemoryStore, session, type SessionEnv, SessionTooLargeError } from "satchel";

type Data = { count: number; seen?: Date };
const app = new Hono<SessionEnv<Data>>();
app.use(session({ secret: "a consumer's secret of thirty-two bytes+", store: new MemoryStore() }));
app.get("/", (c) => {
  const count: number = c.get("session").update("count", (n) => (n ?? 0) + 1);
  c.get("session").set("seen", new Date(0));
  return c.text(String(count));
});
const first = await app.request("/");
const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0]!;
const second = await app.request("/", { headers: { cookie } });
console.log(\`counts \${await first.text()} \${await second.text()} \${typeof SessionTooLargeError}\`);
`,
  );
  // The types must be real: a wrong value type is an error.
  writeFileSync(
    join(app, "bad.ts"),
    `import { Hono } from "hono";
import { session, type SessionEnv } from "satchel";
const app = new Hono<SessionEnv<{ count: number }>>();
app.use(session({ secret: "a consumer's secret of thirty-two bytes+" }));
// @ts-expect-error count is a number
app.get("/", (c) => (c.get("session").set("count", "one"), c.text("")));
`,
  );
  try {
    run(join(BIN, "tsc"), ["-p", "tsconfig.json"], app);
    console.log("ok   the .d.ts files type-check in a strict consumer (skipLibCheck off)");
  } catch (e) {
    problems.push(`a consumer does not type-check against the package:\n${(e as { stdout?: string }).stdout ?? e}`);
  }
  // Every subpath an app imports (each store's, the contract's) loads on each runtime.
  const exported = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Pkg).exports);
  const subpaths = exported.filter((k) => k !== "." && k !== "./cli" && k !== "./testing").map((k) =>
    `satchel${k.slice(1)}`
  );
  writeFileSync(
    join(app, "subpaths.ts"),
    `const specs = ${JSON.stringify(subpaths)};
const loaded = await Promise.all(specs.map((s) => import(s)));
console.log(specs.map((s, i) => \`\${s}:\${Object.keys(loaded[i]).length > 0 ? "ok" : "empty"}\`).join(" "));
`,
  );
  const runtimes: [string, string[]][] = [
    ["node", [join(BIN, "node"), "app.ts"]],
    ["bun", [join(BIN, "bun"), "app.ts"]],
    ["deno", [join(BIN, "deno"), "run", "-A", "--node-modules-dir=manual", "app.ts"]],
  ];
  for (const [name, [cmd, ...args]] of runtimes) {
    try {
      const out = run(cmd!, [...args.slice(0, -1), "subpaths.ts"], app).trim();
      const want = subpaths.map((s) => `${s}:ok`).join(" ");
      if (out !== want) {
        problems.push(`on ${name} the subpaths printed ${JSON.stringify(out)}, not ${JSON.stringify(want)}`);
      } else console.log(`ok   ${subpaths.join(", ")} load on ${name}`);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      problems.push(`a subpath of the installed package fails on ${name}: ${err.stderr || err.message}`);
    }
    try {
      const out = run(cmd!, args, app).trim();
      if (out !== "counts 1 2 function") {
        problems.push(`on ${name} the installed package printed ${JSON.stringify(out)}, not "counts 1 2 function"`);
      } else console.log(`ok   the installed package runs on ${name}`);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      problems.push(`the installed package fails on ${name}: ${err.stderr || err.message}`);
    }
    const launcher = join(modules, "satchel", "bin", "satchel.js");
    const cliArgs = name === "deno"
      ? ["run", "--allow-read", "--allow-write", launcher, "--help"]
      : [launcher, "--help"];
    try {
      const help = run(cmd!, cliArgs, app);
      if (!help.startsWith("Usage: satchel ")) {
        problems.push(`on ${name} "satchel --help" printed ${JSON.stringify(help.slice(0, 80))}`);
      } else console.log(`ok   "satchel --help" runs on ${name}`);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      problems.push(`"satchel --help" fails on ${name}: ${err.stderr || err.message}`);
    }
  }
  // The consumer saw only dist/ (no .ts besides .d.ts) in the package.
  const tsInPackage = readdirSync(join(modules, "satchel"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
  if (tsInPackage.length > 0) problems.push(`TypeScript source in the npm package: ${tsInPackage.join(", ")}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

for (const p of problems) console.error(`FAIL ${p}`);
if (problems.length > 0) {
  console.error(`check-package: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log("check-package: the npm package ships dist/ with types and works on Node, Bun and Deno");
