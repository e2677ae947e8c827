/**
 * SqliteStore's files on a shared host (issue 15) and in a dev server that
 * reloads (issue 13): folder and file modes, the default folder another user
 * made first (with a second, real OS user), missing parent folders, Deno
 * without --allow-sys, and one connection per file per process.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { SqliteStore } from "../src/store/sqlite.ts";
import { tempDir } from "./helpers.ts";
import { ROOT, runArgs, runtime } from "./fixtures/worker-harness.ts";

const mode = (path: string) => statSync(path).mode & 0o777;
const OTHER_USER = "satchel-other";

/** Runs tests/fixtures/default-store.ts with `TMPDIR=tmp` on `cmd` (the runtime running the tests by default). */
function openDefault(
  tmp: string,
  cmd = process.execPath,
  args = runArgs("tests/fixtures/default-store.ts"),
): { path?: string; error?: string; message?: string } {
  const out = execFileSync(cmd, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TMPDIR: tmp, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

/** The uid and gid of a second OS user (made once with useradd), or why there is none. */
function otherUser(): { uid: number; gid: number } | string {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return "needs root on Linux to act as a second user";
  const lookup = () =>
    execFileSync("id", ["-u", OTHER_USER], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  let uid: string;
  try {
    uid = lookup();
  } catch {
    try {
      execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER], {
        stdio: "ignore",
      });
    } catch {
      // Made meanwhile by a concurrent run, or useradd is missing: the lookup says which.
    }
    try {
      uid = lookup();
    } catch {
      return "useradd could not make a second user";
    }
  }
  const gid = execFileSync("id", ["-g", OTHER_USER], { encoding: "utf8" });
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a shell script as `user`, the way another local account would. */
function asUser(user: { uid: number; gid: number }, script: string): void {
  execFileSync("setpriv", [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    "--clear-groups",
    "sh",
    "-c",
    `umask 0; ${script}`,
  ], { stdio: "inherit" });
}

/** How many of this process's file descriptors are open on `path`. */
function openHandles(path: string): number {
  const real = realpathSync(path);
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === real) n++;
    } catch {
      // Closed while listing.
    }
  }
  return n;
}

const user = otherUser();
const uid = process.getuid?.() ?? 0;

test("SqliteStore refuses a default folder that another user made first, and opens nothing in it", {
  skip: typeof user === "string" && user,
}, () => {
  const attacker = user as { uid: number; gid: number };
  const tmp = tempDir();
  try {
    chmodSync(tmp.dir, 0o1777); // a shared temp dir, as /tmp
    const dir = join(tmp.dir, `satchel-${uid}`);
    asUser(attacker, `mkdir -m 0777 '${dir}' && : > '${dir}/app.sqlite' && chmod 0666 '${dir}/app.sqlite'`);
    const result = openDefault(tmp.dir);
    assert.equal(result.error, "StoreUnavailableError", JSON.stringify(result));
    assert.match(result.message!, new RegExp(`default folder .*satchel-${uid} belongs to uid ${attacker.uid}`));
    assert.match(result.message!, /give SqliteStore a path/);
    assert.equal(statSync(join(dir, "app.sqlite")).size, 0, "the attacker's file was never written");
    assert.ok(!existsSync(join(dir, "app.sqlite-wal")));
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore refuses a database file in its own default folder that another user made", {
  skip: typeof user === "string" && user,
}, () => {
  const attacker = user as { uid: number; gid: number };
  const tmp = tempDir();
  try {
    const dir = join(tmp.dir, `satchel-${uid}`);
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    chmodSync(tmp.dir, 0o1777);
    asUser(attacker, `: > '${dir}/app.sqlite-wal' && chmod 0666 '${dir}/app.sqlite-wal'`);
    const result = openDefault(tmp.dir);
    assert.equal(result.error, "StoreUnavailableError", JSON.stringify(result));
    assert.match(result.message!, new RegExp(`app\\.sqlite-wal belongs to uid ${attacker.uid}`));
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore makes its own default folder 0700 and existing database files 0600", () => {
  const tmp = tempDir();
  try {
    const dir = join(tmp.dir, `satchel-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    for (const f of ["app.sqlite", "app.sqlite-wal", "app.sqlite-shm"]) {
      writeFileSync(join(dir, f), "");
      chmodSync(join(dir, f), 0o666);
    }
    rmSync(join(dir, "app.sqlite-wal")); // an empty -wal/-shm pair is not a valid WAL: keep only -shm and the db
    rmSync(join(dir, "app.sqlite-shm"));
    writeFileSync(join(dir, "app.sqlite-shm"), "");
    chmodSync(join(dir, "app.sqlite-shm"), 0o666);
    const result = openDefault(tmp.dir);
    assert.equal(result.path, join(dir, "app.sqlite"), JSON.stringify(result));
    assert.equal(mode(dir), 0o700);
    for (const f of ["app.sqlite", "app.sqlite-wal", "app.sqlite-shm"]) {
      if (existsSync(join(dir, f))) assert.equal(mode(join(dir, f)), 0o600, f);
    }
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore with a default folder it makes: 0700, and the database 0600", () => {
  const tmp = tempDir();
  try {
    const result = openDefault(tmp.dir);
    assert.equal(result.path, join(tmp.dir, `satchel-${uid}`, "app.sqlite"), JSON.stringify(result));
    assert.equal(mode(join(tmp.dir, `satchel-${uid}`)), 0o700);
    assert.equal(mode(result.path!), 0o600);
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore's default store runs on Deno with --allow-read --allow-write --allow-env only (no --allow-sys)", {
  skip: runtime !== "deno" && "a Deno permission test: runs when the suite runs on Deno",
}, () => {
  const tmp = tempDir();
  try {
    const deno = join(ROOT, "node_modules", ".bin", "deno");
    const args = [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--no-prompt",
      "tests/fixtures/default-store.ts",
    ];
    const result = openDefault(tmp.dir, deno, args);
    assert.equal(result.path, join(tmp.dir, `satchel-${uid}`, "app.sqlite"), JSON.stringify(result));
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore creates the missing folders of its path, with mode 0700", () => {
  const tmp = tempDir();
  try {
    const path = join(tmp.dir, "data", "nested", "sessions.sqlite");
    const store = new SqliteStore({ path });
    store.set("b".repeat(32), { payload: "p", expiresAt: Date.now() + 60_000, createdAt: Date.now() });
    store.close();
    assert.equal(mode(join(tmp.dir, "data")), 0o700);
    assert.equal(mode(join(tmp.dir, "data", "nested")), 0o700);
    assert.equal(mode(path), 0o600);
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore makes an existing database file of its path 0600", () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    writeFileSync(path, "");
    chmodSync(path, 0o644);
    new SqliteStore({ path }).close();
    assert.equal(mode(path), 0o600);
  } finally {
    tmp.cleanup();
  }
});

const procFd = process.platform === "linux" && existsSync("/proc/self/fd");

test("SqliteStore opened twice on one file in a process (a dev server's reload) holds one connection", {
  skip: !procFd && "counts handles in /proc/self/fd",
}, () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    const first = new SqliteStore({ path });
    const once = openHandles(path);
    const reloads = Array.from({ length: 5 }, () => new SqliteStore({ path }));
    assert.equal(openHandles(path), once, "every reload reuses the first store's connection");
    first.close();
    for (const store of reloads.slice(1)) store.close();
    const last = reloads[0]!;
    last.set("c".repeat(32), { payload: "p", expiresAt: Date.now() + 60_000, createdAt: Date.now() });
    assert.equal(last.get("c".repeat(32))?.payload, "p", "the connection stays open while a store uses it");
    last.close();
    assert.equal(openHandles(path), 0, "the last close closes the connection");
  } finally {
    tmp.cleanup();
  }
});

test("SqliteStore on a file deleted and made again opens a new connection, not the old file's", () => {
  const tmp = tempDir();
  try {
    const path = tmp.file("s.sqlite");
    const old = new SqliteStore({ path });
    for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
    const fresh = new SqliteStore({ path });
    fresh.set("d".repeat(32), { payload: "p", expiresAt: Date.now() + 60_000, createdAt: Date.now() });
    old.close();
    assert.equal(fresh.get("d".repeat(32))?.payload, "p");
    fresh.close();
  } finally {
    tmp.cleanup();
  }
});
