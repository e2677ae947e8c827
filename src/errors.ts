/**
 * Errors Satchel throws. Each extends Hono's `HTTPException`, so an app
 * without its own `onError` answers with the right status, and an app with one
 * can branch on the class (`err instanceof StoreUnavailableError`).
 * @module
 */
import { HTTPException } from "hono/http-exception";

/** Base class of every error Satchel throws on purpose. */
export class SessionError extends HTTPException {
  /** The error's name, for logs and `instanceof`-free checks. */
  override name = "SessionError";
}

/**
 * A session's serialized data is larger than the store accepts. Thrown at
 * commit, before anything is written: the stored session stays as it was.
 */
export class SessionTooLargeError extends SessionError {
  /** The error's name. */
  override name = "SessionTooLargeError";
  /** Size of the rejected payload in bytes. */
  readonly size: number;
  /** The limit it exceeded, in bytes. */
  readonly limit: number;
  /**
   * An error naming the size and the limit, with how to fix it.
   * @param size The rejected payload's size in bytes.
   * @param limit The limit it exceeded, in bytes.
   */
  constructor(size: number, limit: number) {
    super(500, {
      message: `Cannot store session: its payload is ${size} bytes, over the limit of ${limit} bytes; ` +
        `keep less in the session or raise maxPayloadBytes`,
    });
    this.size = size;
    this.limit = limit;
  }
}

/**
 * The store could not be reached or could not complete an operation
 * (database file gone, disk full, lock held too long, Redis down). Answers 503.
 * The original error is in `cause`.
 */
export class StoreUnavailableError extends SessionError {
  /** The error's name. */
  override name = "StoreUnavailableError";
  /**
   * An error answering 503.
   * @param message What failed and how to fix it.
   * @param options.cause The store's original error.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, { message, cause: options?.cause });
  }
}

/** The store has no room left (SQLITE_FULL, Redis OOM). Nothing was written. */
export class StoreFullError extends StoreUnavailableError {
  /** The error's name. */
  override name = "StoreFullError";
}

/**
 * A value given to the session cannot be stored faithfully: a reserved key
 * (`__proto__`, `constructor`, `prototype`) at any depth, a function or
 * symbol, a circular reference, nesting deeper than 64 levels, or a value the
 * serializer refused at commit (then in `cause`). Thrown by `set`, `update`
 * and `flash`, or at commit; nothing is written.
 */
export class SessionDataError extends SessionError {
  /** The error's name. */
  override name = "SessionDataError";
  /**
   * An error answering 500.
   * @param message What failed and how to fix it.
   * @param options.cause The serializer's original error, when it refused the value.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(500, { message, cause: options?.cause });
  }
}
