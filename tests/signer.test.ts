import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HmacSha256 } from "../src/crypto/hmac.ts";
import { Signer, TOKEN_LENGTH } from "../src/crypto/sign.ts";
import { encodeBase64url as base64url } from "../src/_internal/base64url.ts";
import { generateId } from "../src/id.ts";
import { SECRET } from "./helpers.ts";

const OLD = "old-secret-old-secret-old-secret-0123456789";
const NEW = "new-secret-new-secret-new-secret-0123456789";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const idArb = fc.string({ unit: fc.constantFrom(...B64URL), minLength: 32, maxLength: 32 });

test("Signer.sign() makes id.signature tokens that verify() round-trips (property)", async () => {
  for (const cache of [0, 10_000]) {
    const signer = new Signer(SECRET, cache);
    await fc.assert(
      fc.asyncProperty(idArb, async (id) => {
        const token = await signer.sign(id);
        assert.equal(token.length, TOKEN_LENGTH);
        assert.equal(token.slice(0, 33), `${id}.`);
        assert.deepEqual(await signer.verify(token), { id, stale: false });
        // A second signer with the same secret (another worker, no shared cache) agrees.
        assert.deepEqual(await new Signer(SECRET, 0).verify(token), { id, stale: false });
      }),
      { numRuns: 200 },
    );
  }
});

test("Signer.verify() rejects every single-character change of a signed token (property)", async () => {
  const signer = new Signer(SECRET);
  const token = await signer.sign(generateId());
  const chars = [...B64URL, ".", "=", "+", "/", "%", " ", "\0", "é"];
  await fc.assert(
    fc.asyncProperty(fc.nat(TOKEN_LENGTH - 1), fc.constantFrom(...chars), async (pos, ch) => {
      fc.pre(token[pos] !== ch);
      const mutated = token.slice(0, pos) + ch + token.slice(pos + 1);
      const verdict = await signer.verify(mutated);
      assert.equal(typeof verdict, "string", `accepted ${mutated}`);
    }),
    { numRuns: 1500 },
  );
});

test("Signer.verify() rejects tokens cut, extended, spliced or re-encoded (property)", async () => {
  const signer = new Signer(SECRET);
  const token = await signer.sign(generateId());
  const other = await signer.sign(generateId());
  const mutations = fc.oneof(
    fc.nat(TOKEN_LENGTH - 1).map((n) => token.slice(0, n)),
    fc.string({ minLength: 1, maxLength: 8 }).map((s) => token + s),
    fc.string({ minLength: 1, maxLength: 8 }).map((s) => s + token),
    fc.nat(TOKEN_LENGTH).map((n) => token.slice(0, n) + other.slice(n)).filter((t) => t !== token && t !== other),
    fc.constant(token.toUpperCase()),
    fc.constant(token.toLowerCase()),
    fc.constant(encodeURIComponent(token).replace(/\./g, "%2E")),
    fc.constant(` ${token}`),
    fc.constant(`${token.slice(0, 33)}${token.slice(33).replace(/-/g, "+").replace(/_/g, "/")}=`),
  );
  await fc.assert(
    fc.asyncProperty(mutations, async (mutated) => {
      fc.pre(mutated !== token && mutated !== other);
      assert.equal(typeof (await signer.verify(mutated)), "string", `accepted ${JSON.stringify(mutated)}`);
    }),
    { numRuns: 500 },
  );
});

test("Signer.verify() refuses a signature spelled with different unused trailing bits", async () => {
  const signer = new Signer(SECRET, 0);
  const id = generateId();
  const token = await signer.sign(id);
  const last = token.at(-1)!;
  // 32 bytes take 43 characters; the last one carries 2 bits that decode to nothing.
  const base = B64URL.indexOf(last) & ~3;
  const twins = [0, 1, 2, 3].map((n) => B64URL[base + n]!).filter((ch) => ch !== last);
  assert.equal(twins.length, 3);
  for (const ch of twins) assert.equal(await signer.verify(token.slice(0, -1) + ch), "malformed");
  assert.deepEqual(await signer.verify(token), { id, stale: false });
});

test("Signer.verify() tells junk (malformed) from a well-formed token no secret signed (signature)", async () => {
  const signer = new Signer(SECRET);
  const id = generateId();
  const forged = `${id}.${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  assert.equal(await signer.verify(forged), "signature");
  assert.equal(await signer.verify("nonsense"), "malformed");
  assert.equal(await signer.verify(""), "malformed");
  assert.equal(await signer.verify(`${id}.`), "malformed");
  assert.equal(await signer.verify(`${id}`), "malformed");
});

test("Signer MACs a context label with the id: a MAC of the bare id (as Hono's signed cookies make) is refused", async () => {
  const signer = new Signer(SECRET, 0);
  const id = generateId();
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const bare = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(id)));
  assert.equal(await signer.verify(`${id}.${base64url(bare)}`), "signature");
  // A binding tag is a MAC too, under another label: it never serves as a token signature.
  const tag = await signer.bindTag(id);
  assert.equal(await signer.verify(`${id}.${tag}`), "signature");
});

test("Signer rotation: the first secret signs, older ones still verify and are reported stale", async () => {
  const id = generateId();
  const oldToken = await new Signer(OLD).sign(id);
  const rotated = new Signer([NEW, OLD]);
  assert.deepEqual(await rotated.verify(oldToken), { id, stale: true });
  // Asked again (now from the cache), it is still stale: it must be re-signed.
  assert.deepEqual(await rotated.verify(oldToken), { id, stale: true });
  const resigned = await rotated.sign(id);
  assert.notEqual(resigned, oldToken);
  assert.deepEqual(await rotated.verify(resigned), { id, stale: false });
  assert.deepEqual(await new Signer(NEW).verify(resigned), { id, stale: false });
  // Once the old secret is retired, its tokens are refused.
  assert.equal(await new Signer(NEW).verify(oldToken), "signature");
});

test("Signer cache: a cached id with a different signature still needs a full verification", async () => {
  const signer = new Signer(SECRET);
  const id = generateId();
  const token = await signer.sign(id);
  assert.deepEqual(await signer.verify(token), { id, stale: false }); // now cached
  for (let i = 0; i < 50; i++) {
    const forged = `${id}.${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
    assert.equal(await signer.verify(forged), "signature");
  }
  // Forgeries did not evict or replace the real entry.
  assert.deepEqual(await signer.verify(token), { id, stale: false });
});

test("Signer cache: a signer with a new secret list never answers from another signer's cache", async () => {
  const id = generateId();
  const before = new Signer([NEW, OLD]);
  const oldToken = await new Signer(OLD).sign(id);
  assert.deepEqual(await before.verify(oldToken), { id, stale: true }); // cached in `before`
  const after = new Signer([NEW]); // the rotation is complete: OLD retired
  assert.equal(await after.verify(oldToken), "signature");
});

test("Signer cache: holds at most cacheSize entries, and refused tokens are never remembered", async () => {
  const signer = new Signer(SECRET, 3);
  const tokens = await Promise.all(Array.from({ length: 5 }, () => signer.sign(generateId())));
  // Each still verifies: eviction only costs an HMAC.
  for (const t of tokens) assert.equal(typeof (await signer.verify(t)), "object");
  // Private state is not reachable; measure it through behaviour instead: a signer whose
  // cache is off and one whose cache is tiny give the same answers for everything.
  const off = new Signer(SECRET, 0);
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 90 })), async (t) => {
      assert.deepEqual(await signer.verify(t), await off.verify(t));
    }),
    { numRuns: 300 },
  );
});

/** Count the HMACs (and the bytes they cover) made while `fn` runs. */
async function countHmacs(fn: () => Promise<void> | void): Promise<{ count: number; longest: number }> {
  const proto = HmacSha256.prototype;
  const original = proto.mac;
  const seen = { count: 0, longest: 0 };
  proto.mac = function (this: HmacSha256, message: string | Uint8Array) {
    seen.count++;
    seen.longest = Math.max(
      seen.longest,
      typeof message === "string" ? new TextEncoder().encode(message).length : message.length,
    );
    return original.call(this, message);
  };
  try {
    await fn();
  } finally {
    proto.mac = original;
  }
  return seen;
}

test("Signer cache: keeps two generations of size/2, and a hit in the older one gives the entry a second chance", async () => {
  const size = 4;
  const signer = new Signer(SECRET, size);
  const tokens: string[] = [];
  for (let i = 0; i < 8; i++) tokens.push(signer.sign(generateId()));
  // The model: a young and an old generation of size / 2; a miss (one HMAC) goes young,
  // a hit in the old generation is copied young; a full young generation becomes the old one.
  // sign() inserts nothing: a token is cached once it comes back.
  let young: string[] = [];
  let old: string[] = [];
  const insert = (t: string) => {
    if (young.length >= size / 2) [old, young] = [young, []];
    young.push(t);
  };
  let seed = 7;
  for (let step = 0; step < 3000; step++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const t = tokens[(seed >>> 16) % tokens.length]!; // the high bits: the low ones of this generator cycle
    const expected = young.includes(t) ? 0 : old.includes(t) ? 0 : 1;
    if (expected === 1 || !young.includes(t)) insert(t);
    const { count } = await countHmacs(() => void assert.equal(typeof signer.verify(t), "object"));
    assert.equal(count, expected, `step ${step}`);
  }
});

test("Signer.sign() caches nothing: new tokens (a crawler's) and re-signed ones (a rolling cookie) push no verified one out", async () => {
  const signer = new Signer(SECRET, 4);
  const ids = Array.from({ length: 3 }, () => generateId());
  const tokens = ids.map((id) => signer.sign(id));
  const first = await countHmacs(() => {
    for (const t of tokens) assert.equal(typeof signer.verify(t), "object");
  });
  assert.equal(first.count, 3, "a token is verified in full when it first comes back");
  for (let i = 0; i < 100; i++) signer.sign(ids[0]!);
  for (let i = 0; i < 100; i++) signer.sign(generateId());
  const again = await countHmacs(() => {
    for (const t of tokens) assert.equal(typeof signer.verify(t), "object");
  });
  assert.equal(again.count, 0, "the verified tokens stayed cached");
});

test("Signer.bindTag() caches nothing either: a tag is cached once it has been checked", async () => {
  const signer = new Signer(SECRET);
  const tag = signer.bindTag('["Firefox",null]');
  const first = await countHmacs(() => void assert.equal(signer.checkBindTag('["Firefox",null]', tag), "ok"));
  assert.equal(first.count, 1, "the first check of a tag made here verifies it in full");
  const again = await countHmacs(() => void assert.equal(signer.checkBindTag('["Firefox",null]', tag), "ok"));
  assert.equal(again.count, 0, "then it is cached");
});

test("Signer.bindTag() and checkBindTag() MAC at most about 1 KB, however long the bound values (a 16 KB User-Agent)", async () => {
  const signer = new Signer(SECRET);
  const long = JSON.stringify(["Mozilla/5.0 " + "x".repeat(16 * 1024), "203.0.113.7"]);
  let tag = "";
  const made = await countHmacs(() => void (tag = signer.bindTag(long)));
  assert.ok(made.longest <= 1100, `MACed ${made.longest} bytes`);
  const checked = await countHmacs(() => void assert.equal(new Signer(SECRET).checkBindTag(long, tag), "ok"));
  assert.ok(checked.longest <= 1100, `MACed ${checked.longest} bytes`);
  // The cut keeps both ends and the length: another address, or one more character, is refused.
  assert.equal(signer.checkBindTag(long.replace("203.0.113.7", "198.51.100.9"), tag), false);
  assert.equal(signer.checkBindTag(long.replace("Mozilla/5.0 x", "Mozilla/5.0 xx"), tag), false);
  assert.equal(signer.checkBindTag(long.replace("Mozilla", "Chrome!"), tag), false);
  // Values up to the limit are MACed whole, as before (tags already in stores stay valid).
  const short = JSON.stringify(["Firefox", null]);
  assert.equal(
    signer.bindTag(short),
    base64url(new HmacSha256(new TextEncoder().encode(SECRET)).mac("satchel/bind/1:" + short)),
  );
});

test("new Signer() refuses a secret shorter than 32 bytes, with how to make one", () => {
  assert.throws(() => new Signer("short"), {
    name: "RangeError",
    message:
      "Cannot create session signer: secret must be at least 32 bytes: received 5 (generate one with: openssl rand -base64 48)",
  });
  assert.throws(() => new Signer("x".repeat(31)), { name: "RangeError", message: /received 31/ });
  // Bytes, not characters: 16 two-byte characters are 32 bytes.
  assert.doesNotThrow(() => new Signer("é".repeat(16)));
  assert.throws(() => new Signer([NEW, "short"]), {
    name: "RangeError",
    message: /secret\[1\] must be at least 32 bytes: received 5/,
  });
  assert.throws(() => new Signer([]), { name: "TypeError", message: /non-empty array/ });
  assert.throws(() => new Signer(undefined as unknown as string), { name: "TypeError" });
  assert.throws(() => new Signer([NEW, 42 as unknown as string]), { name: "TypeError" });
});

test("new Signer() refuses a cache size that is not a non-negative integer", () => {
  for (const bad of [-1, 1.5, NaN, Infinity]) {
    assert.throws(() => new Signer(SECRET, bad), {
      name: "RangeError",
      message: /verifiedTokenCache must be a non-negative integer/,
    });
  }
});

test("Signer.sign() refuses anything that is not an id Satchel issues", async () => {
  const signer = new Signer(SECRET);
  for (const bad of ["", "short", generateId() + "x", "a".repeat(31) + "."]) {
    assert.throws(() => signer.sign(bad), TypeError);
  }
});

test("Signer.checkBindTag() accepts the tag of the same values only, and reports an old secret's tag as stale", async () => {
  const signer = new Signer([NEW, OLD]);
  const tag = await signer.bindTag('["Firefox",null]');
  assert.equal(await signer.checkBindTag('["Firefox",null]', tag), "ok");
  assert.equal(await signer.checkBindTag('["Chrome",null]', tag), false);
  assert.equal(await signer.checkBindTag('["Firefox",null]', undefined), false);
  assert.equal(await signer.checkBindTag('["Firefox",null]', 42), false);
  assert.equal(await signer.checkBindTag('["Firefox",null]', tag.slice(1)), false);
  const oldTag = await new Signer(OLD).bindTag('["Firefox",null]');
  assert.equal(await signer.checkBindTag('["Firefox",null]', oldTag), "stale");
  assert.equal(await new Signer(NEW).checkBindTag('["Firefox",null]', oldTag), false);
});

test("Signer.checkBindTag() answers the same with and without its cache, for any values (property)", async () => {
  const cached = new Signer([NEW, OLD]);
  const uncached = new Signer([NEW, OLD], 0);
  const oldSigner = new Signer(OLD, 0);
  const values = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: 500, maxLength: 600 }));
  await fc.assert(
    fc.asyncProperty(values, values, fc.boolean(), async (a, b, old) => {
      const tag = old ? await oldSigner.bindTag(a) : await cached.bindTag(a);
      for (const v of [a, b, a]) {
        assert.equal(await cached.checkBindTag(v, tag), await uncached.checkBindTag(v, tag));
      }
      assert.equal(await cached.checkBindTag(a, tag), old ? "stale" : "ok");
      if (a !== b) assert.equal(await cached.checkBindTag(b, tag), false);
    }),
    { numRuns: 200 },
  );
});
