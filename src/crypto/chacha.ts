/**
 * XChaCha20-Poly1305 (RFC 8439, with the 24-byte nonce of
 * draft-irtf-cfrg-xchacha) in plain JavaScript, for CookieStore: Web Crypto
 * has no ChaCha and only an awaited AES-GCM (bench/RESULTS.md#cookiestore),
 * and a synchronous cipher lets the store answer synchronously. A random
 * 24-byte nonce does not repeat under one key in practice, so one key per
 * secret suffices. No table lookup or branch depends on the key or the data,
 * and the tag is compared without an early exit. Checked against RFC 8439,
 * libsodium's HChaCha20 vectors and node:crypto (tests/chacha.test.ts), and
 * @noble/ciphers (tests/crypto-crosscheck.test.ts).
 * @module
 */
// deno-fmt-ignore-file -- the quarter rounds and the limb arithmetic are laid out in columns, as in RFC 8439
import { timingSafeEqual } from "./equal.ts";

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;
/** Bytes of an XChaCha20-Poly1305 key, nonce and tag. */
export const KEY_BYTES = 32;
export const XNONCE_BYTES = 24;
export const TAG_BYTES = 16;

function word(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) | 0;
}

/** 20 rounds (10 column + diagonal double rounds) of `x` in place. */
function rounds(x: Int32Array): void {
  let x0 = x[0]!, x1 = x[1]!, x2 = x[2]!, x3 = x[3]!, x4 = x[4]!, x5 = x[5]!, x6 = x[6]!, x7 = x[7]!;
  let x8 = x[8]!, x9 = x[9]!, x10 = x[10]!, x11 = x[11]!, x12 = x[12]!, x13 = x[13]!, x14 = x[14]!, x15 = x[15]!;
  let t: number;
  for (let i = 0; i < 10; i++) {
    x0 = (x0 + x4) | 0; t = x12 ^ x0; x12 = (t << 16) | (t >>> 16);
    x8 = (x8 + x12) | 0; t = x4 ^ x8; x4 = (t << 12) | (t >>> 20);
    x0 = (x0 + x4) | 0; t = x12 ^ x0; x12 = (t << 8) | (t >>> 24);
    x8 = (x8 + x12) | 0; t = x4 ^ x8; x4 = (t << 7) | (t >>> 25);
    x1 = (x1 + x5) | 0; t = x13 ^ x1; x13 = (t << 16) | (t >>> 16);
    x9 = (x9 + x13) | 0; t = x5 ^ x9; x5 = (t << 12) | (t >>> 20);
    x1 = (x1 + x5) | 0; t = x13 ^ x1; x13 = (t << 8) | (t >>> 24);
    x9 = (x9 + x13) | 0; t = x5 ^ x9; x5 = (t << 7) | (t >>> 25);
    x2 = (x2 + x6) | 0; t = x14 ^ x2; x14 = (t << 16) | (t >>> 16);
    x10 = (x10 + x14) | 0; t = x6 ^ x10; x6 = (t << 12) | (t >>> 20);
    x2 = (x2 + x6) | 0; t = x14 ^ x2; x14 = (t << 8) | (t >>> 24);
    x10 = (x10 + x14) | 0; t = x6 ^ x10; x6 = (t << 7) | (t >>> 25);
    x3 = (x3 + x7) | 0; t = x15 ^ x3; x15 = (t << 16) | (t >>> 16);
    x11 = (x11 + x15) | 0; t = x7 ^ x11; x7 = (t << 12) | (t >>> 20);
    x3 = (x3 + x7) | 0; t = x15 ^ x3; x15 = (t << 8) | (t >>> 24);
    x11 = (x11 + x15) | 0; t = x7 ^ x11; x7 = (t << 7) | (t >>> 25);
    x0 = (x0 + x5) | 0; t = x15 ^ x0; x15 = (t << 16) | (t >>> 16);
    x10 = (x10 + x15) | 0; t = x5 ^ x10; x5 = (t << 12) | (t >>> 20);
    x0 = (x0 + x5) | 0; t = x15 ^ x0; x15 = (t << 8) | (t >>> 24);
    x10 = (x10 + x15) | 0; t = x5 ^ x10; x5 = (t << 7) | (t >>> 25);
    x1 = (x1 + x6) | 0; t = x12 ^ x1; x12 = (t << 16) | (t >>> 16);
    x11 = (x11 + x12) | 0; t = x6 ^ x11; x6 = (t << 12) | (t >>> 20);
    x1 = (x1 + x6) | 0; t = x12 ^ x1; x12 = (t << 8) | (t >>> 24);
    x11 = (x11 + x12) | 0; t = x6 ^ x11; x6 = (t << 7) | (t >>> 25);
    x2 = (x2 + x7) | 0; t = x13 ^ x2; x13 = (t << 16) | (t >>> 16);
    x8 = (x8 + x13) | 0; t = x7 ^ x8; x7 = (t << 12) | (t >>> 20);
    x2 = (x2 + x7) | 0; t = x13 ^ x2; x13 = (t << 8) | (t >>> 24);
    x8 = (x8 + x13) | 0; t = x7 ^ x8; x7 = (t << 7) | (t >>> 25);
    x3 = (x3 + x4) | 0; t = x14 ^ x3; x14 = (t << 16) | (t >>> 16);
    x9 = (x9 + x14) | 0; t = x4 ^ x9; x4 = (t << 12) | (t >>> 20);
    x3 = (x3 + x4) | 0; t = x14 ^ x3; x14 = (t << 8) | (t >>> 24);
    x9 = (x9 + x14) | 0; t = x4 ^ x9; x4 = (t << 7) | (t >>> 25);
  }
  x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3; x[4] = x4; x[5] = x5; x[6] = x6; x[7] = x7;
  x[8] = x8; x[9] = x9; x[10] = x10; x[11] = x11; x[12] = x12; x[13] = x13; x[14] = x14; x[15] = x15;
}

// Scratch space: every function here runs to completion synchronously, so one set is enough.
const STATE = new Int32Array(16);
const X = new Int32Array(16);
const STREAM = new Uint8Array(64);

/**
 * `data` xor the ChaCha20 keystream of a 32-byte key and 12-byte nonce from
 * block `counter` (RFC 8439 §2.3, §2.4), into `out` (which may be `data`).
 */
export function chacha20Xor(
  key: Uint8Array,
  counter: number,
  nonce: Uint8Array,
  data: Uint8Array,
  out: Uint8Array,
): void {
  const state = STATE, x = X, stream = STREAM;
  state.set(SIGMA);
  for (let i = 0; i < 8; i++) state[4 + i] = word(key, i * 4);
  state[12] = counter | 0;
  for (let i = 0; i < 3; i++) state[13 + i] = word(nonce, i * 4);
  for (let at = 0; at < data.length; at += 64) {
    x.set(state);
    rounds(x);
    for (let i = 0; i < 16; i++) {
      const w = (x[i]! + state[i]!) | 0;
      stream[i * 4] = w;
      stream[i * 4 + 1] = w >>> 8;
      stream[i * 4 + 2] = w >>> 16;
      stream[i * 4 + 3] = w >>> 24;
    }
    const n = Math.min(64, data.length - at);
    for (let i = 0; i < n; i++) out[at + i] = data[at + i]! ^ stream[i]!;
    state[12] = (state[12]! + 1) | 0;
  }
  stream.fill(0);
  x.fill(0);
  state.fill(0);
}

/** HChaCha20 (draft-irtf-cfrg-xchacha §2.2): a 32-byte subkey from a key and a 16-byte input. */
export function hchacha20(key: Uint8Array, input: Uint8Array): Uint8Array<ArrayBuffer> {
  const x = X;
  x.set(SIGMA);
  for (let i = 0; i < 8; i++) x[4 + i] = word(key, i * 4);
  for (let i = 0; i < 4; i++) x[12 + i] = word(input, i * 4);
  rounds(x);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = x[i < 4 ? i : i + 8]!;
    out[i * 4] = w & 0xff;
    out[i * 4 + 1] = (w >>> 8) & 0xff;
    out[i * 4 + 2] = (w >>> 16) & 0xff;
    out[i * 4 + 3] = w >>> 24;
  }
  x.fill(0);
  return out;
}

/**
 * Poly1305 (RFC 8439 §2.5) over messages made of whole 16-byte blocks, which
 * is all the AEAD needs (it pads each part with zeros to 16 bytes). The
 * accumulator lives in ten 13-bit limbs, so every product and sum stays an
 * exact 32-bit integer.
 */
class Poly1305 {
  #r = new Uint16Array(10);
  #h = new Uint16Array(10);
  #pad = new Uint16Array(8);
  #block = new Uint8Array(16);
  #t = new Uint16Array(8);
  #g = new Uint16Array(10);
  #w = new Uint16Array(8);

  /** Start a new MAC under the one-time key `key` (32 bytes: r, then s). */
  reset(key: Uint8Array): void {
    this.#h.fill(0);
    const t = this.#t;
    for (let i = 0; i < 8; i++) t[i] = key[i * 2]! | (key[i * 2 + 1]! << 8);
    // r, clamped (RFC 8439 §2.5.1), split into 13-bit limbs.
    const r = this.#r;
    r[0] = t[0]! & 0x1fff;
    r[1] = ((t[0]! >>> 13) | (t[1]! << 3)) & 0x1fff;
    r[2] = ((t[1]! >>> 10) | (t[2]! << 6)) & 0x1f03;
    r[3] = ((t[2]! >>> 7) | (t[3]! << 9)) & 0x1fff;
    r[4] = ((t[3]! >>> 4) | (t[4]! << 12)) & 0x00ff;
    r[5] = (t[4]! >>> 1) & 0x1ffe;
    r[6] = ((t[4]! >>> 14) | (t[5]! << 2)) & 0x1fff;
    r[7] = ((t[5]! >>> 11) | (t[6]! << 5)) & 0x1f81;
    r[8] = ((t[6]! >>> 8) | (t[7]! << 8)) & 0x1fff;
    r[9] = (t[7]! >>> 5) & 0x007f;
    for (let i = 0; i < 8; i++) this.#pad[i] = key[16 + i * 2]! | (key[16 + i * 2 + 1]! << 8);
  }

  /** Absorb `m[at..at+len)` as blocks, the last one zero-padded to 16 bytes. */
  update(m: Uint8Array, at = 0, len = m.length - at): void {
    const whole = len - (len % 16);
    if (whole > 0) this.#blocks(m, at, whole);
    if (whole === len) return;
    this.#block.fill(0);
    this.#block.set(m.subarray(at + whole, at + len));
    this.#blocks(this.#block, 0, 16);
  }

  // Unrolled, as in TweetNaCl: each limb's ten products are summed in two
  // halves with a carry between, so every sum stays under 2^32 and `>>>` is exact.
  /** h = (h + block + 2^128) * r mod 2^130 - 5, for each 16-byte block of `m[at..at+len)` (len a multiple of 16). */
  #blocks(m: Uint8Array, at: number, len: number): void {
    const h = this.#h, r = this.#r;
    let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!,
      h5 = h[5]!, h6 = h[6]!, h7 = h[7]!, h8 = h[8]!, h9 = h[9]!;
    const r0 = r[0]!, r1 = r[1]!, r2 = r[2]!, r3 = r[3]!, r4 = r[4]!,
      r5 = r[5]!, r6 = r[6]!, r7 = r[7]!, r8 = r[8]!, r9 = r[9]!;
    const s1 = 5 * r1, s2 = 5 * r2, s3 = 5 * r3, s4 = 5 * r4, s5 = 5 * r5,
      s6 = 5 * r6, s7 = 5 * r7, s8 = 5 * r8, s9 = 5 * r9;
    for (let p = at; p < at + len; p += 16) {
      const t0 = m[p + 0]! | (m[p + 1]! << 8);
      const t1 = m[p + 2]! | (m[p + 3]! << 8);
      const t2 = m[p + 4]! | (m[p + 5]! << 8);
      const t3 = m[p + 6]! | (m[p + 7]! << 8);
      const t4 = m[p + 8]! | (m[p + 9]! << 8);
      const t5 = m[p + 10]! | (m[p + 11]! << 8);
      const t6 = m[p + 12]! | (m[p + 13]! << 8);
      const t7 = m[p + 14]! | (m[p + 15]! << 8);
      h0 += t0 & 0x1fff;
      h1 += ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
      h2 += ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
      h3 += ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
      h4 += ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
      h5 += (t4 >>> 1) & 0x1fff;
      h6 += ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
      h7 += ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
      h8 += ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
      h9 += (t7 >>> 5) | (1 << 11);
      let c = 0;
      let d0 = c + h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6;
      c = d0 >>> 13;
      d0 = (d0 & 0x1fff) + h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
      c += d0 >>> 13;
      d0 &= 0x1fff;
      let d1 = c + h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7;
      c = d1 >>> 13;
      d1 = (d1 & 0x1fff) + h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
      c += d1 >>> 13;
      d1 &= 0x1fff;
      let d2 = c + h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8;
      c = d2 >>> 13;
      d2 = (d2 & 0x1fff) + h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
      c += d2 >>> 13;
      d2 &= 0x1fff;
      let d3 = c + h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9;
      c = d3 >>> 13;
      d3 = (d3 & 0x1fff) + h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
      c += d3 >>> 13;
      d3 &= 0x1fff;
      let d4 = c + h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
      c = d4 >>> 13;
      d4 = (d4 & 0x1fff) + h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
      c += d4 >>> 13;
      d4 &= 0x1fff;
      let d5 = c + h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1;
      c = d5 >>> 13;
      d5 = (d5 & 0x1fff) + h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
      c += d5 >>> 13;
      d5 &= 0x1fff;
      let d6 = c + h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2;
      c = d6 >>> 13;
      d6 = (d6 & 0x1fff) + h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
      c += d6 >>> 13;
      d6 &= 0x1fff;
      let d7 = c + h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3;
      c = d7 >>> 13;
      d7 = (d7 & 0x1fff) + h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
      c += d7 >>> 13;
      d7 &= 0x1fff;
      let d8 = c + h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4;
      c = d8 >>> 13;
      d8 = (d8 & 0x1fff) + h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
      c += d8 >>> 13;
      d8 &= 0x1fff;
      let d9 = c + h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5;
      c = d9 >>> 13;
      d9 = (d9 & 0x1fff) + h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
      c += d9 >>> 13;
      d9 &= 0x1fff;
      c = ((c << 2) + c) | 0;
      c = (c + d0) | 0;
      d0 = c & 0x1fff;
      d1 += c >>> 13;
      h0 = d0; h1 = d1; h2 = d2; h3 = d3; h4 = d4; h5 = d5; h6 = d6; h7 = d7; h8 = d8; h9 = d9;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7; h[8] = h8; h[9] = h9;
  }

  /** The 16-byte tag: h fully reduced mod 2^130 - 5, plus s, mod 2^128. */
  finish(tag: Uint8Array): void {
    const h = this.#h;
    const g = this.#g;
    let c = h[1]! >>> 13;
    h[1] = h[1]! & 0x1fff;
    for (let i = 2; i < 10; i++) {
      h[i] = h[i]! + c;
      c = h[i]! >>> 13;
      h[i] = h[i]! & 0x1fff;
    }
    h[0] = h[0]! + c * 5;
    c = h[0]! >>> 13;
    h[0] = h[0]! & 0x1fff;
    h[1] = h[1]! + c;
    c = h[1]! >>> 13;
    h[1] = h[1]! & 0x1fff;
    h[2] = h[2]! + c;
    // g = h + 5 - 2^130; take g when it did not borrow (h >= p), without a branch.
    g[0] = h[0]! + 5;
    c = g[0]! >>> 13;
    g[0] = g[0]! & 0x1fff;
    for (let i = 1; i < 10; i++) {
      g[i] = h[i]! + c;
      c = g[i]! >>> 13;
      g[i] = g[i]! & 0x1fff;
    }
    g[9] = g[9]! - (1 << 13);
    let mask = (c ^ 1) - 1;
    for (let i = 0; i < 10; i++) g[i] = g[i]! & mask;
    mask = ~mask;
    for (let i = 0; i < 10; i++) h[i] = (h[i]! & mask) | g[i]!;
    const w = this.#w;
    w[0] = (h[0]! | (h[1]! << 13)) & 0xffff;
    w[1] = ((h[1]! >>> 3) | (h[2]! << 10)) & 0xffff;
    w[2] = ((h[2]! >>> 6) | (h[3]! << 7)) & 0xffff;
    w[3] = ((h[3]! >>> 9) | (h[4]! << 4)) & 0xffff;
    w[4] = ((h[4]! >>> 12) | (h[5]! << 1) | (h[6]! << 14)) & 0xffff;
    w[5] = ((h[6]! >>> 2) | (h[7]! << 11)) & 0xffff;
    w[6] = ((h[7]! >>> 5) | (h[8]! << 8)) & 0xffff;
    w[7] = ((h[8]! >>> 8) | (h[9]! << 5)) & 0xffff;
    let f = w[0]! + this.#pad[0]!;
    w[0] = f & 0xffff;
    for (let i = 1; i < 8; i++) {
      f = ((w[i]! + this.#pad[i]!) | 0) + (f >>> 16);
      w[i] = f & 0xffff;
    }
    for (let i = 0; i < 8; i++) {
      tag[i * 2] = w[i]! & 0xff;
      tag[i * 2 + 1] = w[i]! >>> 8;
    }
    h.fill(0);
    this.#r.fill(0);
    this.#pad.fill(0);
  }
}

const POLY = new Poly1305();

/**
 * Poly1305 of a message whose length is a multiple of 16 bytes (for the RFC
 * 8439 §A.3 vectors; other lengths would need the standard's last-block rule).
 */
export function poly1305Blocks(key: Uint8Array, message: Uint8Array): Uint8Array<ArrayBuffer> {
  if (message.length % 16 !== 0) {
    throw new RangeError("Cannot compute Poly1305: message length must be a multiple of 16 here");
  }
  const tag = new Uint8Array(16);
  POLY.reset(key);
  POLY.update(message);
  POLY.finish(tag);
  return tag;
}
const OTK = new Uint8Array(32);
const LENGTHS = new Uint8Array(16);
const TAG = new Uint8Array(16);

/** The AEAD's tag over `ad` and `ct` with the one-time Poly1305 key of (key, nonce) (RFC 8439 §2.8). */
function tagOf(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  ct: Uint8Array,
  ctAt: number,
  ctLen: number,
): Uint8Array {
  OTK.fill(0);
  chacha20Xor(key, 0, nonce, OTK, OTK);
  POLY.reset(OTK);
  OTK.fill(0);
  POLY.update(ad);
  POLY.update(ct, ctAt, ctLen);
  // Lengths as 64-bit little-endian; both are far below 2^32.
  LENGTHS.fill(0);
  for (let i = 0; i < 4; i++) {
    LENGTHS[i] = ad.length >>> (8 * i);
    LENGTHS[8 + i] = ctLen >>> (8 * i);
  }
  POLY.update(LENGTHS);
  POLY.finish(TAG);
  return TAG;
}

/**
 * ChaCha20-Poly1305 (RFC 8439 §2.8) of `plaintext` into `out` at `at`:
 * ciphertext then the 16-byte tag (`plaintext.length + 16` bytes).
 */
export function chacha20Poly1305Seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const ct = out.subarray(at, at + plaintext.length);
  chacha20Xor(key, 1, nonce, plaintext, ct);
  out.set(tagOf(key, nonce, ad, out, at, plaintext.length), at + plaintext.length);
}

/**
 * The plaintext of `sealed[at..]` (ciphertext then tag) under ChaCha20-Poly1305,
 * or null when the tag does not match: nothing is decrypted then.
 */
export function chacha20Poly1305Open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  at: number,
  ad: Uint8Array,
): Uint8Array<ArrayBuffer> | null {
  const ctLen = sealed.length - at - TAG_BYTES;
  if (ctLen < 0) return null;
  const tag = sealed.subarray(at + ctLen, at + ctLen + TAG_BYTES);
  if (!timingSafeEqual(tagOf(key, nonce, ad, sealed, at, ctLen), tag)) return null;
  const plain = new Uint8Array(ctLen);
  chacha20Xor(key, 1, nonce, sealed.subarray(at, at + ctLen), plain);
  return plain;
}

/** The ChaCha20 key and 12-byte nonce XChaCha20 uses for a 24-byte nonce. */
function extended(key: Uint8Array, xnonce: Uint8Array): { subkey: Uint8Array; nonce: Uint8Array } {
  const nonce = new Uint8Array(12);
  nonce.set(xnonce.subarray(16, 24), 4);
  return { subkey: hchacha20(key, xnonce.subarray(0, 16)), nonce };
}

/** XChaCha20-Poly1305 seal: ciphertext and tag of `plaintext` into `out` at `at`. */
export function xchacha20Poly1305Seal(
  key: Uint8Array,
  xnonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const { subkey, nonce } = extended(key, xnonce);
  chacha20Poly1305Seal(subkey, nonce, plaintext, ad, out, at);
}

/** XChaCha20-Poly1305 open of `sealed[at..]`, or null when it does not authenticate. */
export function xchacha20Poly1305Open(
  key: Uint8Array,
  xnonce: Uint8Array,
  sealed: Uint8Array,
  at: number,
  ad: Uint8Array,
): Uint8Array<ArrayBuffer> | null {
  const { subkey, nonce } = extended(key, xnonce);
  return chacha20Poly1305Open(subkey, nonce, sealed, at, ad);
}
