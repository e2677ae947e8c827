/**
 * The packed npm package where the edge starts (issue 13), built once for
 * this file (`npm pack` → a scratch consumer, tests/fixtures/packed.ts):
 *
 * - its root import's module graph names no `node:*` or `bun:*` module and no
 *   dynamic import (bundlers and `deno publish` can follow it);
 * - so do its store subpaths' module graphs (`satchel/redis`, `satchel/cookie`, …);
 * - `require("satchel")` from a CommonJS file works on Node 24 (no top-level await), and every subpath loads with
 *   `import` and `require()` alike; every subpath's `.d.ts` type-check without @types/node;
 * - `satchel/testing` runs the store conformance suite from the package, with its types;
 * - its `.d.ts` files type-check in a Workers-style project: no @types/node,
 *   lib ES2022 + DOM, skipLibCheck off;
 * - examples/workers/app.ts, bundled by wrangler's esbuild from the package,
 *   runs in workerd (miniflare) at compatibility date 2025-06-01 without
 *   `nodejs_compat`, and again with it: counter, login with regenerate,
 *   logout, a lateStore write (through waitUntil), and the message of a
 *   SqliteStore on a runtime without SQLite;
 * - examples/workers-d1 (`satchel/d1`), bundled the same way, runs on a D1
 *   binding and carries no other store's modules;
 * - a Worker on `satchel/redis` with a fetch-based client (Upstash's REST
 *   style, served here by a small HTTP front to the suite's redis-server) runs
 *   in workerd: counter, login, sign-out everywhere.
 *
 * These drive Node 24, tsc, wrangler and workerd as child processes (and
 * miniflare's Node API), the same whatever runtime runs the suite: they run
 * once, in its Node run.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { gzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import { BIN, type PackedConsumer, packedConsumer, run } from "./fixtures/packed.ts";
import { ROOT, runtime } from "./fixtures/worker-harness.ts";

// What is tested (the tarball, Node 24's require, tsc, workerd) is the same whatever runtime runs the
// suite, and packing plus two wrangler bundles cost some 15-30 s: once is enough.
const skip = runtime !== "node" &&
  "the package, tsc, wrangler and workerd run as child processes, the same whatever runtime runs the suite: once, in its Node run";
const SECRETS = {
  SESSION_SECRET: "workers-test-session-secret-0123456789abcdef",
  SESSION_DATA_SECRET: "workers-test-data-secret-0123456789abcdef",
};

let consumer: PackedConsumer;

/**
 * An example as an app that installed the package would write it: each import
 * of this repository's source carries a `// "satchel…" in your app` comment,
 * whose specifier replaces the path.
 */
function asInstalled(example: string): string {
  const source = readFileSync(join(ROOT, "examples", example), "utf8");
  const app = source.replace(/from "\.[^"]*"; \/\/ "(satchel[^"]*)" in your app$/gm, 'from "$1";');
  assert.doesNotMatch(app, /from "\.\.?\//, `${example} still imports from this repository`);
  return app;
}

/** examples/workers/app.ts in the consumer project. */
function copyExample(): void {
  writeFileSync(join(consumer.dir, "app.ts"), asInstalled("workers/app.ts"));
}
before(() => {
  if (!skip) consumer = packedConsumer();
});
after(() => consumer?.cleanup());

/** The package's own exports map: subpath ("./redis") → its `default` file. */
function packageExports(): Map<string, string> {
  const manifest = JSON.parse(readFileSync(join(consumer.dir, "node_modules", "satchel", "package.json"), "utf8"));
  const map = manifest.exports as Record<string, { default: string }>;
  return new Map(Object.entries(map).map(([subpath, target]) => [subpath, target.default]));
}

/** The subpaths an app imports at run time (not the CLI, not the test suite), and a name each must export. */
const EXPECTED: Record<string, string> = {
  ".": "session",
  "./redis": "RedisStore",
  "./cookie": "CookieStore",
  "./deno-kv": "DenoKvStore",
  "./d1": "D1Store",
  "./null": "NullStore",
  "./store": "generateId",
};
const appSubpaths = (): string[] => [...packageExports().keys()].filter((k) => k !== "./cli" && k !== "./testing");

test("the packed package's root import and each store subpath name no node:* or bun:* module and no dynamic import", {
  skip,
}, () => {
  const pkg = join(consumer.dir, "node_modules", "satchel");
  const seen = new Set<string>();
  const problems: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    if (/\bimport\s*\(/.test(code)) problems.push(`${file}: a dynamic import()`);
    if (/^(await\b|(const|let|var)\s[^=]+=\s*await\b)/m.test(code)) problems.push(`${file}: top-level await`);
    for (const [, spec] of code.matchAll(/^(?:import|export)\b[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gm)) {
      if (spec === undefined) continue;
      if (/^(node|bun):/.test(spec)) problems.push(`${file} imports ${spec}`);
      else if (spec.startsWith(".")) visit(join(dirname(file), spec));
    }
  };
  visit(join(pkg, "dist", "mod.js"));
  assert.ok(seen.size > 10, `walked ${seen.size} modules`);
  for (const subpath of appSubpaths()) visit(join(pkg, packageExports().get(subpath)!));
  assert.deepEqual(problems, []);
});

test(
  'require("satchel") works from a CommonJS file on Node 24, with the zero-config SqliteStore',
  { skip },
  async () => {
    writeFileSync(
      join(consumer.dir, "count.cjs"),
      `const { Hono } = require("hono");
const { session, SqliteStore } = require("satchel");
const { CookieStore } = require("satchel/cookie");
const app = new Hono();
app.use(session({ secret: "a consumer's secret of thirty-two bytes+" }));
app.get("/", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
(async () => {
  const first = await app.request("/");
  const cookie = first.headers.get("set-cookie").split(";")[0];
  const second = await app.request("/", { headers: { cookie } });
  console.log(await first.text(), await second.text(), typeof SqliteStore, typeof CookieStore);
})();
`,
    );
    const out = await run(join(BIN, "node"), ["--no-warnings", "count.cjs"], consumer.dir, { TMPDIR: consumer.dir });
    assert.equal(out.trim(), "1 2 function function");
  },
);

test("each subpath of the packed package loads on Node 24 with import and with require(), exporting the same names", {
  skip,
}, async () => {
  const subpaths = appSubpaths().map((k) => (k === "." ? "satchel" : `satchel/${k.slice(2)}`));
  for (const name of Object.keys(EXPECTED)) assert.ok(appSubpaths().includes(name), `package.json exports ${name}`);
  writeFileSync(
    join(consumer.dir, "subpaths.mjs"),
    `const out = {};\nfor (const s of ${JSON.stringify(subpaths)}) out[s] = Object.keys(await import(s)).sort();\n` +
      "console.log(JSON.stringify(out));\n",
  );
  writeFileSync(
    join(consumer.dir, "subpaths.cjs"),
    `const out = {};\nfor (const s of ${JSON.stringify(subpaths)}) out[s] = Object.keys(require(s)).sort();\n` +
      "console.log(JSON.stringify(out));\n",
  );
  const node = join(BIN, "node");
  const names = async (f: string) =>
    JSON.parse(await run(node, ["--no-warnings", f], consumer.dir)) as Record<string, string[]>;
  const [esm, cjs] = await Promise.all([names("subpaths.mjs"), names("subpaths.cjs")]);
  assert.deepEqual(cjs, esm);
  for (const [subpath, name] of Object.entries(EXPECTED)) {
    const spec = subpath === "." ? "satchel" : `satchel/${subpath.slice(2)}`;
    assert.ok(esm[spec]?.includes(name), `${spec} exports ${name}: ${esm[spec]}`);
  }
  for (const [spec, names] of Object.entries(esm)) {
    if (spec === "satchel") continue;
    assert.ok(!names.includes("session"), `${spec} re-exports the middleware`);
  }
});

/** A consumer file that uses every subpath's types the way an app or a store author writes them. */
const SUBPATH_TYPES = `import { session } from "satchel";
import { type RedisCommander, RedisStore, type RedisStoreOptions } from "satchel/redis";
import { CookieStore, type CookieStoreOptions } from "satchel/cookie";
import { type DenoKvLike, DenoKvStore, type DenoKvStoreOptions } from "satchel/deno-kv";
import { type D1DatabaseLike, D1Store, type D1StoreOptions } from "satchel/d1";
import { NullStore } from "satchel/null";
import { type Clock, generateId, isValidId, type SessionStore, type StoredSession, type UpdateFn } from "satchel/store";

declare const db: D1DatabaseLike;
declare const kv: DenoKvLike;
const commander: RedisCommander = { command: async (args) => args.length };
const clock: Clock = () => 0;
const redis: RedisStoreOptions = { client: commander, clock };
const cookie: CookieStoreOptions = { secret: "a data secret of at least thirty-two bytes" };
const kvOptions: DenoKvStoreOptions = { kv };
const d1: D1StoreOptions = { db };
const secret = "a consumer's secret of thirty-two bytes+";
export const middlewares = [
  session({ secret, store: new RedisStore(redis) }),
  session({ secret, store: new CookieStore(cookie) }),
  session({ secret, store: new DenoKvStore(kvOptions) }),
  session({ secret, store: new D1Store(d1) }),
  session({ secret, store: new NullStore() }),
];
export class MyStore implements SessionStore {
  #rows = new Map<string, StoredSession>();
  get(id: string): StoredSession | null {
    return isValidId(id) ? this.#rows.get(id) ?? null : null;
  }
  set(id: string, s: StoredSession): void {
    this.#rows.set(id, s);
  }
  delete(id: string): void {
    this.#rows.delete(id);
  }
  touch(): void {}
  update(id: string, fn: UpdateFn): StoredSession | null {
    return fn(this.#rows.get(id) ?? null);
  }
  deleteExpired(): number {
    return 0;
  }
}
export const mine = session({ secret, store: new MyStore() });
export const id: string = generateId();
// @ts-expect-error the root no longer exports the stores that have a subpath
export { RedisStore as Gone } from "satchel";
`;

test("each subpath's .d.ts type-check without @types/node (Bundler and NodeNext resolution, skipLibCheck off)", {
  skip,
}, async () => {
  writeFileSync(join(consumer.dir, "subpaths.ts"), SUBPATH_TYPES);
  const compilerOptions = {
    target: "ES2022",
    lib: ["ES2022", "DOM"],
    types: [],
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  };
  const configs = {
    "tsconfig.bundler.json": { ...compilerOptions, module: "ESNext", moduleResolution: "Bundler" },
    "tsconfig.nodenext.json": { ...compilerOptions, module: "NodeNext", moduleResolution: "NodeNext" },
  };
  for (const [file, options] of Object.entries(configs)) {
    writeFileSync(join(consumer.dir, file), JSON.stringify({ compilerOptions: options, files: ["subpaths.ts"] }));
  }
  await Promise.all(Object.keys(configs).map((config) => run(join(BIN, "tsc"), ["-p", config], consumer.dir)));
});

test(
  "satchel/testing from the packed package runs storeConformance on Node 24, and its .d.ts type-check",
  { skip },
  async () => {
    writeFileSync(
      join(consumer.dir, "conformance.test.ts"),
      `import { MemoryStore } from "satchel";
import { FakeClock, storeConformance, type StoreFixture } from "satchel/testing";

storeConformance("MemoryStore", (clock: FakeClock): StoreFixture => ({ store: new MemoryStore({ clock: clock.fn }) }));
`,
    );
    writeFileSync(
      join(consumer.dir, "tsconfig.testing.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022", "DOM"],
          module: "ESNext",
          moduleResolution: "Bundler",
          types: [],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["conformance.test.ts"],
      }),
    );
    await run(join(BIN, "tsc"), ["-p", "tsconfig.testing.json"], consumer.dir);
    // Without the parent runner's NODE_TEST_CONTEXT, the child reports in TAP on its stdout instead of to this runner.
    const args = ["--no-warnings", "--test", "--test-reporter=tap", "conformance.test.ts"];
    const report = await run(join(BIN, "node"), args, consumer.dir, { NODE_TEST_CONTEXT: undefined });
    assert.match(report, /^# fail 0$/m, report);
    const passed = Number(/^# pass (\d+)$/m.exec(report)?.[1]);
    assert.ok(passed >= 15, `${passed} conformance tests passed:\n${report}`);
    assert.match(report, /^ok \d+ - MemoryStore\.update\(\) never loses an increment/m);
  },
);

test("the packed .d.ts files type-check without @types/node, lib ES2022 + DOM, skipLibCheck off (TypeScript 7)", {
  skip,
}, async () => {
  writeFileSync(
    join(consumer.dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2022", "DOM"],
        module: "ESNext",
        moduleResolution: "Bundler",
        types: [],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      },
      files: ["app.ts"],
    }),
  );
  copyExample();
  // Where the lib has Disposable, SqliteStore is one (its types never name Symbol.dispose themselves).
  writeFileSync(
    join(consumer.dir, "tsconfig.esnext.json"),
    JSON.stringify({
      extends: "./tsconfig.json",
      compilerOptions: { target: "ESNext", lib: ["ESNext", "DOM"] },
      files: ["using.ts"],
    }),
  );
  writeFileSync(
    join(consumer.dir, "using.ts"),
    `import { SqliteStore } from "satchel";\nexport function open(): Disposable {\n  using store = new SqliteStore({ path: ":memory:" });\n  return store;\n}\n`,
  );
  await Promise.all(
    ["tsconfig.json", "tsconfig.esnext.json"].map((config) => run(join(BIN, "tsc"), ["-p", config], consumer.dir)),
  );
});

/** The Worker the tests bundle: the example app, plus a MemoryStore app for lateStore and a SqliteStore probe. */
const ENTRY = `import { Hono } from "hono";
import { MemoryStore, session, type SessionEnv, SqliteStore } from "satchel";
import app from "./app.ts";

type Env = SessionEnv<{ n: number }> & { Bindings: { SESSION_SECRET: string } };
const extra = new Hono<Env>();
let late: ReturnType<typeof session<{ n: number }>> | undefined;
extra.use("/mem/*", (c, next) => (late ??= session<{ n: number }>({ secret: c.env.SESSION_SECRET, store: new MemoryStore(), cookie: { name: "mem" } }))(c, next));
extra.get("/mem/late", (c) => {
  const s = c.get("session");
  s.options.lateStore = true;
  return c.text(String(s.update("n", (n) => (n ?? 0) + 1)));
});
extra.get("/mem/read", (c) => c.text(String(c.get("session").get("n") ?? 0)));
extra.get("/sqlite", (c) => {
  try {
    new SqliteStore();
    return c.text("opened");
  } catch (e) {
    return c.text(\`\${(e as Error).name}: \${(e as Error).message}\`);
  }
});

export default {
  fetch(request: Request, env: Env["Bindings"], ctx: ExecutionContext) {
    const path = new URL(request.url).pathname;
    return path.startsWith("/mem/") || path === "/sqlite" ? extra.fetch(request, env, ctx) : app.fetch(request, env, ctx);
  },
};
`;

/** Bundles the Worker with wrangler (its esbuild) into `out-<name>/`, with or without nodejs_compat. */
async function bundle(name: string, flags: string[]): Promise<string> {
  const config = join(consumer.dir, `wrangler-${name}.toml`);
  writeFileSync(
    config,
    `name = "satchel-test-${name}"\nmain = "entry.ts"\ncompatibility_date = "2025-06-01"\ncompatibility_flags = ${
      JSON.stringify(flags)
    }\n`,
  );
  const out = join(consumer.dir, `out-${name}`);
  await run(join(BIN, "wrangler"), ["deploy", "--dry-run", "--outdir", out, "-c", config], consumer.dir);
  return out;
}

/** A cookie jar over miniflare's dispatchFetch. */
function jar(fetch: (url: string, init?: RequestInit) => Promise<Response>) {
  const cookies = new Map<string, string>();
  return {
    cookies,
    async text(path: string, init: RequestInit = {}): Promise<string> {
      const headers = new Headers(init.headers);
      if (cookies.size > 0) headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
      const res = await fetch(`http://localhost${path}`, { ...init, headers });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const eq = pair!.indexOf("=");
        const [k, v] = [pair!.slice(0, eq), pair!.slice(eq + 1)];
        if (v === "" || /max-age=0/i.test(line)) cookies.delete(k);
        else cookies.set(k, v);
      }
      const body = await res.text();
      assert.equal(res.status, 200, `${path}: ${res.status} ${body}`);
      return body;
    },
  };
}

/** Walks the app in workerd with `flags`: what issue 13 found broken there. */
async function walk(name: string, flags: string[], out: string): Promise<void> {
  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare({
    modules: true,
    modulesRoot: out,
    scriptPath: join(out, "entry.js"),
    compatibilityDate: "2025-06-01",
    compatibilityFlags: flags,
    bindings: SECRETS,
  });
  try {
    const fetch = (url: string, init?: RequestInit) =>
      mf.dispatchFetch(url, init as never) as unknown as Promise<Response>;
    const browser = jar(fetch);
    assert.equal(await browser.text("/"), "visits: 1", name);
    assert.equal(await browser.text("/"), "visits: 2");
    assert.equal(await browser.text("/"), "visits: 3");
    const before = browser.cookies.get("sid");
    const form = { method: "POST", body: new URLSearchParams({ user: "ann" }) };
    assert.equal(await browser.text("/login", form), "signed in as ann");
    assert.notEqual(browser.cookies.get("sid"), before, "login regenerated the id");
    assert.equal(await browser.text("/me"), "ann");
    assert.equal(await browser.text("/"), "visits: 4", "the data survived the regenerate");
    assert.equal(await browser.text("/logout", { method: "POST" }), "signed out");
    assert.equal(await browser.text("/me"), "anonymous");
    assert.equal(await browser.text("/"), "visits: 1");

    // lateStore: the commit goes through waitUntil, after the response; three in a row all count.
    const late = jar(fetch);
    for (const n of ["1", "2", "3"]) {
      assert.equal(await late.text("/mem/late"), n);
      let stored = "";
      for (let i = 0; i < 50 && stored !== n; i++) stored = await late.text("/mem/read");
      assert.equal(stored, n, "the late commit was stored");
    }

    const sqlite = await jar(fetch).text("/sqlite");
    assert.match(
      sqlite,
      /^StoreUnavailableError: Cannot open SqliteStore: Cloudflare Workers \(workerd\) has no SQLite/,
    );
    assert.match(sqlite, /CookieStore/);
  } finally {
    await mf.dispose();
  }
}

test("examples/workers, bundled by wrangler from the packed package, runs in workerd with and without nodejs_compat", {
  skip,
  timeout: 60_000,
}, async () => {
  copyExample();
  writeFileSync(join(consumer.dir, "entry.ts"), ENTRY);
  const variants: [string, string[]][] = [["plain", []], ["nodejs_compat", ["nodejs_compat"]]];
  const outs = await Promise.all(variants.map(([name, flags]) => bundle(name, flags)));
  for (const [i, [name, flags]] of variants.entries()) await walk(name, flags, outs[i]!);
});

test(
  "examples/workers-d1, bundled by wrangler from the packed package, runs on D1 in workerd and bundles no other store",
  {
    skip,
    timeout: 60_000,
  },
  async (t) => {
    writeFileSync(join(consumer.dir, "worker-d1.ts"), asInstalled("workers-d1/src/worker.ts"));
    const config = join(consumer.dir, "wrangler-d1.toml");
    writeFileSync(
      config,
      `name = "satchel-test-d1"\nmain = "worker-d1.ts"\ncompatibility_date = "2025-06-01"\n\n[[d1_databases]]\n` +
        `binding = "DB"\ndatabase_name = "satchel-test"\ndatabase_id = "00000000-0000-0000-0000-000000000000"\n`,
    );
    const out = join(consumer.dir, "out-d1");
    const meta = join(consumer.dir, "d1-meta.json");
    const args = ["deploy", "--dry-run", "--minify", "--outdir", out, "--metafile", meta, "-c", config];
    await run(join(BIN, "wrangler"), args, consumer.dir);

    // What the bundle carries from the package (modules that gave it bytes): the root's and satchel/d1's, nothing
    // of the other stores.
    type Meta = { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
    const { outputs } = JSON.parse(readFileSync(meta, "utf8")) as Meta;
    const carried = Object.values(outputs).flatMap((o) =>
      Object.entries(o.inputs).flatMap(([f, { bytesInOutput }]) =>
        bytesInOutput > 0 ? /node_modules\/satchel\/(.+)$/.exec(f)?.[1] ?? [] : []
      )
    );
    assert.ok(
      carried.includes("dist/src/store/d1.js") && carried.includes("dist/src/middleware.js"),
      carried.join(" "),
    );
    assert.deepEqual(carried.filter((f) => /store\/(redis|cookie|deno-kv|null)\b|crypto\/(seal|chacha)\b/.test(f)), []);
    const code = readFileSync(join(out, "worker-d1.js"));
    t.diagnostic(`examples/workers-d1 bundle: ${code.length} bytes minified, ${gzipSync(code).length} gzip`);

    const { Miniflare } = await import("miniflare");
    const mf = new Miniflare({
      modules: true,
      modulesRoot: out,
      scriptPath: join(out, "worker-d1.js"),
      compatibilityDate: "2025-06-01",
      d1Databases: ["DB"],
      bindings: { SESSION_SECRET: SECRETS.SESSION_SECRET },
    });
    try {
      const browser = jar((url, init) => mf.dispatchFetch(url, init as never) as unknown as Promise<Response>);
      assert.equal(await browser.text("/"), "count: 1\n");
      assert.equal(await browser.text("/"), "count: 2\n");
      const anonymous = [...browser.cookies.values()].join();
      assert.equal(await browser.text("/login?user=alice", { method: "POST" }), "hello alice\n");
      assert.notEqual([...browser.cookies.values()].join(), anonymous, "login regenerated the id");
      assert.equal(await browser.text("/whoami"), "alice\n");
      assert.equal(await browser.text("/"), "count: 3\n");
      assert.equal(await browser.text("/logout", { method: "POST" }), "bye\n");
      assert.equal(await browser.text("/whoami"), "nobody\n");
    } finally {
      await mf.dispose();
    }
  },
);

/**
 * A Worker on satchel/redis with a fetch-based client, in the style of Upstash's REST API (POST a command as a JSON
 * array, read `{ result }` or `{ error }`): Workers have no TCP client for ioredis or node-redis, but RedisStore needs
 * only a `RedisCommander`.
 */
const REDIS_WORKER = `import { Hono } from "hono";
import { session, type SessionEnv } from "satchel";
import { type RedisCommander, RedisStore } from "satchel/redis";

type Bindings = { REDIS_REST_URL: string; REDIS_PREFIX: string; SESSION_SECRET: string };

function restCommander(url: string): RedisCommander {
  return {
    async command(args: string[]): Promise<unknown> {
      const res = await fetch(url, { method: "POST", body: JSON.stringify(args) });
      const body = (await res.json()) as { result?: unknown; error?: string };
      if (body.error !== undefined) throw new Error(body.error);
      return body.result ?? null;
    },
  };
}

let app: Hono<SessionEnv<{ count: number; user?: string }> & { Bindings: Bindings }> | undefined;
function build(env: Bindings) {
  const a = new Hono<SessionEnv<{ count: number; user?: string }> & { Bindings: Bindings }>();
  const store = new RedisStore({ client: restCommander(env.REDIS_REST_URL), prefix: env.REDIS_PREFIX });
  a.use(session({ secret: env.SESSION_SECRET, store }));
  a.get("/", async (c) => {
    const s = await c.get("session").load();
    return c.text(\`count: \${s.update("count", (n) => (n ?? 0) + 1)}\`);
  });
  a.post("/login", async (c) => {
    const s = await c.get("session").load();
    s.regenerate();
    s.setUser("alice");
    s.set("user", "alice");
    return c.text("hello alice");
  });
  a.get("/whoami", async (c) => c.text((await c.get("session").load()).get("user") ?? "nobody"));
  a.post("/logout-everywhere", async (c) => c.text(\`ended \${await c.get("session").destroyUserSessions()}\`));
  return a;
}

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext) {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
`;

test("satchel/redis, bundled by wrangler from the packed package, runs in workerd with a fetch-based Redis client", {
  skip: skip || (process.env.SATCHEL_REDIS_URL === undefined && "SATCHEL_REDIS_URL is not set: run it with npm test"),
  timeout: 60_000,
}, async () => {
  // The REST endpoint: each POSTed command goes to the suite's real redis-server.
  const { Redis } = await import("ioredis");
  const redis = new Redis(process.env.SATCHEL_REDIS_URL!, { maxRetriesPerRequest: 1 });
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", async () => {
      const [command, ...args] = JSON.parse(body) as string[];
      const reply = await redis.call(command!, ...args).then((result) => ({ result }), (e) => ({ error: e.message }));
      res.setHeader("content-type", "application/json").end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const prefix = `satchel-worker-${process.pid}-${Date.now()}:`;
  writeFileSync(join(consumer.dir, "worker-redis.ts"), REDIS_WORKER);
  const config = join(consumer.dir, "wrangler-redis.toml");
  writeFileSync(config, `name = "satchel-test-redis"\nmain = "worker-redis.ts"\ncompatibility_date = "2025-06-01"\n`);
  const out = join(consumer.dir, "out-redis");
  const { Miniflare } = await import("miniflare");
  let mf: InstanceType<typeof Miniflare> | undefined;
  try {
    await run(join(BIN, "wrangler"), ["deploy", "--dry-run", "--outdir", out, "-c", config], consumer.dir);
    mf = new Miniflare({
      modules: true,
      modulesRoot: out,
      scriptPath: join(out, "worker-redis.js"),
      compatibilityDate: "2025-06-01",
      bindings: {
        SESSION_SECRET: SECRETS.SESSION_SECRET,
        REDIS_PREFIX: prefix,
        REDIS_REST_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      },
    });
    const fetch = (url: string, init?: RequestInit) =>
      mf!.dispatchFetch(url, init as never) as unknown as Promise<Response>;
    const laptop = jar(fetch);
    const phone = jar(fetch);
    assert.equal(await laptop.text("/"), "count: 1");
    assert.equal(await laptop.text("/"), "count: 2");
    assert.equal(await laptop.text("/login", { method: "POST" }), "hello alice");
    assert.equal(await laptop.text("/"), "count: 3", "the data moved to the new id");
    assert.equal(await phone.text("/login", { method: "POST" }), "hello alice");
    assert.equal(await phone.text("/whoami"), "alice");
    assert.ok((await redis.keys(`${prefix}*`)).length >= 3, "the sessions and the user index are in Redis");
    assert.equal(await phone.text("/logout-everywhere", { method: "POST" }), "ended 2");
    assert.equal(await laptop.text("/whoami"), "nobody", "signed out on the laptop too");
    assert.equal(await phone.text("/whoami"), "nobody");
  } finally {
    await mf?.dispose();
    server.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});

test("deno publish --dry-run reports no warning (JSR scores packages on them)", { skip, timeout: 60_000 }, async () => {
  // deno prints its report on stderr.
  const report = await new Promise<string>((resolve) => {
    execFile(join(BIN, "deno"), ["publish", "--dry-run", "--allow-dirty"], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    }, (_e, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
  assert.match(report, /Dry run complete/, report);
  assert.doesNotMatch(report, /warning/i, report);
});
