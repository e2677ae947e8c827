/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) for short messages, in plain JavaScript:
 * Web Crypto's HMAC is only awaited, and its hand-off to a worker thread costs
 * more than the hash (bench/RESULTS.md#what-was-changed-for-speed-and-measured).
 * The key's pads are hashed once at setup. No branch or table lookup depends
 * on the key or the message; callers compare MACs with timingSafeEqual
 * (./equal.ts). Checked against RFC 4231, Web Crypto (tests/hmac.test.ts)
 * and @noble/hashes (tests/crypto-crosscheck.test.ts).
 * @module
 */

// deno-fmt-ignore
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// deno-fmt-ignore
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** One SHA-256 block compression: `state` absorbs the 16 big-endian words at `w[0..15]` (w is scratch, 64 long). */
function compress(state: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!, b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  let e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** Big-endian 32-bit words of the 64 bytes at `offset`, into `w[0..15]`, then compress. */
function absorb(state: Int32Array, w: Int32Array, bytes: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
  }
  compress(state, w);
}

/**
 * Absorb all of `data` and SHA-256's padding into `state`, which already
 * absorbed `prefixBytes` (a whole number of blocks). `w` and `block` are scratch.
 */
function finish(state: Int32Array, w: Int32Array, block: Uint8Array, data: Uint8Array, prefixBytes: number): void {
  let at = 0;
  for (; data.length - at >= 64; at += 64) absorb(state, w, data, at);
  const rest = data.length - at;
  block.fill(0);
  block.set(at === 0 ? data : data.subarray(at), 0);
  block[rest] = 0x80;
  if (rest >= 56) {
    absorb(state, w, block, 0);
    block.fill(0);
  }
  const bits = (prefixBytes + data.length) * 8;
  const high = Math.floor(bits / 2 ** 32);
  block[56] = high >>> 24;
  block[57] = (high >>> 16) & 0xff;
  block[58] = (high >>> 8) & 0xff;
  block[59] = high & 0xff;
  block[60] = bits >>> 24;
  block[61] = (bits >>> 16) & 0xff;
  block[62] = (bits >>> 8) & 0xff;
  block[63] = bits & 0xff;
  absorb(state, w, block, 0);
}

/** The 32 bytes of a finished state, big-endian, into `out`. */
function digestOf(state: Int32Array, out: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    const v = state[i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 0xff;
    out[i * 4 + 2] = (v >>> 8) & 0xff;
    out[i * 4 + 3] = v & 0xff;
  }
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const state = new Int32Array(IV);
  finish(state, new Int32Array(64), new Uint8Array(64), data, 0);
  const out = new Uint8Array(32);
  digestOf(state, out);
  return out;
}

const encoder = new TextEncoder();

/**
 * A key ready to MAC many messages: its inner and outer pad states are
 * hashed once here, so each MAC of a message under 56 bytes is two block
 * compressions. Not safe to share across threads (it reuses scratch
 * buffers), which JavaScript never does.
 */
export class HmacSha256 {
  #inner = new Int32Array(8);
  #outer = new Int32Array(8);
  #state = new Int32Array(8);
  #w = new Int32Array(64);
  #block = new Uint8Array(64);

  /** @param key The raw key bytes; a key longer than 64 bytes is hashed first (RFC 2104). */
  constructor(key: Uint8Array) {
    const k = key.length > 64 ? sha256(key) : key;
    const pad = new Uint8Array(64);
    for (const [target, byte] of [[this.#inner, 0x36], [this.#outer, 0x5c]] as const) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] = k[i]! ^ byte;
      target.set(IV);
      absorb(target, this.#w, pad, 0);
    }
    pad.fill(0);
  }

  /** HMAC-SHA256 of `message` (a string is UTF-8 encoded): 32 bytes. */
  mac(message: string | Uint8Array): Uint8Array<ArrayBuffer> {
    const data = typeof message === "string" ? encoder.encode(message) : message;
    const state = this.#state, w = this.#w, block = this.#block;
    const digest = new Uint8Array(32);
    state.set(this.#inner);
    finish(state, w, block, data, 64);
    digestOf(state, digest);
    state.set(this.#outer);
    finish(state, w, block, digest, 64);
    digestOf(state, digest);
    return digest;
  }
}
