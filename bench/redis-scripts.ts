/**
 * What RedisStore's write script costs Redis itself, in µs of Redis CPU per
 * call (`INFO commandstats`), beside the plain commands the hand-written
 * minimum sends: a new session (`SET` script with `*`), an update that keeps
 * the expiry (a data write under the default `refreshThreshold`), an update
 * that moves it, and `SET … PX` / `GET` / `HMGET` for scale. Redis is
 * single-threaded: this is what bounds how many app servers one Redis
 * serves. 32 calls in flight, over 1,000 keys; best of `ROUNDS`.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 bun bench/redis-scripts.ts
 *   BASELINE=/tmp/base REDIS_URL=… bun bench/redis-scripts.ts   (also the scripts of another checkout)
 *
 * Bun only (its RedisClient); writes keys under `rsb:` and deletes them. Do not point it at a server in use:
 * it resets the server's command statistics.
 * @module
 */
import process from "node:process";
import type { Script } from "../src/store/redis/scripts.ts";

type Client = {
  connect(): Promise<void>;
  send(name: string, args: string[]): Promise<unknown>;
  close(): void;
};
const bun = (globalThis as { Bun?: { RedisClient: new (url: string) => Client } }).Bun;
if (bun === undefined) {
  throw new Error(
    "bench/redis-scripts.ts runs on Bun (it uses Bun's RedisClient)",
  );
}

const N = Number(process.env.N ?? 50_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const KEYS = 1000;
const PAYLOAD = "x".repeat(450);
const client = new bun.RedisClient(
  process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
);
await client.connect();

/** µs of Redis CPU per call of `command` over `N` calls made by `call(i)`, 32 in flight. */
async function redisCpu(
  command: string,
  call: (i: number) => Promise<unknown>,
): Promise<number> {
  await client.send("CONFIG", ["RESETSTAT"]);
  let i = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (i < N) await call(i++);
  }));
  const stats = String(await client.send("INFO", ["commandstats"]));
  const m = new RegExp(
    `cmdstat_${command}:calls=\\d+,usec=\\d+,usec_per_call=([\\d.]+)`,
  ).exec(stats);
  if (m === null) throw new Error(`no ${command} in INFO commandstats`);
  return Number(m[1]);
}

async function clear(): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = (await client.send("SCAN", [
      cursor,
      "MATCH",
      "rsb:*",
      "COUNT",
      "1000",
    ])) as [string, string[]];
    cursor = String(next);
    if (keys.length > 0) await client.send("UNLINK", keys);
  } while (cursor !== "0");
}

/** The write script's cases: a new session, an update keeping the expiry, an update moving it. */
async function scriptCases(
  label: string,
  set: Script,
): Promise<[string, () => Promise<number>][]> {
  await client.send("SCRIPT", ["LOAD", set.source]);
  const sha = await set.sha;
  const now = Date.now();
  const args = (expected: string, e: number, version: string) => [
    expected,
    PAYLOAD,
    String(now),
    String(e),
    "0",
    "",
    version,
    "0",
    String(e - now),
    "rsb:inv",
    `id ${version}|${e}`,
  ];
  /** Each key written once as a session, and the state the next compare-and-set expects of it. */
  const seed = async (e: number) => {
    await clear();
    const state: string[] = [];
    for (let k = 0; k < KEYS; k++) {
      await client.send("EVALSHA", [
        sha,
        "1",
        `rsb:s:${k}`,
        ...args("*", e, "v0"),
      ]);
      state.push(`v0|${e}`);
    }
    return state;
  };
  const update = (move: boolean) => async () => {
    let e = now + 3_600_000; // moved by 1 ms per call when `move`
    const state = await seed(e);
    return await redisCpu("evalsha", async (i) => {
      const k = i % KEYS;
      const at = move ? ++e : e;
      const version = `v${i + 1}`;
      const ok = await client.send("EVALSHA", [
        sha,
        "1",
        `rsb:s:${k}`,
        ...args(state[k]!, at, version),
      ]);
      if (ok !== 1) {
        throw new Error(`${label}: the compare-and-set failed on key ${k}`);
      }
      state[k] = `${version}|${at}`;
    });
  };
  return [
    [`${label}: new session`, async () => {
      await clear();
      return await redisCpu(
        "evalsha",
        (i) =>
          client.send("EVALSHA", [
            sha,
            "1",
            `rsb:n:${i}`,
            ...args("*", now + 3_600_000, "v0"),
          ]),
      );
    }],
    [`${label}: update, same expiry`, update(false)],
    [`${label}: update, new expiry`, update(true)],
  ];
}

const cases: [string, () => Promise<number>][] = [
  ["SET … PX (the minimum's write)", async () => {
    await clear();
    return await redisCpu(
      "set",
      (i) => client.send("SET", [`rsb:m:${i % KEYS}`, PAYLOAD, "PX", "3600000"]),
    );
  }],
  [
    "GET (the minimum's read)",
    () => redisCpu("get", (i) => client.send("GET", [`rsb:m:${i % KEYS}`])),
  ],
  ...await scriptCases(
    "write script",
    (await import("../src/store/redis/scripts.ts")).SET,
  ),
  [
    "HMGET (RedisStore's read)",
    () =>
      redisCpu("hmget", (i) =>
        client.send("HMGET", [
          `rsb:s:${i % KEYS}`,
          "p",
          "c",
          "e",
          "u",
          "v",
          "i",
        ])),
  ],
];
if (process.env.BASELINE) {
  const base = await import(
    `${process.env.BASELINE}/src/store/redis/scripts.ts`
  ) as { SET: Script };
  cases.push(...await scriptCases("baseline write script", base.SET));
}

const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of cases) {
    best.set(name, Math.min(best.get(name) ?? Infinity, await run()));
  }
}
await clear();
console.log(
  `µs of Redis CPU per call (INFO commandstats), best of ${ROUNDS} rounds of ${N}, 32 in flight`,
);
for (const [name] of cases) {
  console.log(`${name.padEnd(40)} ${best.get(name)!.toFixed(2).padStart(6)}`);
}
client.close();
process.exit(0);
