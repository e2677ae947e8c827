/**
 * The `satchel` CLI as a real child process (on the runtime running the
 * tests) against real files: the happy paths, each bad input, a sweep in
 * another process while this one serves requests on the same file, and the
 * bin/satchel.js launcher of the packed package.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { after, test } from "node:test";
import { Hono } from "hono";
import { session, type SessionEnv, SqliteStore } from "../mod.ts";
import { generateId } from "../src/id.ts";
import { openSqlite } from "../src/store/sqlite/driver.ts";
import type { StoredSession } from "../src/store/types.ts";
import { type PackedConsumer, packedConsumer } from "./fixtures/packed.ts";
import { runtime } from "./fixtures/worker-harness.ts";
import { CookieJar, SECRET, tempDir } from "./helpers.ts";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const CLI = join(ROOT, "src", "store", "sqlite", "cli.ts");
const NODE24 = join(ROOT, "node_modules", ".bin", "node");

/** The command line that runs the CLI on this runtime. */
function cliCommand(args: string[]): [string, string[]] {
  const runtimeArgs = process.versions.deno ? ["run", "--allow-read", "--allow-write", CLI] : [CLI];
  return [process.execPath, [...runtimeArgs, ...args]];
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `satchel <args>` to its end. */
function satchel(args: string[], cwd = ROOT): Promise<Result> {
  const [cmd, argv] = cliCommand(args);
  return run(cmd, argv, cwd);
}

function run(cmd: string, argv: string[], cwd = ROOT, env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(cmd, argv, {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((done) =>
    child.once("close", (code) => {
      clearTimeout(killer);
      done({ code, stdout, stderr });
    })
  );
}

const HOUR = 3600_000;

/** A Satchel file with `expired` expired and `live` live sessions; returns the live ids. */
function makeDatabase(
  path: string,
  expired: number,
  live: number,
  payload = (i: number) => `{"json":{"d":{"i":${i}}}}`,
): string[] {
  const store = new SqliteStore({ path });
  const now = Date.now();
  const rows: [string, StoredSession][] = [];
  const liveIds: string[] = [];
  for (let i = 0; i < expired; i++) {
    rows.push([generateId(), { payload: "{}", expiresAt: now - HOUR + i, createdAt: now - 2 * HOUR }]);
  }
  for (let i = 0; i < live; i++) {
    const id = generateId();
    liveIds.push(id);
    rows.push([id, { payload: payload(i), expiresAt: now + HOUR, createdAt: now - i * 1000 }]);
  }
  store.setMany(rows.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  store.close();
  return liveIds;
}

function count(path: string, where = "1"): number {
  const db = openSqlite(path, { readonly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return Number(Object.values(db.prepare(`SELECT count(*) FROM satchel_sessions WHERE ${where}`).get()!)[0]);
  } finally {
    db.close();
  }
}

test("satchel --help prints the usage and exits 0", async () => {
  const argsList = [["--help"], ["-h"], ["help"], ["sweep", "--help"]];
  const results = await Promise.all(argsList.map((args) => satchel(args)));
  for (const [i, r] of results.entries()) {
    assert.equal(r.code, 0, argsList[i]!.join(" "));
    assert.match(r.stdout, /^Usage: satchel <command> FILE \[options\]\n/);
    assert.match(r.stdout, /sweep .*\n[\s\S]*stats /);
    assert.equal(r.stderr, "");
  }
});

test("satchel answers bad usage with a message, the usage, and exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [[], /no command given/],
    [["vacuum", "--db", "x"], /unknown command "vacuum"/],
    [["sweep"], /sweep needs the database FILE/],
    [["stats", "--db"], /--db/],
    [["sweep", "--db", "x", "--frobnicate"], /Unknown option '--frobnicate'/i],
    [["sweep", "--db", "x", "--batch", "0"], /--batch must be an integer from 1 to 1000000: received "0"/],
    [["sweep", "--db", "x", "--batch", "ten"], /--batch must be an integer/],
    [["stats", "--db", "x", "--batch", "5"], /--batch is an option of sweep/],
    [["sweep", "--db", "x", "--yes"], /--yes is an option of clear/],
    [
      ["sweep", "--db", "x", "--table", "a;drop"],
      /--table must be a letter or "_", then letters, digits or "_", at most 63 characters/,
    ],
    [
      ["sweep", "--db", "x", "--table", "sqlite_x"],
      /--table names sqlite and sqlite_… are reserved/,
    ],
    [["sweep", "a.sqlite", "extra"], /unexpected argument "extra"/],
  ];
  const results = await Promise.all(cases.map(([args]) => satchel(args)));
  for (const [i, [args, message]] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.match(r.stderr, /Usage: satchel/);
    assert.equal(r.stdout, "");
  }
});

test("satchel sweep deletes only expired sessions and prints a one-line summary, no progress when stdout is not a terminal", async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    const live = makeDatabase(path, 2500, 300);
    const r = await satchel(["sweep", "--db", path, "--batch", "1000"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(
      r.stdout,
      /^swept 2,500 expired sessions from .*s\.sqlite in [\d.]+ m?s \(3 batches of up to 1,000, [\d,]+ rows\/s, longest batch [\d.]+ m?s\)\n$/,
    );
    assert.ok(!r.stdout.includes("\r"), "no progress line in a pipe");
    assert.equal(count(path), 300);
    const store = new SqliteStore({ path });
    for (const [i, id] of live.entries()) assert.equal(store.get(id)?.payload, `{"json":{"d":{"i":${i}}}}`);
    store.close();
    const again = await satchel(["sweep", "--db", path]);
    assert.match(again.stdout, /^swept 0 expired sessions /);
  } finally {
    tmp.cleanup();
  }
});

test("satchel sweep --json prints one JSON object", async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 250, 10);
    const r = await satchel(["sweep", "--db", path, "--batch", "100", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.deepEqual(
      {
        removed: result.removed,
        batches: result.batches,
        batchSize: result.batchSize,
        table: result.table,
        file: result.file,
      },
      { removed: 250, batches: 3, batchSize: 100, table: "satchel_sessions", file: path },
    );
    assert.ok(result.ms > 0 && result.longestBatchMs > 0 && result.rowsPerSecond > 0);
  } finally {
    tmp.cleanup();
  }
});

const hasScript = spawnSync("script", ["--version"]).status === 0;

test("satchel sweep shows batches, rows and rate while it runs on a terminal", {
  skip: hasScript ? false : "needs script(1) for a pseudo-terminal",
}, async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 20_000, 10);
    const [cmd, argv] = cliCommand(["sweep", "--db", path, "--batch", "50"]);
    const line = [cmd, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    // script(1) gives the child a pseudo-terminal as its stdout.
    const r = await run("script", ["-q", "-e", "-c", line, "/dev/null"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The progress line is redrawn with "\r" + ESC [2K (erase the line), a control character on purpose.
    // deno-lint-ignore no-control-regex
    assert.match(r.stdout, /\r\x1b\[2Ksweeping: [\d,]+ batches, [\d,]+ rows, [\d,]+ rows\/s/);
    assert.match(
      r.stdout,
      // deno-lint-ignore no-control-regex
      /\r\x1b\[2Kswept 20,000 expired sessions /,
      "the progress line is cleared before the summary",
    );
    assert.equal(count(path), 10);
  } finally {
    tmp.cleanup();
  }
});

test("satchel clear without a terminal and without --yes refuses, says to pass --yes, and ends nothing", async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 2, 5);
    const r = await satchel(["clear", path]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^satchel: Cannot clear .*: it ends every session, and there is no terminal to ask .*; pass --yes to confirm\n$/,
    );
    assert.equal(r.stdout, "");
    assert.equal(count(path), 7);
  } finally {
    tmp.cleanup();
  }
});

test("satchel clear --yes ends every session: a signed-in client is anonymous on its next request", async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 3, 40);
    const store = new SqliteStore({ path });
    const app = new Hono<SessionEnv<{ user: string }>>();
    app.use(session({ secret: SECRET, store }));
    app.get("/login", (c) => (c.get("session").set("user", "alice"), c.text("ok")));
    app.get("/whoami", (c) => c.text(c.get("session").get("user") ?? "anonymous"));
    const jar = new CookieJar(app);
    await jar.text("/login");
    assert.equal(await jar.text("/whoami"), "alice");
    const r = await satchel(["clear", "--yes", path]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `ended 41 sessions in ${path}; every user must sign in again\n`);
    assert.equal(count(path), 0, "expired rows go too");
    assert.equal(await jar.text("/whoami"), "anonymous");
    store.close();
    makeDatabase(path, 0, 2);
    const json = await satchel(["clear", "--yes", "--json", "--db", path]);
    assert.deepEqual(JSON.parse(json.stdout), { file: path, table: "satchel_sessions", ended: 2 });
  } finally {
    tmp.cleanup();
  }
});

test('satchel clear asks on a terminal and ends every session only after "yes"', {
  skip: hasScript ? false : "needs script(1) for a pseudo-terminal",
}, async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 0, 12);
    const onTerminal = (answer: string) => {
      const [cmd, argv] = cliCommand(["clear", path]);
      const line = [cmd, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
      // script(1) gives the child a pseudo-terminal; the answer is typed into it.
      return run("sh", ["-c", `(printf '${answer}\\n'; sleep 1) | script -q -e -c "$0" /dev/null`, line]);
    };
    const no = await onTerminal("no");
    assert.equal(no.code, 1, no.stdout + no.stderr);
    assert.match(
      no.stdout,
      /End all 12 live sessions in .* \(table satchel_sessions\)\? Every user will have to sign in again\. Type "yes" to confirm: /,
    );
    assert.match(no.stdout, /Did not clear .*: not confirmed; nothing ended/);
    assert.equal(count(path), 12);
    const yes = await onTerminal("yes");
    assert.equal(yes.code, 0, yes.stdout + yes.stderr);
    assert.match(yes.stdout, /ended 12 sessions in /);
    assert.equal(count(path), 0);
  } finally {
    tmp.cleanup();
  }
});

test("satchel stats reports live and expired sessions, oldest and newest, payload sizes and file sizes", async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 7, 100, (i) => "é".repeat(i + 1)); // i + 1 characters, 2 bytes each
    const before = readFileSync(path);
    const r = await satchel(["stats", "--db", path, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.live, 100);
    assert.equal(s.expired, 7);
    assert.deepEqual(s.payloadBytes, { total: 2 * 5050, p50: 100, p99: 198 });
    const oldest = Date.parse(s.oldest);
    const newest = Date.parse(s.newest);
    assert.ok(Math.abs(newest - oldest - 99_000) < 10, `oldest ${s.oldest} newest ${s.newest}`);
    assert.ok(Math.abs(Date.now() - newest) < 60_000);
    assert.equal(s.databaseBytes, statSync(path).size);
    assert.equal(typeof s.walBytes, "number");
    assert.ok(readFileSync(path).equals(before), "stats writes nothing");

    const text = await satchel(["stats", "--db", path]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /live sessions +100\n/);
    assert.match(text.stdout, /expired, not swept +7 /);
    assert.match(text.stdout, /payload bytes +total 9\.86 KiB, p50 100 B, p99 198 B\n/);
    assert.match(text.stdout, /oldest live session +\d{4}-\d\d-\d\dT.*ago\)/);
    assert.match(text.stdout, /WAL file +/);
  } finally {
    tmp.cleanup();
  }
});

test("satchel stats of an empty Satchel database says so", async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    new SqliteStore({ path }).close();
    const r = await satchel(["stats", "--db", path, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.deepEqual([s.live, s.expired, s.oldest, s.newest, s.payloadBytes], [0, 0, null, null, {
      total: 0,
      p50: null,
      p99: null,
    }]);
  } finally {
    tmp.cleanup();
  }
});

test("satchel takes the database file as the argument after the command, as well as --db", async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 4, 3);
    const stats = await satchel(["stats", path, "--json"]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.deepEqual([JSON.parse(stats.stdout).live, JSON.parse(stats.stdout).expired], [3, 4]);
    const swept = await satchel(["sweep", "--json", path]);
    assert.equal(swept.code, 0, swept.stderr);
    assert.equal(JSON.parse(swept.stdout).removed, 4);
    const both = await satchel(["stats", path, "--db", path]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^satchel: give the database file once, as an argument or with --db\n/);
  } finally {
    tmp.cleanup();
  }
});

/** The files of a directory, to prove a refused command created nothing. */
const listing = (dir: string) => readdirSync(dir).sort();

test("satchel refuses a missing file with exit 1 and creates nothing", async () => {
  const tmp = tempDir();
  try {
    for (const command of ["sweep", "stats"]) {
      for (const path of [tmp.file("nope.sqlite"), tmp.file("no-dir/nope.sqlite")]) {
        const r = await satchel([command, "--db", path]);
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          `satchel: Cannot ${
            command === "sweep" ? "sweep" : "read"
          } ${path}: no such file; check the path (satchel never creates a database)\n`,
        );
        assert.deepEqual(listing(tmp.dir), []);
      }
    }
  } finally {
    tmp.cleanup();
  }
});

test("satchel refuses a directory, an empty file and a file that is not SQLite, and changes none of them", async () => {
  const tmp = tempDir();
  try {
    const dir = tmp.file("a-dir");
    mkdirSync(dir);
    const empty = tmp.file("empty.sqlite");
    writeFileSync(empty, "");
    const text = tmp.file("notes.txt");
    writeFileSync(text, "not a database, just some text that is long enough to have a header\n".repeat(20));
    const cases: [string, RegExp][] = [
      [dir, /it is a directory; give the database file itself/],
      [empty, /the file is empty, not a Satchel database/],
      [text, /not an SQLite database \(the file does not start with the SQLite header\)/],
    ];
    for (const command of ["sweep", "stats"]) {
      for (const [path, message] of cases) {
        const r = await satchel([command, "--db", path]);
        assert.equal(r.code, 1, `${command} ${path}`);
        assert.match(r.stderr, message);
        assert.match(r.stderr, /^satchel: Cannot (sweep|read) /);
      }
    }
    assert.equal(readFileSync(empty, "utf8"), "");
    assert.match(readFileSync(text, "utf8"), /^not a database/);
    assert.deepEqual(listing(tmp.dir), ["a-dir", "empty.sqlite", "notes.txt"]);
  } finally {
    tmp.cleanup();
  }
});

test("satchel refuses an SQLite file that is not Satchel's, and a Satchel file without the table, and adds nothing to either", async () => {
  const tmp = tempDir();
  try {
    const other = tmp.file("other.sqlite");
    const db = openSqlite(other);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me');");
    db.close();
    for (const command of ["sweep", "stats"]) {
      const r = await satchel([command, "--db", other]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /not a Satchel database \(PRAGMA application_id is 0x00000000, Satchel's is 0x53415443\); check the path\n$/,
      );
    }
    const check = openSqlite(other, { readonly: true });
    const tables = check.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) => r.name);
    const appId = Object.values(check.prepare("PRAGMA application_id").get()!)[0];
    check.close();
    assert.deepEqual([tables, appId], [["notes"], 0], "no table and no mark added to a foreign file");

    const ours = tmp.file("ours.sqlite");
    makeDatabase(ours, 3, 3);
    const r = await satchel(["sweep", "--db", ours, "--table", "sessions"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /it has no table "sessions" \(tables: satchel_sessions\); pass --table NAME\n$/);
    assert.equal(count(ours), 6);
  } finally {
    tmp.cleanup();
  }
});

const isRoot = process.getuid?.() === 0;

test("satchel refuses a file it may not read", { skip: isRoot ? "root reads every file" : false }, async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 1, 1);
    chmodSync(path, 0o000);
    for (const command of ["sweep", "stats"]) {
      const r = await satchel([command, "--db", path]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /permission denied/);
    }
  } finally {
    chmodSync(tmp.file("s.sqlite"), 0o600);
    tmp.cleanup();
  }
});

test("satchel sweep in another process while this one serves requests on the same file: every live session stays readable", async () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    const EXPIRED = 20_000;
    makeDatabase(path, EXPIRED, 0);
    const store = new SqliteStore({ path });
    const app = new Hono<SessionEnv<{ count: number }>>();
    app.use(session({ secret: SECRET, store }));
    app.get("/inc", (c) => c.text(String(c.get("session").update("count", (n) => (n ?? 0) + 1))));
    app.get("/read", (c) => c.text(String(c.get("session").get("count") ?? "none")));
    const jars = Array.from({ length: 20 }, () => new CookieJar(app));
    const expected = jars.map(() => 0);
    for (const [i, jar] of jars.entries()) expected[i] = Number(await jar.text("/inc"));

    const [cmd, argv] = cliCommand(["sweep", "--db", path, "--batch", "100", "--json"]);
    const sweeper = run(cmd, argv);
    let finished = false;
    void sweeper.then(() => (finished = true));
    const expiredSeen = new Set<number>();
    let rounds = 0;
    while (!finished) {
      await new Promise((r) => setTimeout(r, 5));
      for (const [i, jar] of jars.entries()) {
        if (rounds % 3 === 0) expected[i] = Number(await jar.text("/inc"));
        assert.equal(await jar.text("/read"), String(expected[i]));
      }
      expiredSeen.add(count(path, `expires_at <= ${Date.now()}`));
      rounds++;
    }
    const r = await sweeper;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).removed, EXPIRED);
    assert.ok(
      [...expiredSeen].some((n) => n > 0 && n < EXPIRED),
      `requests ran while the sweep was half done: ${[...expiredSeen].slice(0, 5)}`,
    );
    for (const [i, jar] of jars.entries()) assert.equal(await jar.text("/read"), String(expected[i]));
    assert.equal(count(path), jars.length);
    store.close();
  } finally {
    tmp.cleanup();
  }
});

// The launcher is tested where users meet it: in the packed package (dist/ only, no src/). Packing builds
// dist/, and what runs is the same whatever runtime runs the suite: once, in its Node run.
const packSkip = runtime !== "node" &&
  "packs the package and runs Node 24, Bun and Deno as child processes: once, in the suite's Node run";
let packed: PackedConsumer | undefined;
after(() => packed?.cleanup());

/** bin/satchel.js of the packed package, installed into a scratch project (packed once for this file). */
function installedLauncher(): string {
  if (packed === undefined) {
    packed = packedConsumer();
    // As in a project that installed it: Deno resolves the package's own imports (hono) through this.
    writeFileSync(
      join(packed.dir, "package.json"),
      JSON.stringify({ private: true, type: "module", dependencies: { satchel: "*", hono: "*" } }),
    );
  }
  return join(packed.dir, "node_modules", "satchel", "bin", "satchel.js");
}

/** A Node older than 24 on this machine (the system's node, on PATH or in /usr), or undefined. */
function oldNode(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/bin", "/usr/bin"];
  return dirs.map((dir) => join(dir, "node")).find((p) => {
    if (!existsSync(p)) return false;
    const v = spawnSync(p, ["--version"], { encoding: "utf8" }).stdout?.trim();
    return v !== undefined && /^v(1\d|2[0-3])\./.test(v);
  });
}

test("bin/satchel.js is an executable plain-JavaScript entry with a node shebang", () => {
  const launcher = join(ROOT, "bin", "satchel.js");
  assert.match(readFileSync(launcher, "utf8"), /^#!\/usr\/bin\/env node\n/);
  assert.ok((statSync(launcher).mode & 0o111) !== 0, "the launcher is executable");
});

test(
  "bin/satchel.js of the packed package runs the compiled CLI on Node 24, Bun and Deno: --help, stats FILE, sweep --db FILE",
  { skip: packSkip, timeout: 120_000 },
  async () => {
    const launcher = installedLauncher();
    assert.ok(packed!.files.includes("dist/src/store/sqlite/cli.js"), "the compiled CLI ships");
    assert.ok(!packed!.files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "no TypeScript source ships");
    const tmp = tempDir();
    try {
      const runtimes: [string, string, string[]][] = [
        ["node 24", NODE24, []],
        ["bun", join(ROOT, "node_modules", ".bin", "bun"), []],
        ["deno", join(ROOT, "node_modules", ".bin", "deno"), ["run", "--allow-read", "--allow-write"]],
      ];
      for (const [name, cmd, pre] of runtimes) {
        const path = tmp.file(`${name.replace(" ", "")}.sqlite`);
        makeDatabase(path, 5, 2);
        const help = await run(cmd, [...pre, launcher, "--help"], packed!.dir);
        assert.equal(help.code, 0, `${name}: ${help.stderr}`);
        assert.match(help.stdout, /^Usage: satchel <command> FILE/, name);
        const stats = await run(cmd, [...pre, launcher, "stats", path, "--json"], packed!.dir);
        assert.equal(stats.code, 0, `${name}: ${stats.stderr}`);
        assert.equal(JSON.parse(stats.stdout).live, 2, name);
        const swept = await run(cmd, [...pre, launcher, "sweep", "--db", path, "--json"], packed!.dir);
        assert.equal(swept.code, 0, `${name}: ${swept.stderr}`);
        assert.equal(JSON.parse(swept.stdout).removed, 5, name);
        const bad = await run(cmd, [...pre, launcher, "frobnicate"], packed!.dir);
        assert.equal(bad.code, 2, name);
        assert.match(bad.stderr, /^satchel: unknown command "frobnicate"/, name);
      }
    } finally {
      tmp.cleanup();
    }
  },
);

const old = runtime === "node" ? oldNode() : undefined;

test("bin/satchel.js of the packed package on Node older than 24 says what it needs, and still prints the help", {
  skip: packSkip || (old === undefined && "needs a Node older than 24 on this machine"),
  timeout: 120_000,
}, async () => {
  const launcher = installedLauncher();
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    makeDatabase(path, 1, 1);
    const version = spawnSync(old!, ["--version"], { encoding: "utf8" }).stdout.trim();
    const refused = await run(old!, [launcher, "stats", path], packed!.dir);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, "");
    assert.match(
      refused.stderr,
      new RegExp(
        `^satchel: Cannot start: satchel needs Node 24 or newer \\(node:sqlite\\); you have ${
          version.replaceAll(".", "\\.")
        }\\. .*bun.*deno`,
      ),
    );
    for (const args of [["--help"], ["sweep", "-h"], ["help"]]) {
      const help = await run(old!, [launcher, ...args], packed!.dir);
      assert.equal(help.code, 0, `${args.join(" ")}: ${help.stderr}`);
      assert.match(help.stdout, /^Usage: satchel <command> FILE/);
    }
  } finally {
    tmp.cleanup();
  }
});
