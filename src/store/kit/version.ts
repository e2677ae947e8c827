/**
 * The version a new row of a compare-and-set table starts at (PostgresStore,
 * D1Store): random below 2^53, never the column's default 1. A row deleted
 * and written again under its id would otherwise start at 1 again, and a
 * compare-and-set against a read of the first row (version 1) would take the
 * second for it and write over it. Below 2^53 so every driver reads it back
 * exactly as a JavaScript number; `version + 1` stays far from 2^63.
 * @module
 */

/** A fresh random first version, below 2^53. */
export function firstVersion(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi! & 0x1f_ffff) * 2 ** 32 + lo!;
}
