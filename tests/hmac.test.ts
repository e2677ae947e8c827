// The JavaScript HMAC-SHA256 that signs session tokens, checked against
// RFC 4231's vectors and against Web Crypto on random keys and messages.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HmacSha256, sha256 } from "../src/crypto/hmac.ts";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));
const bytes = (s: string) => new TextEncoder().encode(s);

async function webCryptoMac(key: Uint8Array<ArrayBuffer>, message: Uint8Array<ArrayBuffer>): Promise<string> {
  // Web Crypto refuses an empty HMAC key; RFC 2104 pads it with zeros, which a one-zero-byte key equals.
  const k = await crypto.subtle.importKey(
    "raw",
    key.length === 0 ? new Uint8Array(1) : key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", k, message)));
}

test("HmacSha256 gives RFC 4231's HMAC-SHA256 test vectors", () => {
  const cases: [Uint8Array, Uint8Array, string][] = [
    [fromHex("0b".repeat(20)), bytes("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    [
      bytes("Jefe"),
      bytes("what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ],
    [
      fromHex("aa".repeat(20)),
      fromHex("dd".repeat(50)),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ],
    [
      fromHex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
      fromHex("cd".repeat(50)),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ],
    // Test case 5 checks a truncated MAC: its first 128 bits.
    [fromHex("0c".repeat(20)), bytes("Test With Truncation"), "a3b6167473100ee06e0c796c2955552b"],
    [
      fromHex("aa".repeat(131)),
      bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      fromHex("aa".repeat(131)),
      bytes(
        "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];
  for (const [key, message, expected] of cases) {
    assert.equal(hex(new HmacSha256(key).mac(message)).slice(0, expected.length), expected);
  }
});

test("sha256 gives the FIPS 180-4 digests of '', 'abc' and the two-block message", () => {
  assert.equal(hex(sha256(bytes(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(hex(sha256(bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(
    hex(sha256(bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

test("HmacSha256 equals Web Crypto's HMAC-SHA256 for random keys and messages of every length around the block edges (property)", async () => {
  // Keys up to 150 bytes (past 64 they are hashed first); messages up to 200
  // bytes cross the 55/56 padding edge and the 64-byte block edge three times.
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 150 }),
      fc.uint8Array({ maxLength: 200 }),
      async (key, message) => {
        const k = new Uint8Array(key), m = new Uint8Array(message);
        assert.equal(hex(new HmacSha256(k).mac(m)), await webCryptoMac(k, m));
      },
    ),
    { numRuns: 600 },
  );
});

test("HmacSha256 reused for many messages keeps giving Web Crypto's answer (no state leaks between MACs)", async () => {
  const key = bytes("satchel-test-secret-satchel-test-secret-0123");
  const hmac = new HmacSha256(key);
  for (let length = 0; length <= 130; length++) {
    const message = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff);
    assert.equal(hex(hmac.mac(message)), await webCryptoMac(key, message), `length ${length}`);
  }
  // Strings are UTF-8 encoded, as Web Crypto's callers do with TextEncoder.
  assert.equal(hex(hmac.mac("satchel/id/1:é☃𝄞")), await webCryptoMac(key, bytes("satchel/id/1:é☃𝄞")));
});

test("sha256 equals Web Crypto's SHA-256 digest for random messages (property)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (message) => {
      const m = new Uint8Array(message);
      assert.equal(hex(sha256(m)), hex(new Uint8Array(await crypto.subtle.digest("SHA-256", m))));
    }),
    { numRuns: 300 },
  );
});
