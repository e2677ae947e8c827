/**
 * base64url without padding (RFC 4648 §5): the spelling of session ids,
 * token signatures, binding tags and CookieStore's sealed values.
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const CODES = Array.from(ALPHABET, (ch) => ch.charCodeAt(0));
const ENCODE = Uint8Array.from(CODES);
/** base64url character code → its 6-bit value, or 64 for any other code below 128. */
const DECODE = (() => {
  const table = new Uint8Array(128).fill(64);
  for (let i = 0; i < 64; i++) table[ENCODE[i]!] = i;
  return table;
})();
const ascii = new TextDecoder();
/**
 * Inputs up to this many bytes (ids, MACs) are made into a string from an
 * array of codes, longer ones (sealed cookies) by one native decode: each way
 * is the faster one for its size on V8 (bench/base64url.ts).
 */
const SHORT_INPUT = 64;

/** One or more base64url characters, nothing else. */
export const BASE64URL: RegExp = /^[A-Za-z0-9_-]+$/;

/** Length in characters of `bytes` bytes in base64url without padding. */
export function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

type ToBase64 = (this: Uint8Array, options: { alphabet: "base64url"; omitPadding: boolean }) => string;
const toBase64 = (Uint8Array.prototype as { toBase64?: ToBase64 }).toBase64;
const NATIVE = { alphabet: "base64url", omitPadding: true } as const;

/**
 * The platform's own encoder, `Uint8Array.prototype.toBase64` (Bun and Deno
 * have it, Node 24 not), or `undefined`: on Bun 5 to 7 times faster than
 * either encoder below for ids and MACs, on Deno about as fast
 * (bench/base64url.ts).
 */
export const encodeNative: ((bytes: Uint8Array) => string) | undefined = toBase64 === undefined
  ? undefined
  : (bytes) => toBase64.call(bytes, NATIVE);

/** `bytes` in base64url without padding. */
export const encodeBase64url: (bytes: Uint8Array) => string = encodeNative ??
  ((bytes) => bytes.length <= SHORT_INPUT ? encodeShort(bytes) : encodeLong(bytes));

/** {@linkcode encodeBase64url} for short inputs: the string made once from collected character codes. */
export function encodeShort(bytes: Uint8Array): string {
  const codes: number[] = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    codes.push(CODES[n >> 18]!, CODES[(n >> 12) & 63]!, CODES[(n >> 6) & 63]!, CODES[n & 63]!);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    codes.push(CODES[n >> 18]!, CODES[(n >> 12) & 63]!);
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    codes.push(CODES[n >> 18]!, CODES[(n >> 12) & 63]!, CODES[(n >> 6) & 63]!);
  }
  return String.fromCharCode(...codes);
}

/** {@linkcode encodeBase64url} for long inputs: the characters written as bytes and decoded natively once. */
export function encodeLong(bytes: Uint8Array): string {
  const out = new Uint8Array(base64urlLength(bytes.length));
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[n >>> 18]!;
    out[o++] = ENCODE[(n >>> 12) & 63]!;
    out[o++] = ENCODE[(n >>> 6) & 63]!;
    out[o++] = ENCODE[n & 63]!;
  }
  if (bytes.length - i === 1) {
    out[o++] = ENCODE[bytes[i]! >>> 2]!;
    out[o] = ENCODE[(bytes[i]! & 3) << 4]!;
  } else if (bytes.length - i === 2) {
    const n = (bytes[i]! << 8) | bytes[i + 1]!;
    out[o++] = ENCODE[n >>> 10]!;
    out[o++] = ENCODE[(n >>> 4) & 63]!;
    out[o] = ENCODE[(n << 2) & 63]!;
  }
  return ascii.decode(out);
}

/** The 6-bit value of the character at `i`, or 64 when it is not base64url. */
function sextet(s: string, i: number): number {
  const code = s.charCodeAt(i);
  return code < 128 ? DECODE[code]! : 64;
}

/**
 * The bytes of a canonical unpadded base64url string, or `null` for any
 * other character, an impossible length, or unused bits that are not zero
 * (a second spelling of the same bytes, which must not verify as the same MAC).
 */
export function decodeBase64url(s: string): Uint8Array<ArrayBuffer> | null {
  const rest = s.length % 4;
  if (rest === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  const whole = s.length - rest;
  let bad = 0;
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = sextet(s, i), b = sextet(s, i + 1), c = sextet(s, i + 2), d = sextet(s, i + 3);
    bad |= a | b | c | d;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = n >>> 8;
    out[o++] = n;
  }
  if (rest > 0) {
    const a = sextet(s, whole), b = sextet(s, whole + 1), c = rest === 3 ? sextet(s, whole + 2) : 0;
    bad |= a | b | c;
    const n = (a << 18) | (b << 12) | (c << 6);
    // The bits past the last whole byte must be zero.
    bad |= rest === 2 ? (n & 0xffff) && 64 : (n & 0xff) && 64;
    out[o++] = n >>> 16;
    if (rest === 3) out[o] = n >>> 8;
  }
  return (bad & 64) === 0 ? out : null;
}
