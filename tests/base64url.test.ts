import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BASE64URL, base64urlLength, decodeBase64url, encodeBase64url } from "../src/_internal/base64url.ts";

/** The platform's base64 of `bytes`, with the URL alphabet and no padding. */
function reference(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 4096) binary += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

test("encodeBase64url() matches the platform's base64 with the URL alphabet and no padding, short and long (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const encoded = encodeBase64url(bytes);
      assert.equal(encoded, reference(bytes));
      assert.equal(encoded.length, base64urlLength(bytes.length));
    }),
    { numRuns: 1000 },
  );
});

test("encodeBase64url() encodes large inputs too (a client's oversized cookie must not make it throw)", () => {
  const bytes = new Uint8Array(600_000).map((_, i) => (i * 131 + (i >> 8)) & 0xff);
  assert.equal(encodeBase64url(bytes), reference(bytes));
});

test("decodeBase64url() gives back what encodeBase64url() wrote (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const encoded = encodeBase64url(bytes);
      assert.deepEqual(decodeBase64url(encoded), bytes);
      assert.equal(encoded === "" || BASE64URL.test(encoded), true);
    }),
    { numRuns: 500 },
  );
});

test("decodeBase64url() refuses every other spelling: padding, the standard alphabet, impossible lengths, unused bits set", () => {
  for (const bad of ["A", "AB=", "A+", "A/", "AB C", "ÀA", "AB\u0000A", "AAB", "AAAAAB"]) {
    assert.equal(decodeBase64url(bad), null, JSON.stringify(bad));
  }
  assert.deepEqual(decodeBase64url("AA"), new Uint8Array([0]));
  assert.deepEqual(decodeBase64url("AAA"), new Uint8Array([0, 0]));
  assert.deepEqual(decodeBase64url(""), new Uint8Array(0));
});
