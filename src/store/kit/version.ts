/**
 * The version a new row of a compare-and-set table starts at (PostgresStore,
 * D1Store): random below 2^52, never the column's default 1. A row deleted
 * and written again under its id would otherwise start at 1 again, and a
 * compare-and-set against a read of the first row (version 1) would take the
 * second for it and write over it. Below 2^52 so that the row can then be
 * updated 2^52 times and still read back exactly as a JavaScript number
 * (D1 returns integers as numbers): past 2^53 a version reads back rounded,
 * its compare-and-set never matches, and every later update would fail.
 * @module
 */

/** A fresh random first version, below 2^52. */
export function firstVersion(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi! & 0xf_ffff) * 2 ** 32 + lo!;
}
