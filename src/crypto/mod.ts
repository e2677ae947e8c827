/**
 * The crypto boundary: everything the rest of Satchel uses from `src/crypto/`,
 * and nothing else. Token signing with key rotation (HMAC-SHA256), sealing
 * for CookieStore (XChaCha20-Poly1305 under HKDF-SHA256 keys), a digest
 * (SHA-256) and the one constant-time comparison. The primitives are written
 * by hand, synchronous and without Web Crypto (bench/RESULTS.md), and are
 * cross-checked against `@noble/hashes` and `@noble/ciphers` on random
 * inputs (tests/crypto-crosscheck.test.ts). Import from here, not from the
 * files behind it.
 * @module
 */
export { timingSafeEqual } from "./equal.ts";
export { sha256 } from "./hmac.ts";
export { SEAL_OVERHEAD, Sealer } from "./seal.ts";
export { Signer, type Verdict, type VerifiedToken } from "./sign.ts";
