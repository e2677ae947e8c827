/**
 * The size of a Worker bundle that uses D1 (examples/workers-d1/src/worker.ts),
 * bundled the way wrangler does (esbuild, ESM, workerd conditions, minified),
 * split by what the bytes are: Hono, superjson, Satchel's core, SqliteStore
 * (the middleware's default store), each other store and the cookie cipher.
 * With BASELINE (another checkout's folder), the same for it beside this one.
 *
 *   node bench/bundle-size.ts                     (also bun, deno run -A)
 *   BASELINE=/tmp/base node bench/bundle-size.ts
 *
 * Prints a Markdown table of bytes (minified, and gzip level 9 of the whole file).
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const HERE = fileURLToPath(new URL("..", import.meta.url));
const ENTRY = "examples/workers-d1/src/worker.ts";

/** What a module of the bundle is. */
function part(file: string): string {
  if (file.includes("node_modules/hono/")) return "hono";
  if (/node_modules\/(superjson|copy-anything|is-what)\//.test(file)) {
    return "superjson";
  }
  if (/src\/store\/(sqlite|sweeper)/.test(file)) {
    return "SqliteStore (the default store)";
  }
  if (/src\/store\/redis/.test(file)) {
    return "RedisStore and its client adapters";
  }
  if (/src\/store\/cookie|src\/crypto\/(seal|chacha)/.test(file)) {
    return "CookieStore and its cipher";
  }
  if (/src\/store\/deno-kv/.test(file)) return "DenoKvStore";
  if (/src\/store\/d1/.test(file)) return "D1Store";
  if (/src\/store\/null/.test(file)) return "NullStore";
  if (file.startsWith("examples/")) return "the example";
  return "Satchel's core (middleware, session, states, signing)";
}

/** Bytes of the minified bundle by part, its total and its gzip size. */
async function measure(
  root: string,
): Promise<{ parts: Map<string, number>; total: number; gzip: number }> {
  const result = await build({
    entryPoints: [join(root, ENTRY)],
    absWorkingDir: root,
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "import"],
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.contents;
  const parts = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      parts.set(part(file), (parts.get(part(file)) ?? 0) + bytesInOutput);
    }
  }
  return {
    parts,
    total: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
  };
}

const columns: [string, Awaited<ReturnType<typeof measure>>][] = [];
if (process.env.BASELINE) {
  columns.push(["baseline", await measure(process.env.BASELINE)]);
}
columns.push(["this checkout", await measure(HERE)]);

const names = [...new Set(columns.flatMap(([, m]) => [...m.parts.keys()]))]
  .sort();
console.log(`| ${ENTRY} | ${columns.map(([name]) => name).join(" | ")} |`);
console.log(`| --- | ${columns.map(() => "---:").join(" | ")} |`);
for (const name of names) {
  console.log(
    `| ${name} | ${columns.map(([, m]) => m.parts.get(name) ?? "—").join(" | ")} |`,
  );
}
console.log(
  `| **minified, total** | ${columns.map(([, m]) => m.total).join(" | ")} |`,
);
console.log(`| **gzip -9** | ${columns.map(([, m]) => m.gzip).join(" | ")} |`);
