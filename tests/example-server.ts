/**
 * Starts an example app as a real OS process on the runtime running the
 * tests (bun, deno or node), on a free loopback port, and talks to it over
 * real HTTP with a cookie jar. Shared by tests/examples.test.ts and
 * tests/browser.test.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

/** Which runtime runs this process. */
export const runtime: "bun" | "deno" | "node" = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

/** A running example. */
export interface ExampleServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`, no trailing slash. */
  origin: string;
  /** The directory the child sees as its OS temp dir (where the default SQLite file goes). */
  tmp: string;
  /** What the child printed so far. */
  output(): string;
  /**
   * SIGTERM, wait for the exit, remove the temp dir. Resolves to whether the
   * app shut down cleanly (it printed its "stopped" line). Not the exit code:
   * Deno's node:child_process reports a child it sent SIGTERM to as killed
   * by that signal even when the child handled it and exited 0.
   */
  stop(): Promise<boolean>;
}

/**
 * Start `examples/<file>` with `PORT=0` and wait for its "Listening on" line.
 * @throws when it does not start within `timeoutMs` (with what it printed).
 */
export async function startExample(
  file: string,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<ExampleServer> {
  const tmp = mkdtempSync(join(tmpdir(), "satchel-example-"));
  const script = join(ROOT, "examples", file);
  const args = runtime === "deno" ? ["run", "-A", script] : [script];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      TMPDIR: tmp,
      SATCHEL_SECRET: "example smoke test secret, 32 bytes or more",
      NO_COLOR: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => (out += d));
  child.stderr!.on("data", (d: string) => (out += d));
  // "close" comes after the child's output is fully read, unlike "exit".
  const exited = new Promise<number | null>((done) => child.once("close", (code) => done(code)));

  const origin = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`examples/${file} did not start in ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const check = () => {
      const m = /Listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`examples/${file} exited with ${code} before listening:\n${out}`));
    });
  }).catch((e) => {
    child.kill("SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  });

  return {
    origin,
    tmp,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(tmp, { recursive: true, force: true });
      return /: stopped$/m.test(out);
    },
  };
}

/** A minimal cookie jar over real HTTP: keeps `name=value` pairs, follows no redirect by itself. */
export class HttpJar {
  readonly origin: string;
  readonly cookies = new Map<string, string>();
  /** The raw Set-Cookie lines of the last response. */
  lastSetCookie: string[] = [];
  constructor(origin: string) {
    this.origin = origin;
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(this.origin + path, { ...init, headers, redirect: "manual" });
    this.lastSetCookie = res.headers.getSetCookie();
    for (const line of this.lastSetCookie) {
      const pair = line.split(";")[0]!;
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /;\s*max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** GET and read the body. */
  async text(path: string): Promise<string> {
    return await (await this.fetch(path)).text();
  }

  /** POST a form the way a same-origin browser page does (with its Origin header). */
  async postForm(path: string, fields: Record<string, string> = {}): Promise<Response> {
    return await this.fetch(path, {
      method: "POST",
      headers: { origin: this.origin, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  }
}
