/**
 * CookieStore's sealing options, µs per seal + open of one session (best of
 * 5 rounds), awaited the way a request would await them:
 *
 * - "xchacha20-poly1305 (JS, sync)": what CookieStore uses (src/crypto/seal.ts);
 * - "AES-256-GCM, Web Crypto, key cached": one imported key per secret, a
 *   random 12-byte IV, one awaited encrypt and one awaited decrypt;
 * - "AES-256-GCM, Web Crypto, HKDF per seal": the sealing of 0.1.0 before
 *   this change (a fresh salt, a deriveKey and an encrypt per seal).
 *
 *   bun bench/cookie-seal.ts       deno run -A bench/cookie-seal.ts       node bench/cookie-seal.ts
 *
 * Environment: `N` seals per round (default 5000).
 * @module
 */
import process from "node:process";
import { Sealer } from "../src/crypto/seal.ts";

const N = Number(process.env.N ?? 5000);
const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
const encoder = new TextEncoder();
const ad = encoder.encode("0123456789abcdef0123456789abcdef");

interface Option {
  name: string;
  roundTrip(plain: Uint8Array<ArrayBuffer>): unknown;
}

const sealer = new Sealer(SECRET);
const raw = await crypto.subtle.importKey(
  "raw",
  encoder.encode(SECRET),
  "HKDF",
  false,
  ["deriveKey"],
);
const info = encoder.encode("bench");
const cached = await crypto.subtle.deriveKey(
  { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(16), info },
  raw,
  { name: "AES-GCM", length: 256 },
  false,
  ["encrypt", "decrypt"],
);
const derive = (salt: Uint8Array<ArrayBuffer>) =>
  crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info },
    raw,
    { name: "AES-GCM", length: 256 },
    false,
    [
      "encrypt",
      "decrypt",
    ],
  );

const options: Option[] = [
  {
    name: "XChaCha20-Poly1305 (JS, sync)",
    roundTrip: (plain) => sealer.open(sealer.seal(plain, ad), ad),
  },
  {
    name: "AES-256-GCM, Web Crypto, key cached",
    roundTrip: async (plain) => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: ad },
        cached,
        plain,
      );
      return await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: ad },
        cached,
        ct,
      );
    },
  },
  {
    name: "AES-256-GCM, Web Crypto, HKDF per seal (before)",
    roundTrip: async (plain) => {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: ad },
        await derive(salt),
        plain,
      );
      return await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: ad },
        await derive(salt),
        ct,
      );
    },
  },
];

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
  ? "Bun"
  : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
  ? "Deno"
  : "Node";
const SIZES = [600, 3000, 8000];
console.log(`${runtime}: µs per seal + open, best of 5 rounds of ${N}`);
console.log(
  `| sealing | ${SIZES.map((n) => `${n} B`).join(" | ")} |\n|---|${SIZES.map(() => "---:").join("|")}|`,
);
for (const option of options) {
  const cells: string[] = [];
  for (const size of SIZES) {
    const plain = crypto.getRandomValues(new Uint8Array(size));
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      for (let i = 0; i < N; i++) await option.roundTrip(plain);
      best = Math.min(best, ((performance.now() - start) * 1000) / N);
    }
    cells.push(best.toFixed(2));
  }
  console.log(`| ${option.name} | ${cells.join(" | ")} |`);
}
