/**
 * The hand-written crypto (src/crypto/) against @noble/hashes and
 * @noble/ciphers on random inputs: the same bytes for the same key, nonce
 * and input, each side opens the other's output, and a tampered value is
 * refused by both. Also the module boundary: src/crypto/mod.ts exports only
 * what the rest of the code uses.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { decodeBase64url, encodeBase64url } from "../src/_internal/base64url.ts";
import {
  chacha20Poly1305Open,
  chacha20Poly1305Seal,
  xchacha20Poly1305Open,
  xchacha20Poly1305Seal,
} from "../src/crypto/chacha.ts";
import { HmacSha256 } from "../src/crypto/hmac.ts";
import * as boundary from "../src/crypto/mod.ts";
import { deriveKey } from "../src/crypto/seal.ts";

const { Sealer, Signer, sha256, timingSafeEqual, SEAL_OVERHEAD } = boundary;
const encoder = new TextEncoder();
const RUNS = { numRuns: 150 };

/** Byte strings up to `max` long, biased towards SHA-256's and Poly1305's block edges. */
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const exactly = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const secret = fc.string({ minLength: 32, maxLength: 80, unit: "grapheme-ascii" });
const id = fc.stringMatching(/^[A-Za-z0-9_-]{32}$/);

function ourSeal(xnonce: boolean, key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, ad: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length + 16);
  (xnonce ? xchacha20Poly1305Seal : chacha20Poly1305Seal)(key, nonce, plain, ad, out, 0);
  return out;
}

function ourOpen(xnonce: boolean, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array) {
  return (xnonce ? xchacha20Poly1305Open : chacha20Poly1305Open)(key, nonce, sealed, 0, ad);
}

function nobleOpen(xnonce: boolean, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array) {
  try {
    return (xnonce ? xchacha20poly1305 : chacha20poly1305)(key, nonce, ad).decrypt(sealed);
  } catch {
    return null;
  }
}

test("src/crypto/mod.ts exports signing, sealing, a digest and one constant-time compare, and nothing else", () => {
  assert.deepEqual(Object.keys(boundary).sort(), ["SEAL_OVERHEAD", "Sealer", "Signer", "sha256", "timingSafeEqual"]);
});

test("sha256() gives @noble/hashes' bytes for any input, across block edges", () => {
  for (let n = 0; n <= 130; n++) {
    const data = crypto.getRandomValues(new Uint8Array(n));
    assert.deepEqual(sha256(data), nobleSha256(data), `length ${n}`);
  }
  fc.assert(fc.property(bytes(2000), (data) => assert.deepEqual(sha256(data), nobleSha256(data))), RUNS);
});

test("HmacSha256.mac() gives @noble/hashes' HMAC-SHA256 for any key (long ones hashed first) and message", () => {
  fc.assert(
    fc.property(bytes(200), bytes(300), (key, message) => {
      assert.deepEqual(new HmacSha256(key).mac(message), hmac(nobleSha256, key, message));
    }),
    RUNS,
  );
});

test("deriveKey() gives @noble/hashes' HKDF-SHA256 for any secret, salt and info", () => {
  fc.assert(
    fc.property(secret, bytes(80), bytes(80), (s, salt, info) => {
      assert.deepEqual(deriveKey(s, salt, info), hkdf(nobleSha256, encoder.encode(s), salt, info, 32));
    }),
    RUNS,
  );
});

for (const xnonce of [true, false]) {
  const name = xnonce ? "XChaCha20-Poly1305" : "ChaCha20-Poly1305";
  const noble = xnonce ? xchacha20poly1305 : chacha20poly1305;
  const nonceBytes = xnonce ? 24 : 12;

  test(`${name} seals to @noble/ciphers' bytes, and each opens the other's output`, () => {
    fc.assert(
      fc.property(exactly(32), exactly(nonceBytes), bytes(600), bytes(64), (key, nonce, plain, ad) => {
        const ours = ourSeal(xnonce, key, nonce, plain, ad);
        const theirs = noble(key, nonce, ad).encrypt(plain);
        assert.deepEqual(ours, theirs);
        assert.deepEqual(nobleOpen(xnonce, key, nonce, ours, ad), plain);
        assert.deepEqual(ourOpen(xnonce, key, nonce, theirs, ad), plain);
      }),
      RUNS,
    );
  });

  test(`${name}: a flipped bit anywhere, another nonce or other associated data is refused by both`, () => {
    fc.assert(
      fc.property(
        exactly(32),
        exactly(nonceBytes),
        bytes(300),
        bytes(40),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (key, nonce, plain, ad, where, bit) => {
          const sealed = noble(key, nonce, ad).encrypt(plain);
          const tampered = sealed.slice();
          tampered[where % tampered.length]! ^= 1 << bit;
          assert.equal(ourOpen(xnonce, key, nonce, tampered, ad), null);
          assert.equal(nobleOpen(xnonce, key, nonce, tampered, ad), null);
          const otherNonce = nonce.slice();
          otherNonce[where % nonceBytes]! ^= 1 << bit;
          assert.equal(ourOpen(xnonce, key, otherNonce, sealed, ad), null);
          assert.equal(nobleOpen(xnonce, key, otherNonce, sealed, ad), null);
          const otherAd = Uint8Array.of(...ad, bit);
          assert.equal(ourOpen(xnonce, key, nonce, sealed, otherAd), null);
          assert.equal(nobleOpen(xnonce, key, nonce, sealed, otherAd), null);
        },
      ),
      RUNS,
    );
  });
}

test("Sealer's values open with @noble (HKDF key, version byte, nonce, ciphertext, tag), and noble's open with Sealer", () => {
  const SALT = encoder.encode("satchel/cookie-store");
  const INFO = encoder.encode("satchel cookie-store xchacha20-poly1305 v2");
  fc.assert(
    fc.property(secret, id, bytes(500), exactly(24), (s, sessionId, plain, nonce) => {
      const key = hkdf(nobleSha256, encoder.encode(s), SALT, INFO, 32);
      const ad = encoder.encode(sessionId);
      const sealer = new Sealer(s);
      const sealed = decodeBase64url(sealer.seal(plain, ad))!;
      assert.equal(sealed.length, plain.length + SEAL_OVERHEAD);
      assert.equal(sealed[0], 2);
      assert.deepEqual(xchacha20poly1305(key, sealed.subarray(1, 25), ad).decrypt(sealed.subarray(25)), plain);
      const theirs = Uint8Array.of(2, ...nonce, ...xchacha20poly1305(key, nonce, ad).encrypt(plain));
      assert.deepEqual(sealer.open(encodeBase64url(theirs), ad), { plaintext: plain, stale: false });
      theirs[theirs.length - 1]! ^= 1;
      assert.equal(sealer.open(encodeBase64url(theirs), ad), null);
    }),
    { numRuns: 60 },
  );
});

test("Signer's tokens carry @noble's HMAC-SHA256 of the id, and it verifies tokens @noble signed", () => {
  fc.assert(
    fc.property(secret, secret, id, (current, retired, sessionId) => {
      const mac = (s: string) =>
        encodeBase64url(hmac(nobleSha256, encoder.encode(s), encoder.encode(`satchel/id/1:${sessionId}`)));
      const signer = new Signer([current, retired], 0);
      assert.equal(signer.sign(sessionId), `${sessionId}.${mac(current)}`);
      assert.deepEqual(signer.verify(`${sessionId}.${mac(retired)}`), { id: sessionId, stale: current !== retired });
      assert.equal(
        new Signer(current === retired ? `${current}!` : current, 0).verify(`${sessionId}.${mac(retired)}`),
        "signature",
      );
    }),
    { numRuns: 60 },
  );
});

test("timingSafeEqual() agrees with === on strings and byte-wise equality on bytes, of any lengths", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 50 }), fc.string({ maxLength: 50 }), (a, b) => {
      assert.equal(timingSafeEqual(a, b), a === b);
      assert.equal(timingSafeEqual(a, a.slice()), true);
    }),
    RUNS,
  );
  fc.assert(
    fc.property(bytes(40), bytes(40), fc.nat(), (a, b, where) => {
      assert.equal(timingSafeEqual(a, b), a.length === b.length && a.every((x, i) => x === b[i]));
      assert.equal(timingSafeEqual(a, a.slice()), true);
      if (a.length === 0) return;
      const c = a.slice();
      c[where % c.length]! ^= 0x80;
      assert.equal(timingSafeEqual(a, c), false);
    }),
    RUNS,
  );
});
