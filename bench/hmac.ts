/**
 * One HMAC-SHA256 of a session token's message: Web Crypto's
 * `crypto.subtle.sign`, awaited one at a time and 32 in flight, against
 * Satchel's synchronous JavaScript HMAC (src/crypto/hmac.ts). CPU and wall
 * time per MAC, two rounds; it also checks that both give the same MAC.
 *
 *   bun bench/hmac.ts        deno run -A bench/hmac.ts        node bench/hmac.ts
 * @module
 */
import process from "node:process";
import { HmacSha256 } from "../src/crypto/hmac.ts";

const encoder = new TextEncoder();
const secret = encoder.encode(
  "satchel-bench-secret-satchel-bench-secret-0123456789",
);
const key = await crypto.subtle.importKey(
  "raw",
  secret,
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["sign"],
);
const hmac = new HmacSha256(secret);
const message = "satchel/id/1:" + "A".repeat(32);
const web = new Uint8Array(
  await crypto.subtle.sign("HMAC", key, encoder.encode(message)),
);
if (!hmac.mac(message).every((b, i) => b === web[i])) {
  throw new Error("the JavaScript HMAC differs from Web Crypto's");
}

const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const N = 20_000;
async function measure(
  label: string,
  count: number,
  run: () => Promise<void> | void,
): Promise<void> {
  const c0 = cpu(), t0 = performance.now();
  await run();
  console.log(
    `${label.padEnd(40)} ${((cpu() - c0) / count).toFixed(2).padStart(6)} µs CPU ${
      (((performance.now() - t0) * 1000) / count).toFixed(2).padStart(6)
    } µs wall`,
  );
}
for (let round = 1; round <= 2; round++) {
  console.log(`round ${round}`);
  await measure("crypto.subtle.sign, awaited one at a time", N, async () => {
    for (let i = 0; i < N; i++) {
      await crypto.subtle.sign("HMAC", key, encoder.encode(message + i));
    }
  });
  await measure("crypto.subtle.sign, 32 in flight", N, async () => {
    for (let i = 0; i < N / 32; i++) {
      await Promise.all(
        Array.from(
          { length: 32 },
          (_, j) => crypto.subtle.sign("HMAC", key, encoder.encode(message + j)),
        ),
      );
    }
  });
  await measure("HmacSha256.mac (JavaScript, synchronous)", N * 10, () => {
    for (let i = 0; i < N * 10; i++) hmac.mac(message);
  });
}
