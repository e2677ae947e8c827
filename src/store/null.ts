/**
 * A store that keeps nothing: a session lives for the one request that made it.
 * @module
 */
import { readOptions } from "./kit/mod.ts";
import type { DeleteByUser, SessionStore, StoredSession, SynchronousStore, UpdateFn } from "./types.ts";

/**
 * Keeps nothing: `get` always answers `null`, writes are dropped. The
 * session API works within a request (a handler can set and read values, a
 * flash is visible to nobody), and every request starts with an empty
 * session. For apps and tests that need the middleware's API but must not
 * remember anyone: no disk, no memory growth, nothing to sweep. The id cookie
 * of a session a request wrote is still sent (the middleware does not know
 * the store forgets); it names nothing on the next request.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { session } from "satchel";
 * import { NullStore } from "satchel/null";
 *
 * const app = new Hono();
 * app.use(session({ secret: "replace with 32+ random bytes, e.g. from openssl", store: new NullStore() }));
 * ```
 */
export class NullStore implements SessionStore, SynchronousStore, DeleteByUser {
  /** Every method answers synchronously (see {@linkcode SynchronousStore}): the session loads on first use. */
  readonly synchronous = true;

  /**
   * A store that keeps nothing; it takes no options.
   * @throws {TypeError} when given any option.
   */
  constructor(options: Record<never, never> = {}) {
    readOptions("NullStore", options, {});
  }

  /** Always `null`: nothing was kept. */
  get(_id: string): null {
    return null;
  }

  /** Drops the session. */
  set(_id: string, _session: StoredSession): void {}

  /** Nothing to delete. */
  delete(_id: string): void {}

  /**
   * Calls `fn` with `null` (so its errors, such as a session over the size
   * limit, surface as with any store) and keeps nothing.
   * @returns `null`: nothing was stored.
   */
  update(_id: string, fn: UpdateFn): null {
    fn(null);
    return null;
  }

  /** Nothing to delete: 0. */
  deleteByUser(_userId: string): number {
    return 0;
  }
}
