/**
 * How a store reports failure, one way for every store: a driver's error
 * becomes a {@linkcode StoreUnavailableError} (503) or, when the backend is
 * full, a {@linkcode StoreFullError}, with the driver's error as `cause`; a
 * closed store says so.
 * @module
 */
import { SessionError, SessionTooLargeError, StoreFullError, StoreUnavailableError } from "../../errors.ts";

/** What a store makes of one driver failure: why it failed, for the message, and whether the backend is full. */
export interface Diagnosis {
  /** Ends the message `Cannot <action> session: <why>`, e.g. `"D1 failed (…)"`. */
  why: string;
  /** The backend has no room left: a {@linkcode StoreFullError}. */
  full?: boolean;
}

/** A store's reading of its driver's errors; `action` is what failed (`"load"`, `"store"`, …). */
export type Diagnose = (cause: unknown, action: string) => Diagnosis;

/**
 * The error a store throws for `cause`: Satchel's own errors pass as they
 * are; anything else becomes `Cannot <action> session: <why>` as
 * {@linkcode StoreFullError} or {@linkcode StoreUnavailableError}, with `cause`.
 */
export function storeError(action: string, cause: unknown, diagnose: Diagnose): SessionError {
  if (cause instanceof SessionError) return cause;
  const { why, full = false } = diagnose(cause, action);
  const message = `Cannot ${action} session: ${why}`;
  return full ? new StoreFullError(message, { cause }) : new StoreUnavailableError(message, { cause });
}

/** Run `op`; its failure becomes {@linkcode storeError}. Synchronous when `op` is. */
export function guardSync<T>(action: string, diagnose: Diagnose, op: () => T): T {
  try {
    return op();
  } catch (cause) {
    throw storeError(action, cause, diagnose);
  }
}

/** Await `op`; its failure becomes {@linkcode storeError}. */
export async function guard<T>(action: string, diagnose: Diagnose, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (cause) {
    throw storeError(action, cause, diagnose);
  }
}

/** The error of a call to a store after its `close()`. */
export function closedError(store: string): StoreUnavailableError {
  return new StoreUnavailableError(`Cannot use ${store}: it was closed`);
}

/** Whether a store was closed; {@linkcode OpenFlag.check} throws {@linkcode closedError} once it was. */
export class OpenFlag {
  #store: string;
  #closed = false;

  /** @param store The store's name, for the error. */
  constructor(store: string) {
    this.#store = store;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Mark the store closed; false when it already was. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  /** @throws {StoreUnavailableError} once the store was closed. */
  check(): void {
    if (this.#closed) throw closedError(this.#store);
  }
}

const encoder = new TextEncoder();

/**
 * A payload's UTF-8 bytes, for a store that counts its limit in bytes.
 * @throws {SessionTooLargeError} when there are more than `maxPayloadBytes`; nothing is written then.
 */
export function payloadBytes(payload: string, maxPayloadBytes: number): Uint8Array {
  const bytes = encoder.encode(payload);
  if (bytes.length > maxPayloadBytes) throw new SessionTooLargeError(bytes.length, maxPayloadBytes);
  return bytes;
}
