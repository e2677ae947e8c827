/**
 * The README's "A complete example" must run as printed: this test takes the
 * code block from README.md, points its imports at this checkout and its
 * database at a temporary file, and walks the app through `app.request()`.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { CookieJar } from "./helpers.ts";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/** The first ```ts block after the heading `## <title>`. */
function codeUnder(title: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf(`\n## ${title}\n`);
  assert.notEqual(at, -1, `README.md has no "## ${title}" section`);
  const m = /```ts\n([\s\S]*?)\n```/.exec(readme.slice(at));
  assert.ok(m, `no ts code block under "## ${title}"`);
  return m[1]!;
}

test("README.md's complete example counts, signs in with a flash shown once, fills a cart and signs out", async () => {
  const code = codeUnder("A complete example");
  assert.match(code, /from "satchel"/);
  assert.match(code, /"\.\/data\/sessions\.sqlite"/);
  // tmp/ inside the checkout (git-ignored), so "hono" resolves from node_modules.
  const dir = join(ROOT, "tmp", `readme-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "example.ts");
  writeFileSync(
    file,
    code.replace('from "satchel"', 'from "../../mod.ts"').replace(
      '"./data/sessions.sqlite"',
      JSON.stringify(join(dir, "sessions.sqlite")),
    ),
  );
  process.env.SESSION_SECRET = "readme example secret, thirty-two bytes or more";
  try {
    const { default: app } = await import(pathToFileURL(file).href) as {
      default: { request: (input: string, init?: RequestInit) => Response | Promise<Response> };
    };
    const jar = new CookieJar(app);
    const json = async (path: string, init?: RequestInit) =>
      JSON.parse(await jar.text(path, init)) as Record<string, unknown>;

    assert.deepEqual(await json("/"), { visits: 1, user: null, notice: null });
    const anonymous = jar.header();
    assert.match(anonymous, /^sid=/);

    const login = await jar.fetch("/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada" }),
    });
    assert.deepEqual(await login.json(), { ok: true });
    assert.notEqual(jar.header(), anonymous, "login regenerates the id");

    assert.deepEqual(await json("/"), { visits: 2, user: { id: "ada", name: "Ada" }, notice: "Welcome, Ada" });
    assert.deepEqual(await json("/"), { visits: 3, user: { id: "ada", name: "Ada" }, notice: null });

    assert.deepEqual(await json("/cart/tea", { method: "POST" }), { tea: 1 });
    assert.deepEqual(await json("/cart/tea", { method: "POST" }), { tea: 2 });
    assert.deepEqual(await json("/cart/cups", { method: "POST" }), { tea: 2, cups: 1 });

    assert.deepEqual(await json("/logout", { method: "POST" }), { ok: true });
    assert.equal(jar.header(), "", "logout clears the cookie");
    assert.deepEqual(await json("/"), { visits: 1, user: null, notice: null });
  } finally {
    delete process.env.SESSION_SECRET;
    rmSync(dir, { recursive: true, force: true });
  }
});
