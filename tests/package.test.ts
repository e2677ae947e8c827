/**
 * The packed npm package where the edge starts (issue 13), built once for
 * this file (`npm pack` → a scratch consumer, tests/fixtures/packed.ts):
 *
 * - its root import's module graph names no `node:*` or `bun:*` module and no
 *   dynamic import (bundlers and `deno publish` can follow it);
 * - `require("satchel")` from a CommonJS file works on Node 24 (no top-level await);
 * - `satchel/testing` runs the store conformance suite from the package, with its types;
 * - its `.d.ts` files type-check in a Workers-style project: no @types/node,
 *   lib ES2022 + DOM, skipLibCheck off;
 * - examples/workers/app.ts, bundled by wrangler's esbuild from the package,
 *   runs in workerd (miniflare) at compatibility date 2025-06-01 without
 *   `nodejs_compat`, and again with it: counter, login with regenerate,
 *   logout, a lateStore write (through waitUntil), and the message of a
 *   SqliteStore on a runtime without SQLite.
 *
 * These drive Node 24, tsc, wrangler and workerd as child processes (and
 * miniflare's Node API), the same whatever runtime runs the suite: they run
 * once, in its Node run.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
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

/** examples/workers/app.ts as an app that installed the package would write it. */
function copyExample(): void {
  const source = readFileSync(join(ROOT, "examples", "workers", "app.ts"), "utf8");
  const app = source.replace(/from "\.\.\/\.\.\/mod\.ts";.*$/m, 'from "satchel";');
  assert.notEqual(app, source, "the example imports ../../mod.ts");
  writeFileSync(join(consumer.dir, "app.ts"), app);
}
before(() => {
  if (!skip) consumer = packedConsumer();
});
after(() => consumer?.cleanup());

test("the packed package's root import names no node:* or bun:* module and no dynamic import", { skip }, () => {
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
  assert.deepEqual(problems, []);
});

test(
  'require("satchel") works from a CommonJS file on Node 24, with the zero-config SqliteStore',
  { skip },
  async () => {
    writeFileSync(
      join(consumer.dir, "count.cjs"),
      `const { Hono } = require("hono");
const { session, SqliteStore, CookieStore } = require("satchel");
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
