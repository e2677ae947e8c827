/**
 * Turns one run of bench/http.sh (its results.tsv) into bench/chart.svg (a bar
 * chart of requests/s per scenario per app) and the tables of
 * bench/RESULTS.md, between the `<!-- http:start -->` and `<!-- http:end -->`
 * markers: the numbers, then the ratios against the targets of issue 6.
 * With `--redis`, issue 23's table instead (RedisStore on each runtime
 * against `@hono/session` on Redis), between `<!-- redis:start -->` and
 * `<!-- redis:end -->` (bench/redis.sh runs it).
 *
 *   bun bench/chart.ts bench/results/latest/results.tsv           (writes)
 *   bun bench/chart.ts --print bench/results/latest/results.tsv   (prints only)
 *   bun bench/chart.ts --postgres bench/results/latest/results.tsv
 *     (bench/postgres.sh: only the PostgresStore section, between `<!-- postgres:start -->`
 *     and `<!-- postgres:end -->`, with the targets of issue 21)
 *   bun bench/chart.ts --redis [--print] bench/results/latest/results.tsv
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROUTES = ["plain", "signed", "read", "inc", "new"] as const;
type Route = (typeof ROUTES)[number];

export interface Row {
  app: string;
  runtime: string;
  route: Route;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  served?: number;
  sum?: number;
  lost?: number;
  /** Server CPU time (user + system) per request, in µs. */
  cpu?: number;
}

export interface Run {
  meta: Record<string, string>;
  rows: Row[];
}

export function parseTsv(text: string): Run {
  const meta: Record<string, string> = {};
  const rows: Row[] = [];
  let header: string[] | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("# ")) {
      const [k, ...v] = line.slice(2).split("\t");
      meta[k!] = v.join("\t");
      continue;
    }
    const cells = line.split("\t");
    if (header === undefined) {
      header = cells;
      continue;
    }
    const get = (name: string) => cells[header!.indexOf(name)] ?? "";
    const num = (
      name: string,
    ) => (get(name) === "" ? undefined : Number(get(name)));
    rows.push({
      app: get("app"),
      runtime: get("runtime"),
      route: get("route") as Route,
      rps: num("rps")!,
      p50: num("p50_us")!,
      p99: num("p99_us")!,
      non2xx: num("non2xx")!,
      errors: num("errors")!,
      served: num("served"),
      sum: num("sum"),
      lost: num("lost"),
      cpu: num("cpu_us"),
    });
  }
  return { meta, rows: best(rows) };
}

/**
 * One row per app, runtime and route: with several rounds, the round with
 * the most requests per second; lost updates and answered requests are
 * summed over every round, so a loss in any round shows.
 */
function best(rows: Row[]): Row[] {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const key = `${r.app}|${r.runtime}|${r.route}`;
    const prev = out.get(key);
    if (prev === undefined) {
      out.set(key, r);
      continue;
    }
    const lost = prev.lost === undefined || r.lost === undefined ? undefined : prev.lost + r.lost;
    const served = (prev.served ?? 0) + (r.served ?? 0);
    out.set(key, { ...(r.rps > prev.rps ? r : prev), lost, served });
  }
  return [...out.values()];
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const pct = (n: number) => `${Math.round(n * 100)}%`;

function scenarios(rows: Row[]): { app: string; runtime: string }[] {
  const seen = new Map<string, { app: string; runtime: string }>();
  for (const r of rows) {
    seen.set(`${r.app}|${r.runtime}`, { app: r.app, runtime: r.runtime });
  }
  return [...seen.values()];
}

function find(
  rows: Row[],
  app: string,
  runtime: string,
  route: Route,
): Row | undefined {
  return rows.find((r) => r.app === app && r.runtime === runtime && r.route === route);
}

function color(app: string): string {
  if (app.startsWith("bare")) return "#9ca3af";
  if (app.startsWith("Satchel")) {
    return app.includes(", no ") ? "#93c5fd" : "#2563eb";
  }
  return "#f59e0b";
}

/** A horizontal bar chart, one panel per route, one bar per app and runtime. */
export function svg(run: Run): string {
  const list = scenarios(run.rows);
  const max = Math.max(...run.rows.map((r) => r.rps), 1);
  const labelW = 300,
    barW = 520,
    valueW = 90,
    rowH = 18,
    gap = 4,
    panelGap = 26,
    top = 56;
  const width = labelW + barW + valueW + 20;
  let y = top;
  const parts: string[] = [];
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  for (const route of ROUTES) {
    const rows = list.map((s) => find(run.rows, s.app, s.runtime, route))
      .filter((r): r is Row => r !== undefined);
    if (rows.length === 0) continue;
    parts.push(
      `<text x="10" y="${y + 12}" font-weight="bold">GET /${route}</text>`,
    );
    y += rowH + gap;
    for (const r of rows) {
      const w = Math.max(1, (r.rps / max) * barW);
      parts.push(
        `<text x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(`${r.app} · ${r.runtime}`)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${rowH}" fill="${color(r.app)}"/>`,
        `<text x="${labelW + w + 6}" y="${y + 13}">${fmt(r.rps)}</text>`,
      );
      y += rowH + gap;
    }
    y += panelGap - gap;
  }
  const title = `Requests per second (higher is better) — ${run.meta.load ?? ""}, ${run.meta.date ?? ""}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" viewBox="0 0 ${width} ${
      y + 10
    }" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="40" fill="#555">${esc(`${run.meta.machine ?? ""}; ${run.meta.runtimes ?? ""}`)}</text>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}

/** The results table: one line per app and runtime, req/s (p99) per route. */
export function table(run: Run): string {
  const out = [
    "| app | runtime | /plain | /plain signed in | /read | /inc | /new | lost updates on /inc |",
    "|---|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const s of scenarios(run.rows)) {
    const cells = ROUTES.map((route) => {
      const r = find(run.rows, s.app, s.runtime, route);
      if (r === undefined) return "–";
      const bad = r.non2xx + r.errors > 0 ? ` ⚠ ${r.non2xx} non-2xx, ${r.errors} socket errors` : "";
      const cpu = r.cpu === undefined ? "" : `, cpu ${Math.round(r.cpu)} µs`;
      return `${fmt(r.rps)} <sub>p50 ${(r.p50 / 1000).toFixed(2)} / p99 ${
        (r.p99 / 1000).toFixed(1)
      } ms${cpu}</sub>${bad}`;
    });
    const inc = find(run.rows, s.app, s.runtime, "inc");
    const lost = inc?.lost === undefined ? "–" : `${inc.lost} (of ${fmt(inc.served ?? 0)})`;
    out.push(`| ${s.app} | ${s.runtime} | ${cells.join(" | ")} | ${lost} |`);
  }
  return out.join("\n");
}

/** Ratios against the targets of issue 6, measured within this run. */
export function ratios(run: Run): string {
  const out = [
    "| target | measured: requests/s | from server CPU time per request | |",
    "|---|---|---|---|",
  ];
  const show = (
    x: number,
    multiple: boolean,
  ) => (multiple ? `${x.toFixed(2)}×` : pct(x));
  const check = (
    name: string,
    r: Row,
    base: Row,
    goal: number,
    multiple = false,
    note = "",
  ) => {
    const value = r.rps / base.rps;
    const byCpu = r.cpu && base.cpu
      ? show(base.cpu / r.cpu, multiple) +
        ` (${Math.round(r.cpu)} vs ${Math.round(base.cpu)} µs)`
      : "–";
    const miss = value >= goal
      ? "met"
      : `**missed** by ${multiple ? `${(goal - value).toFixed(2)}×` : `${Math.round((goal - value) * 100)} points`}`;
    out.push(
      `| ${name} ≥ ${show(goal, multiple)} | ${show(value, multiple)} (${fmt(r.rps)} / ${
        fmt(base.rps)
      }${note}) | ${byCpu} | ${miss} |`,
    );
  };
  for (const runtime of ["Bun", "Deno"]) {
    const bare = find(run.rows, "bare Hono", runtime, "plain");
    if (bare === undefined) continue;
    const empty = find(
      run.rows,
      "bare Hono + empty middleware",
      runtime,
      "plain",
    );
    if (empty !== undefined) {
      // Not a target: what one empty `async (c, next) => { await next() }` costs, the floor under any middleware's /plain.
      const byCpu = empty.cpu && bare.cpu
        ? `${pct(bare.cpu / empty.cpu)} (${Math.round(empty.cpu)} vs ${Math.round(bare.cpu)} µs)`
        : "–";
      out.push(
        `| (the floor, not a target) one empty middleware · ${runtime} /plain vs bare Hono /plain | ${
          pct(empty.rps / bare.rps)
        } (${fmt(empty.rps)} / ${fmt(bare.rps)}) | ${byCpu} | – |`,
      );
    }
    const apps = scenarios(run.rows).filter((s) =>
      s.runtime === runtime && s.app.startsWith("Satchel") &&
      !s.app.includes(", no ") &&
      !s.app.endsWith("(baseline)") && !s.app.includes("PostgresStore") // its targets are issue 21's: postgresRatios
    );
    for (const app of apps.map((s) => s.app)) {
      const goals: [Route, number][] = [["plain", 0.95], ["read", 0.6], [
        "inc",
        0.35,
      ], ["new", 0.35]];
      for (const [route, goal] of goals) {
        const r = find(run.rows, app, runtime, route);
        if (r !== undefined) {
          check(
            `${app} · ${runtime} /${route} vs bare Hono /plain`,
            r,
            bare,
            goal,
          );
        }
      }
      // Issue 12: lazy sessions. A route that never touches the session, with and without a session cookie.
      if (empty !== undefined) {
        for (const route of ["plain", "signed"] as const) {
          const r = find(run.rows, app, runtime, route);
          const label = route === "signed" ? "/plain signed in" : "/plain";
          if (r !== undefined) {
            check(
              `${app} · ${runtime} ${label} vs Hono + one empty middleware /plain`,
              r,
              empty,
              0.9,
            );
          }
        }
      }
      // Against the same app from another checkout (BASELINE=… bash bench/http.sh), measured in this run.
      for (const route of ["read", "inc", "new"] as const) {
        const r = find(run.rows, app, runtime, route);
        const before = find(run.rows, `${app} (baseline)`, runtime, route);
        if (r !== undefined && before !== undefined) {
          check(
            `${app} · ${runtime} /${route} vs the baseline checkout`,
            r,
            before,
            1,
            true,
          );
        }
      }
      const peer = find(run.rows, "@hono/session", runtime, "signed") ??
        find(run.rows, "@hono/session", "Bun", "signed");
      const mine = find(run.rows, app, runtime, "signed");
      if (peer !== undefined && mine !== undefined) {
        check(
          `${app} · ${runtime} /plain signed in vs @hono/session (Bun)`,
          mine,
          peer,
          1,
          true,
        );
      }
    }
  }
  const peers = run.rows.filter((r) =>
    r.runtime === "Bun" && r.route === "inc" && !r.app.startsWith("Satchel") &&
    !r.app.startsWith("bare")
  );
  const fastest = peers.sort((a, b) => b.rps - a.rps)[0];
  if (fastest !== undefined) {
    for (
      const app of [
        "Satchel SqliteStore",
        "Satchel MemoryStore",
        "Satchel RedisStore",
      ]
    ) {
      const r = find(run.rows, app, "Bun", "inc");
      if (r !== undefined) {
        check(
          `${app} · Bun /inc vs the fastest peer on Bun`,
          r,
          fastest,
          2,
          true,
          `, ${fastest.app}`,
        );
      }
    }
  }
  for (
    const r of run.rows.filter((r) => r.route === "inc" && r.app.startsWith("Satchel"))
  ) {
    out.push(
      `| ${r.app} · ${r.runtime} /inc: zero lost updates | ${r.lost ?? "unknown"} lost of ${
        fmt(r.served ?? 0)
      } answered 200 | | ${r.lost === 0 ? "met" : "**missed**"} |`,
    );
  }
  return out.join("\n");
}

/** The PostgresStore's targets of issue 21, measured within this run. */
export function postgresRatios(run: Run): string {
  const out = [
    "| target | measured: requests/s | server CPU time per request | |",
    "|---|---|---|---|",
  ];
  const check = (
    name: string,
    r: Row | undefined,
    base: Row | undefined,
    goal: number,
  ) => {
    if (r === undefined || base === undefined) return;
    const value = r.rps / base.rps;
    const cpu = r.cpu && base.cpu ? `${Math.round(r.cpu)} vs ${Math.round(base.cpu)} µs` : "–";
    const verdict = value >= goal ? "met" : `**missed** by ${(goal - value).toFixed(2)}×`;
    out.push(
      `| ${name} ≥ ${goal}× | ${value.toFixed(2)}× (${fmt(r.rps)} / ${fmt(base.rps)}) | ${cpu} | ${verdict} |`,
    );
  };
  const app = "Satchel PostgresStore";
  const peerApp = "express-session + connect-pg-simple";
  const minimum = "hand-written minimum (Postgres)";
  for (const runtime of ["Bun", "Deno", "Node"]) {
    for (const route of ["read", "inc"] as const) {
      const r = find(run.rows, app, runtime, route);
      check(
        `${runtime} /${route} vs ${peerApp} (Node)`,
        r,
        find(run.rows, peerApp, "Node", route),
        2,
      );
      check(
        `${runtime} /${route} vs the ${minimum}, same runtime and driver`,
        r,
        find(run.rows, minimum, runtime, route),
        0.9,
      );
    }
    const plain = find(run.rows, app, runtime, "plain");
    const signed = find(run.rows, app, runtime, "signed");
    if (plain && signed) {
      out.push(
        `| (not a target) ${runtime} /plain signed in vs /plain without a cookie | ${
          (signed.rps / plain.rps).toFixed(2)
        }× (${fmt(signed.rps)} / ${fmt(plain.rps)}) | ${Math.round(signed.cpu ?? 0)} vs ${
          Math.round(plain.cpu ?? 0)
        } µs | – |`,
      );
    }
  }
  for (
    const r of run.rows.filter((r) =>
      r.route === "inc" &&
      (r.app === app || r.app === minimum || r.app === peerApp)
    )
  ) {
    out.push(
      `| ${r.app} · ${r.runtime} /inc: lost updates | ${r.lost ?? "unknown"} lost of ${
        fmt(r.served ?? 0)
      } answered 200 | | ${r.app !== app ? "–" : r.lost === 0 ? "met" : "**missed**"} |`,
    );
  }
  return out.join("\n");
}

/** The PostgresStore section of RESULTS.md: the numbers of its scenarios and the ratios against issue 21's targets. */
export function postgresSection(run: Run): string {
  const m = run.meta;
  const pgRun = {
    meta: m,
    rows: run.rows.filter((r) => /Postgres|connect-pg/.test(r.app)),
  };
  return [
    `Last run: ${m.date}. Machine: ${m.machine}. ${m.runtimes}. Load: ${m.load}; load average (1/5/15 min) ${
      m["loadavg-start"]
    } at the start, ${m["loadavg-end"]} at the end.`,
    "",
    table(pgRun),
    "",
    postgresRatios(pgRun),
  ].join("\n");
}

/** What one feature buys: Satchel SqliteStore on Bun with and without it (the `, no <feature>` scenario), same run. */
export function featureEffect(
  run: Run,
  feature: string,
  routes: readonly Route[],
): string {
  const out: string[] = [];
  for (const route of routes) {
    const on = find(run.rows, "Satchel SqliteStore", "Bun", route);
    const off = find(
      run.rows,
      `Satchel SqliteStore, no ${feature}`,
      "Bun",
      route,
    );
    if (on && off) {
      const cpu = on.cpu && off.cpu
        ? `; server CPU ${Math.round(on.cpu)} against ${Math.round(off.cpu)} µs per request`
        : "";
      out.push(
        `- /${route} on Bun: ${fmt(on.rps)} req/s with the ${feature}, ${fmt(off.rps)} without (×${
          (on.rps / off.rps).toFixed(2)
        })${cpu}.`,
      );
    }
  }
  return out.join("\n");
}

export function section(run: Run, svgPath: string, mdDir: string): string {
  const m = run.meta;
  return [
    `![requests per second per scenario](${relative(mdDir, svgPath)})`,
    "",
    `Last full run: ${m.date}. Machine: ${m.machine}. ${m.runtimes}. Load: ${m.load}; load average (1/5/15 min) ${
      m["loadavg-start"]
    } at the start, ${m["loadavg-end"]} at the end.`,
    "",
    "Requests per second, with median and 99th-percentile latency:",
    "",
    table(run),
    "",
    "### Ratios against the targets (same run, same runtime as the baseline)",
    "",
    ratios(run),
    "",
    "### The verified-token cache",
    "",
    featureEffect(run, "token cache", ["read", "inc"]) ||
    "(not measured in this run)",
    "",
    "### Group commit (`SqliteStore.batch`)",
    "",
    featureEffect(run, "group commit", ["inc", "new"]) ||
    "(not measured in this run)",
  ].join("\n");
}

/** The runtimes RedisStore is measured on, and the client bench/app.ts uses on each. */
const REDIS_RUNTIMES = [["Bun", "Bun's RedisClient"], ["Deno", "ioredis"], [
  "Node",
  "node-redis",
]] as const;
/** Issue 23's targets against `@hono/session` on Redis (same runtime, same client), per route. */
const REDIS_GOALS: [Route, string, number][] = [
  ["signed", "/plain signed in", 0.9],
  ["read", "/read", 2],
  ["inc", "/inc", 2],
  ["new", "/new", 1.7],
];

/**
 * Issue 23's table: on each runtime (with the client bench/app.ts and the
 * peer use there), requests per second of `@hono/session` on Redis, of
 * RedisStore and of RedisStore with its near cache, each with its server
 * CPU time per request and its ratio to the peer, and the lost updates on /inc.
 */
export function redisTable(run: Run): string {
  const peerApp = "@hono/session + Redis";
  const base = "Satchel RedisStore (baseline)";
  const apps = ["Satchel RedisStore", "Satchel RedisStore + near cache"];
  const out = [
    "| runtime (client) | route | @hono/session + Redis | Satchel RedisStore | ratio | RedisStore + near cache | ratio | target |",
    "|---|---|---:|---:|---:|---:|---:|---|",
  ];
  const cpu = (
    r: Row,
  ) => (r.cpu === undefined ? "" : ` <sub>cpu ${Math.round(r.cpu)} µs</sub>`);
  const lost = (app: string, rt: string) => {
    const inc = find(run.rows, app, rt, "inc");
    return inc?.lost === undefined ? "–" : `${inc.lost} of ${fmt(inc.served ?? 0)}`;
  };
  for (const [rt, client] of REDIS_RUNTIMES) {
    if (!run.rows.some((r) => apps.includes(r.app) && r.runtime === rt)) continue;
    for (const [route, label, goal] of REDIS_GOALS) {
      const peer = find(run.rows, peerApp, rt, route);
      const cells = apps.map((app) => {
        const r = find(run.rows, app, rt, route);
        if (r === undefined) return "– | –";
        if (peer === undefined) return `${fmt(r.rps)}${cpu(r)} | –`;
        const ratio = r.rps / peer.rps;
        // Below the target, rounded down: 1.996 is shown as 1.99, never as a missed "2.00".
        const shown = ratio >= goal ? ratio.toFixed(2) : (Math.floor(ratio * 100) / 100).toFixed(2);
        return `${fmt(r.rps)}${cpu(r)} | ${shown}×${ratio >= goal ? "" : " (missed)"}`;
      });
      const p = peer === undefined ? "–" : `${fmt(peer.rps)}${cpu(peer)}`;
      out.push(`| ${rt} (${client}) | ${label} | ${p} | ${cells.join(" | ")} | ≥ ${goal}× |`);
    }
    out.push(
      `| ${rt} (${client}) | lost updates on /inc | ${lost(peerApp, rt)} | ${lost(apps[0]!, rt)} | – | ${
        lost(apps[1]!, rt)
      } | – | 0 |`,
    );
  }
  // The hand-written minimum on Bun (GET / SET PX under the same middleware): what one machine's CPU leaves reachable.
  const min = "hand-written minimum (Redis)";
  const floor = REDIS_GOALS.map(([route, label]) => {
    const m = find(run.rows, min, "Bun", route);
    if (m === undefined) return "";
    const cells = apps.map((app) => {
      const r = find(run.rows, app, "Bun", route);
      return r === undefined ? "– | –" : `${fmt(r.rps)}${cpu(r)} | ${(r.rps / m.rps).toFixed(2)}×`;
    });
    const peer = find(run.rows, peerApp, "Bun", route);
    const vsPeer = peer === undefined ? "–" : `${(m.rps / peer.rps).toFixed(2)}×`;
    return `| ${label} | ${fmt(m.rps)}${cpu(m)} | ${vsPeer} | ${cells.join(" | ")} |`;
  }).filter((line) => line !== "");
  if (floor.length > 0) {
    const lost = find(run.rows, min, "Bun", "inc");
    out.push(
      "",
      "| Bun: route | hand-written minimum (GET / SET PX) | minimum ÷ peer | Satchel RedisStore | ÷ minimum | + near cache | ÷ minimum |",
      "|---|---:|---:|---:|---:|---:|---:|",
      ...floor,
      `| lost updates on /inc | ${
        lost?.lost === undefined ? "–" : `${lost.lost} of ${fmt(lost.served ?? 0)}`
      } | | | | | |`,
    );
  }
  // BASELINE=<checkout>: the same app from before a change, on Bun, in the same run.
  const before = REDIS_GOALS.map(([route, label]) => {
    const [r, b] = [
      find(run.rows, "Satchel RedisStore", "Bun", route),
      find(run.rows, base, "Bun", route),
    ];
    return r && b
      ? `| ${label} | ${fmt(b.rps)}${cpu(b)} | ${fmt(r.rps)}${cpu(r)} | ${(r.rps / b.rps).toFixed(2)}× |`
      : "";
  }).filter((line) => line !== "");
  if (before.length > 0) {
    out.push(
      "",
      "| route | RedisStore · Bun, baseline checkout | RedisStore · Bun, this checkout | ratio |",
    );
    out.push("|---|---:|---:|---:|", ...before);
  }
  return out.join("\n");
}

/** The Redis section of RESULTS.md: when and where it ran, then the table. */
export function redisSection(run: Run): string {
  const m = run.meta;
  return [
    `Last run: ${m.date}. Machine: ${m.machine}. ${m.runtimes}. Load: ${m.load}; load average (1/5/15 min) ${
      m["loadavg-start"]
    } at the start, ${m["loadavg-end"]} at the end. Requests per second, with the server's CPU time per request; ` +
    "ratio = RedisStore ÷ @hono/session on Redis on the same runtime with the same client, all in this run against " +
    "the same redis-server.",
    "",
    redisTable(run),
  ].join("\n");
}

/** Replace what stands between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceSection(
  doc: string,
  name: string,
  body: string,
): string {
  const start = `<!-- ${name}:start -->`, end = `<!-- ${name}:end -->`;
  const a = doc.indexOf(start), b = doc.indexOf(end);
  if (a === -1 || b === -1) {
    throw new Error(
      `Cannot update RESULTS.md: markers ${start} … ${end} are missing`,
    );
  }
  return doc.slice(0, a + start.length) + "\n" + body + "\n" + doc.slice(b);
}

if (import.meta.main ?? process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const print = args.includes("--print");
  const file = args.find((a) => !a.startsWith("--"));
  if (file === undefined) {
    console.error(
      "usage: bun bench/chart.ts [--print] bench/results/<stamp>/results.tsv",
    );
    process.exit(2);
  }
  const run = parseTsv(readFileSync(file, "utf8"));
  const here = dirname(fileURLToPath(import.meta.url));
  if (args.includes("--redis")) {
    const body = redisSection(run);
    const md = join(here, "RESULTS.md");
    if (!print) {
      writeFileSync(
        md,
        replaceSection(readFileSync(md, "utf8"), "redis", body),
      );
    }
    console.log(body);
    process.exit(0);
  }
  const svgPath = join(here, "chart.svg");
  const md = join(here, "RESULTS.md");
  const body = section(run, svgPath, here);
  if (args.includes("--postgres")) {
    writeFileSync(
      md,
      replaceSection(
        readFileSync(md, "utf8"),
        "postgres",
        postgresSection(run),
      ),
    );
    console.log(postgresSection(run));
  } else if (print) {
    console.log(body);
  } else {
    writeFileSync(svgPath, svg(run));
    writeFileSync(md, replaceSection(readFileSync(md, "utf8"), "http", body));
    console.log(
      `wrote ${relative(process.cwd(), svgPath)} and ${relative(process.cwd(), md)}\n`,
    );
    console.log(ratios(run));
  }
}
