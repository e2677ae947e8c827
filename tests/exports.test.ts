/**
 * The public surface (issue 20 §4): what the root `satchel` exports, what
 * each subpath of deno.json exports, and which of the repository's modules a
 * bundle of each entry point carries (esbuild, as wrangler runs it). The
 * packed package is tested in tests/package.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import { ROOT } from "./fixtures/worker-harness.ts";

/** The names an entry point's `export { … } from` and `export type { … } from` statements give, and which are types. */
function exportedNames(file: string): { values: string[]; types: string[] } {
  const code = readFileSync(join(ROOT, file), "utf8");
  const values: string[] = [];
  const types: string[] = [];
  for (const [, typeOnly, list] of code.matchAll(/^export\s+(type\s+)?\{([^}]*)\}\s+from\s+"[^"]+";/gm)) {
    for (const raw of list!.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const isType = typeOnly !== undefined || raw.startsWith("type ");
      const name = raw.replace(/^type\s+/, "").split(/\s+as\s+/).pop()!;
      (isType ? types : values).push(name);
    }
  }
  return { values: values.sort(), types: types.sort() };
}

/** deno.json's exports: subpath → source file. */
const EXPORTS = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).exports as Record<string, string>;

/** What no entry point exports: capability guards (`isSynchronousStore`, `canTouch`, …) and internals a user never writes. */
const INTERNAL = /^(is\w*Store|isRequestBound|has[A-Z]\w*|can[A-Z]\w*|systemClock|MAX_DEPTH|disposeSymbol)$/;

test("the root satchel exports at most 30 names: no capability guard, no internal type, no store with a subpath", () => {
  const { values, types } = exportedNames("mod.ts");
  const all = [...values, ...types];
  assert.ok(all.length <= 30, `${all.length} names: ${all.join(", ")}`);
  assert.deepEqual(all.filter((n) => INTERNAL.test(n) || /Like$|^Disposer$|^Clock$/.test(n)), []);
  for (const store of ["RedisStore", "CookieStore", "DenoKvStore", "D1Store", "NullStore"]) {
    assert.ok(!all.includes(store), `${store} has its own subpath`);
  }
  const root = readFileSync(join(ROOT, "mod.ts"), "utf8");
  for (const [subpath, file] of Object.entries(EXPORTS)) {
    if (subpath !== ".") assert.ok(!root.includes(`from "${file}"`), `mod.ts re-exports ${subpath} (${file})`);
  }
  assert.deepEqual(values, [
    "CookieState",
    "HeaderState",
    "MemoryStore",
    "Session",
    "SessionDataError",
    "SessionError",
    "SessionTooLargeError",
    "SqliteStore",
    "StoreFullError",
    "StoreUnavailableError",
    "jsonSerializer",
    "session",
    "superjsonSerializer",
  ]);
});

test("the root satchel's runtime exports are exactly the values mod.ts names", async () => {
  const root = await import("../mod.ts");
  assert.deepEqual(Object.keys(root).sort(), exportedNames("mod.ts").values);
});

test("each store subpath exports its store, and no entry point exports a guard or an internal helper", async () => {
  const stores: Record<string, string> = {
    "./redis": "RedisStore",
    "./cookie": "CookieStore",
    "./deno-kv": "DenoKvStore",
    "./d1": "D1Store",
    "./null": "NullStore",
  };
  for (const [subpath, store] of Object.entries(stores)) {
    assert.ok(EXPORTS[subpath], `deno.json exports ${subpath}`);
    const mod = await import(join(ROOT, EXPORTS[subpath]!)) as Record<string, unknown>;
    assert.equal(typeof mod[store], "function", `${subpath} exports ${store}`);
    assert.deepEqual(Object.keys(mod).filter((n) => INTERNAL.test(n)), [], subpath);
  }
  const contract = await import("../src/store/contract.ts");
  assert.deepEqual(Object.keys(contract).sort(), ["generateId", "isValidId"]);
  assert.ok(contract.isValidId(contract.generateId()));
});

/**
 * The modules of each store that has a subpath (deno.json's `./src/store/<name>.ts`, with its folder
 * `src/store/<name>/` if it has one): what an app that does not use that store must not carry. CookieStore's
 * cipher counts as its own.
 */
const STORE_MODULES: Record<string, RegExp> = Object.fromEntries(
  Object.entries(EXPORTS).flatMap(([subpath, file]) => {
    const name = /^\.\/src\/store\/([a-z0-9-]+)\.ts$/.exec(file)?.[1];
    if (name === undefined || name === "contract") return [];
    const cipher = name === "cookie" ? "|^src\\/crypto\\/(seal|chacha)\\.ts$" : "";
    return [[subpath, new RegExp(`^src\\/store\\/${name}(\\.ts$|\\/)${cipher}`)]];
  }),
);

/**
 * Bundles `entry` (code in the repository's root) the way wrangler does (esbuild, ESM, workerd conditions, minified)
 * and returns the repository's modules that gave the bundle any byte. Tree-shaking counts: a module imported but
 * wholly dropped is not carried.
 */
async function carried(entry: string): Promise<string[]> {
  const result = await build({
    stdin: { contents: entry, resolveDir: ROOT, sourcefile: "entry.ts", loader: "ts" },
    absWorkingDir: ROOT,
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
  return Object.values(result.metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs).flatMap(([file, { bytesInOutput }]) =>
      bytesInOutput > 0 && !file.includes("node_modules") ? [file] : []
    )
  ).sort();
}

test("a bundle of everything the root satchel exports carries no store that has its own subpath, nor the cookie cipher", async () => {
  for (const subpath of ["./redis", "./cookie", "./deno-kv", "./d1", "./null"]) {
    assert.ok(STORE_MODULES[subpath], subpath);
  }
  const files = await carried('export * from "./mod.ts";');
  assert.ok(files.includes("src/middleware.ts") && files.includes("src/store/sqlite.ts"), files.join("\n"));
  for (const [subpath, modules] of Object.entries(STORE_MODULES)) {
    assert.deepEqual(files.filter((f) => modules.test(f)), [], `the root carries ${subpath}'s modules`);
  }
});

test("a bundle of session() and one store subpath carries no other store's modules (a D1 Worker: no Redis adapter, no cipher)", async () => {
  assert.ok(Object.keys(STORE_MODULES).length >= 5, Object.keys(STORE_MODULES).join(", "));
  for (const [subpath, own] of Object.entries(STORE_MODULES)) {
    const entry = `import { session } from "./mod.ts";\nimport * as store from "${EXPORTS[subpath]}";\n` +
      "export { session, store };\n";
    const files = await carried(entry);
    assert.ok(files.some((f) => own.test(f)), `${subpath}: ${files.join(", ")}`);
    for (const [other, modules] of Object.entries(STORE_MODULES)) {
      if (other === subpath) continue;
      assert.deepEqual(
        files.filter((f) => modules.test(f)),
        [],
        `with ${subpath}, the bundle carries ${other}'s modules`,
      );
    }
  }
});
