/**
 * The stored payload: a session's data, its unread flash values, its own
 * lifetime and its client binding, written by the app's serializer.
 * @module
 */
import { describeError } from "../_internal/errors.ts";
import { SessionDataError, SessionTooLargeError } from "../errors.ts";
import type { Serializer } from "../serializer.ts";
import { FORBIDDEN_KEYS } from "../value-guard.ts";

/** What the serializer writes: data, flash, own lifetime (seconds), binding tag. */
export interface Wire {
  d: Record<string, unknown>;
  f?: Record<string, unknown>;
  e?: number;
  b?: string;
}

/** A decoded stored session. */
export interface Decoded {
  data: Map<string, unknown>;
  /** Flash values no request has read yet, in an object without a prototype. */
  flash: Record<string, unknown> | undefined;
  /** The session's own idle lifetime in ms (`setExpires`), if it has one. */
  lifetime: number | undefined;
  /** The binding tag stored with the session, if any. */
  bind: string | undefined;
}

/** Own keys of `source` but the reserved ones, in an object without a prototype. */
function ownValues(source: object): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(source)) if (!FORBIDDEN_KEYS.has(k)) out[k] = (source as Record<string, unknown>)[k];
  return out;
}

/** Turn a payload into data; `null` when it cannot be read (corrupt, or another serializer's). */
export function decodePayload(serializer: Serializer, payload: string): Decoded | null {
  let wire: unknown;
  try {
    wire = serializer.parse(payload);
  } catch {
    return null;
  }
  if (typeof wire !== "object" || wire === null) return null;
  const { d, f, e, b } = wire as Partial<Wire>;
  if (typeof d !== "object" || d === null) return null;
  const data = new Map<string, unknown>();
  for (const k of Object.keys(d)) {
    if (!FORBIDDEN_KEYS.has(k)) data.set(k, (d as Record<string, unknown>)[k]);
  }
  // A crafted payload can neither reach Object.prototype nor make flash("toString") answer an inherited function.
  const flash = typeof f === "object" && f !== null ? ownValues(f) : undefined;
  const lifetime = typeof e === "number" && Number.isFinite(e) && e > 0 ? e * 1000 : undefined;
  return { data, flash, lifetime, bind: typeof b === "string" ? b : undefined };
}

const encoder = new TextEncoder();

/** UTF-8 length of `s`, skipping the encode when it is clearly under `limit`. */
function byteLength(s: string, limit: number): number {
  // UTF-8 takes between 1 and 3 bytes per UTF-16 unit.
  if (s.length * 3 <= limit) return s.length;
  return encoder.encode(s).length;
}

/**
 * The payload of `wire`.
 * @throws {SessionDataError} when the serializer refuses a value.
 * @throws {SessionTooLargeError} when the payload is over `maxPayloadBytes`.
 */
export function encodePayload(serializer: Serializer, wire: Wire, maxPayloadBytes: number): string {
  let payload: string;
  try {
    payload = serializer.stringify(wire);
  } catch (cause) {
    // A value changed after set() (now circular or too deep), or one this serializer cannot write.
    throw new SessionDataError(
      `Cannot store session: the serializer failed (${describeError(cause)}); keep plain, acyclic data in the session`,
      {
        cause,
      },
    );
  }
  const size = byteLength(payload, maxPayloadBytes);
  if (size > maxPayloadBytes) throw new SessionTooLargeError(size, maxPayloadBytes);
  return payload;
}
