/**
 * XChaCha20-Poly1305 in plain JavaScript (src/crypto/chacha.ts) and the
 * CookieStore key derivation (src/crypto/seal.ts): RFC 8439's vectors,
 * libsodium's HChaCha20 vectors, and node:crypto's chacha20-poly1305 and
 * Web Crypto's HKDF on random inputs.
 */
import assert from "node:assert/strict";
import { createCipheriv, getCiphers } from "node:crypto";
import { test } from "node:test";
import {
  chacha20Poly1305Open,
  chacha20Poly1305Seal,
  chacha20Xor,
  hchacha20,
  poly1305Blocks,
  xchacha20Poly1305Open,
  xchacha20Poly1305Seal,
} from "../src/crypto/chacha.ts";
import { deriveKey, Sealer } from "../src/crypto/seal.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const SUNSCREEN = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const seq = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => from + i);
const hasNodeChacha = getCiphers().includes("chacha20-poly1305");

function seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, ad: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length + 16);
  chacha20Poly1305Seal(key, nonce, plain, ad, out, 0);
  return out;
}

test("chacha20Xor() matches RFC 8439 §2.4.2 and the Poly1305 key of §2.6.2", () => {
  const out = new Uint8Array(SUNSCREEN.length);
  chacha20Xor(seq(0, 32), 1, hex("000000000000004a00000000"), SUNSCREEN, out);
  assert.equal(
    toHex(out),
    "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
      "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d",
  );
  const otk = new Uint8Array(32);
  chacha20Xor(seq(0x80, 32), 0, hex("000000000001020304050607"), otk, otk);
  assert.equal(toHex(otk), "8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646");
});

test("chacha20Poly1305Seal() matches RFC 8439 §2.8.2, and Open() returns the plaintext only for an intact value", () => {
  const key = seq(0x80, 32);
  const nonce = hex("070000004041424344454647");
  const ad = hex("50515253c0c1c2c3c4c5c6c7");
  const sealed = seal(key, nonce, SUNSCREEN, ad);
  assert.equal(
    toHex(sealed),
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116" +
      "1ae10b594f09e26a7e902ecbd0600691",
  );
  assert.deepEqual(chacha20Poly1305Open(key, nonce, sealed, 0, ad), SUNSCREEN);
  for (const at of [0, 50, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[at]! ^= 1;
    assert.equal(chacha20Poly1305Open(key, nonce, bad, 0, ad), null, `bit flipped at ${at}`);
  }
  assert.equal(chacha20Poly1305Open(key, nonce, sealed, 0, ad.subarray(1)), null);
  assert.equal(chacha20Poly1305Open(key, nonce, sealed.subarray(0, 15), 0, ad), null);
});

test("poly1305Blocks() matches RFC 8439 §A.3's vectors of whole blocks, the ones that reach every carry and the final reduction", () => {
  const z = "00".repeat(16);
  const vectors: [string, string, string][] = [
    ["02" + "00".repeat(31), "ff".repeat(16), "03" + "00".repeat(15)],
    ["02" + "00".repeat(15) + "ff".repeat(16), "02" + "00".repeat(15), "03" + "00".repeat(15)],
    ["01" + "00".repeat(31), "ff".repeat(16) + "f0" + "ff".repeat(15) + "11" + "00".repeat(15), "05" + "00".repeat(15)],
    ["01" + "00".repeat(31), "ff".repeat(16) + "fb" + "fe".repeat(15) + "01".repeat(16), z],
    ["02" + "00".repeat(31), "fd" + "ff".repeat(15), "fa" + "ff".repeat(15)],
    [
      "0100000000000000040000000000000000000000000000000000000000000000",
      "e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000",
      "14000000000000005500000000000000",
    ],
    [
      "0100000000000000040000000000000000000000000000000000000000000000",
      "e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000",
      "13000000000000000000000000000000",
    ],
  ];
  for (const [key, message, tag] of vectors) assert.equal(toHex(poly1305Blocks(hex(key), hex(message))), tag, message);
});

test("hchacha20() matches libsodium's test vectors", () => {
  const vectors = [
    [
      "24f11cce8a1b3d61e441561a696c1c1b7e173d084fd4812425435a8896a013dc",
      "d9660c5900ae19ddad28d6e06e45fe5e",
      "5966b3eec3bff1189f831f06afe4d4e3be97fa9235ec8c20d08acfbbb4e851e3",
    ],
    [
      "80a5f6272031e18bb9bcd84f3385da65e7731b7039f13f5e3d475364cd4d42f7",
      "c0eccc384b44c88e92c57eb2d5ca4dfa",
      "6ed11741f724009a640a44fce7320954c46e18e0d7ae063bdbc8d7cf372709df",
    ],
    [
      "cb1fc686c0eec11a89438b6f4013bf110e7171dace3297f3a657a309b3199629",
      "fcd49b93e5f8f299227e64d40dc864a3",
      "84b7e96937a1a0a406bb7162eeaad34308d49de60fd2f7ec9dc6a79cbab2ca34",
    ],
    [
      "c49758f00003714c38f1d4972bde57ee8271f543b91e07ebce56b554eb7fa6a7",
      "31f0204e10cf4f2035f9e62bb5ba7303",
      "0dd8cc400f702d2c06ed920be52048a287076b86480ae273c6d568a2e9e7518c",
    ],
  ];
  for (const [key, input, out] of vectors) assert.equal(toHex(hchacha20(hex(key!), hex(input!))), out);
});

test("chacha20Poly1305Seal() agrees with node:crypto's chacha20-poly1305 on random keys, nonces, data and lengths", {
  skip: !hasNodeChacha && "no chacha20-poly1305 in this runtime's node:crypto",
}, () => {
  for (let i = 0; i < 400; i++) {
    const key = random(32), nonce = random(12);
    const plain = random(i < 200 ? i : Math.floor(Math.random() * 5000));
    const ad = random(i % 50);
    const cipher = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    cipher.setAAD(ad, { plaintextLength: plain.length });
    const expected = new Uint8Array([...cipher.update(plain), ...cipher.final(), ...cipher.getAuthTag()]);
    const sealed = seal(key, nonce, plain, ad);
    assert.equal(toHex(sealed), toHex(expected), `length ${plain.length}, ad ${ad.length}`);
    assert.deepEqual(chacha20Poly1305Open(key, nonce, sealed, 0, ad), plain);
  }
  // Extreme limbs: all-ones keys and data exercise every carry of the Poly1305 arithmetic.
  const ones = new Uint8Array(32).fill(0xff), nonce = new Uint8Array(12).fill(0xff);
  for (const n of [16, 64, 1000, 4096]) {
    const plain = new Uint8Array(n).fill(0xff), ad = new Uint8Array(33).fill(0xff);
    const cipher = createCipheriv("chacha20-poly1305", ones, nonce, { authTagLength: 16 });
    cipher.setAAD(ad, { plaintextLength: n });
    const expected = new Uint8Array([...cipher.update(plain), ...cipher.final(), ...cipher.getAuthTag()]);
    assert.equal(toHex(seal(ones, nonce, plain, ad)), toHex(expected));
  }
});

test("xchacha20Poly1305Seal() is ChaCha20-Poly1305 under the HChaCha20 subkey (draft-irtf-cfrg-xchacha §2.3)", () => {
  for (let i = 0; i < 50; i++) {
    const key = random(32), xnonce = random(24), plain = random(i * 7), ad = random(i % 40);
    const out = new Uint8Array(plain.length + 16);
    xchacha20Poly1305Seal(key, xnonce, plain, ad, out, 0);
    const nonce = new Uint8Array(12);
    nonce.set(xnonce.subarray(16), 4);
    assert.deepEqual(out, seal(hchacha20(key, xnonce.subarray(0, 16)), nonce, plain, ad));
    assert.deepEqual(xchacha20Poly1305Open(key, xnonce, out, 0, ad), plain);
    const other = xnonce.slice();
    other[0]! ^= 1;
    assert.equal(xchacha20Poly1305Open(key, other, out, 0, ad), null);
  }
});

test("deriveKey() is HKDF-SHA256 as Web Crypto computes it", async () => {
  for (
    const secret of [
      "a".repeat(32),
      "secret with ünïcödé and more than sixty-four bytes of text in it, really!",
      "x".repeat(200),
    ]
  ) {
    const salt = random(20), info = random(30);
    const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveBits"]);
    const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, base, 256);
    assert.equal(toHex(deriveKey(secret, salt, info)), toHex(new Uint8Array(bits)));
  }
});

test("Sealer.open() reports a value sealed with a secret other than the first as stale", () => {
  const [a, b] = ["sealer-secret-A-sealer-secret-A-0123456789", "sealer-secret-B-sealer-secret-B-0123456789"];
  const ad = new TextEncoder().encode("id");
  const old = new Sealer(a).seal(SUNSCREEN, ad);
  const rotated = new Sealer([b, a]);
  assert.deepEqual(rotated.open(old, ad), { plaintext: SUNSCREEN, stale: true });
  assert.deepEqual(rotated.open(rotated.seal(SUNSCREEN, ad), ad), { plaintext: SUNSCREEN, stale: false });
  assert.equal(new Sealer(b).open(old, ad), null);
});
