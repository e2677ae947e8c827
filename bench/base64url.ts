/**
 * base64url encoding by input size: a string made from an array of
 * character codes (`encodeShort`) against bytes decoded once by a
 * TextDecoder (`encodeLong`), the platform's `Uint8Array.prototype.toBase64`
 * where there is one, and `encodeBase64url()`, which takes the native one
 * when present, else the first up to 64 input bytes (ids, MACs) and the
 * second above (sealed cookies).
 * Nanoseconds per call, best of 5 rounds; it also checks all three agree.
 *
 *   bun bench/base64url.ts   deno run -A bench/base64url.ts   node bench/base64url.ts
 * @module
 */
import { encodeBase64url, encodeLong, encodeNative, encodeShort } from "../src/_internal/base64url.ts";

function nsPerCall(fn: () => unknown, n: number): number {
  for (let i = 0; i < n / 10; i++) fn();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, performance.now() - t0);
  }
  return (best / n) * 1e6;
}

console.log(
  "| input bytes | code array | TextDecoder | toBase64 (native) | encodeBase64url |\n|---:|---:|---:|---:|---:|",
);
for (const size of [12, 24, 32, 64, 96, 192, 3000]) {
  const bytes = crypto.getRandomValues(new Uint8Array(size));
  const want = encodeBase64url(bytes);
  if (encodeShort(bytes) !== want || encodeLong(bytes) !== want || (encodeNative?.(bytes) ?? want) !== want) {
    throw new Error(`the encoders disagree at ${size} bytes`);
  }
  const n = size > 100 ? 20_000 : 200_000;
  const row = [encodeShort, encodeLong, encodeNative, encodeBase64url].map((f) =>
    f === undefined ? "–" : nsPerCall(() => f(bytes), n).toFixed(0)
  );
  console.log(`| ${size} | ${row.join(" | ")} |`);
}
