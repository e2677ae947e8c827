/**
 * The commit decision: what a request writes to the store and what it tells
 * the client, as one pure function of the session's {@linkcode CommitFacts},
 * and the store calls that carry it out.
 * @module
 */
import { after } from "../awaitable.ts";
import {
  type Awaitable,
  canTouch,
  hasGroupCommit,
  isSynchronousStore,
  type SessionStore,
  type StoredSession,
} from "../store/types.ts";
import type { CommitFacts, SessionCore } from "./core.ts";
import { expiryAt, type ExpiryPolicy, refreshTo, writeExpiry } from "./expiry.ts";

/**
 * The store side: `touch` moves the expiry only; `merge` applies the patch to
 * the loaded row atomically; `move` writes it under the new id, then deletes
 * the old row; `insert` writes a new row; `delete` removes the loaded row;
 * `replace` deletes it and inserts a new session.
 */
export type StoreOp =
  | { readonly op: "none" }
  | { readonly op: "touch"; readonly expiresAt: number }
  | { readonly op: "merge" | "move" | "insert" | "delete" | "replace" };

/** The client side: leave its token, send the session's (valid until `expiresAt`), or clear it. */
export type CookieOp = { readonly op: "keep" } | { readonly op: "send"; readonly expiresAt: number } | {
  readonly op: "clear";
};

/** What one request commits. */
export interface Decision {
  readonly store: StoreOp;
  readonly cookie: CookieOp;
}

/** The request's circumstances the decision also depends on. */
export interface CommitContext {
  readonly now: number;
  policy: ExpiryPolicy;
  /** The handler threw or answered 5xx: nothing but a `destroy()` is committed. */
  readonly failed: boolean;
  /** The state's tokens expire with the session (a persistent cookie). */
  readonly persistent: boolean;
}

const NONE: StoreOp = { op: "none" };
const KEEP: CookieOp = { op: "keep" };
const CLEAR: CookieOp = { op: "clear" };
/** Nothing to store and nothing to send. */
export const NOTHING: Decision = { store: NONE, cookie: KEEP };

const send = (expiresAt: number): CookieOp => ({ op: "send", expiresAt });

/**
 * Decide what a request commits. Rules, in order:
 * 1. An untouched session commits nothing (lazy sessions).
 * 2. `destroy()` deletes the loaded row and clears the client's token, even
 *    when the request failed or set `noStore`; data set after it starts a new session.
 * 3. A failed request, or `noStore`, commits nothing else.
 * 4. The client's token is cleared only after `destroy()` or when the token
 *    itself was bad, never because its session is gone (another request may
 *    have rotated it: the client may hold a newer token already).
 */
export function decide(f: CommitFacts, ctx: CommitContext): Decision {
  if (!f.accessed) return NOTHING;
  const { now, policy } = ctx;
  const lifetime = f.lifetime ?? policy.ttl;
  if (f.status === "destroyed") {
    const owned = f.row !== undefined && !f.renewed;
    if (f.dirty && !ctx.failed && !f.noStore) {
      return { store: { op: owned ? "replace" : "insert" }, cookie: send(expiryAt(policy, now, now, lifetime)) };
    }
    return { store: owned ? { op: "delete" } : NONE, cookie: f.hadToken ? CLEAR : KEEP };
  }
  if (ctx.failed) return NOTHING;
  // regenerate() wins over noStore.
  if (f.noStore && f.status !== "regenerated") return NOTHING;
  const row = f.row;
  if (row !== undefined && f.renewed) {
    return { store: { op: "insert" }, cookie: send(expiryAt(policy, now, row.createdAt, lifetime)) };
  }
  const persistent = ctx.persistent || f.lifetime !== undefined;
  if (row !== undefined) {
    if (f.status === "regenerated") {
      return { store: { op: "move" }, cookie: send(expiryAt(policy, now, row.createdAt, lifetime)) };
    }
    if (f.dirty) {
      const until = writeExpiry(policy, row, now, lifetime, f.lifetimeChanged);
      const resend = f.stale || f.lifetimeChanged || (persistent && until !== row.expiresAt);
      return { store: { op: "merge" }, cookie: resend ? send(until) : KEEP };
    }
    const to = refreshTo(policy, row, now, lifetime);
    const resend = f.stale || (persistent && to !== undefined);
    return {
      store: to === undefined ? NONE : { op: "touch", expiresAt: to },
      cookie: resend ? send(to ?? row.expiresAt) : KEEP,
    };
  }
  if (f.dirty) return { store: { op: "insert" }, cookie: send(expiryAt(policy, now, now, lifetime)) };
  return { store: NONE, cookie: f.tokenInvalid ? CLEAR : KEEP };
}

/**
 * Carry out the store side of a decision. Synchronous when the store is, so
 * a store's group commit can run it inside its shared transaction.
 * @returns false when the loaded row vanished meanwhile (nothing was written,
 *   and the client's token must not be sent again), else true.
 */
export function apply(decision: Decision, core: SessionCore, store: SessionStore, now: number): Awaitable<boolean> {
  const done = () => true;
  const op = decision.store;
  // Re-sending the token of a row that another request ended or rotated meanwhile would hand the
  // client a dead token in place of the newer one it may hold: check the row is still there first.
  const stillThere = (): Awaitable<boolean> =>
    decision.cookie.op === "send" ? after(store.get(core.loadedId!), (s) => s !== null) : true;
  switch (op.op) {
    case "none":
      return core.loadedId === undefined ? true : stillThere();
    case "touch":
      // A store without touch (it is optional) moves the expiry through update, which also says whether the row is there.
      if (!canTouch(store)) {
        return after(
          store.update(core.loadedId!, (cur) => cur && { ...cur, expiresAt: op.expiresAt }),
          (s) => s !== null,
        );
      }
      return after(store.touch(core.loadedId!, op.expiresAt), stillThere);
    case "merge":
      return after(store.update(core.loadedId!, (cur) => core.stored(cur, now, "merge")), (s) => s !== null);
    case "move":
      return move(core, store, now);
    case "insert":
      return after(store.set(core.id, core.stored(null, now, "insert")!), done);
    case "delete":
      return after(store.delete(core.loadedId!), done);
    case "replace":
      return after(
        store.delete(core.loadedId!),
        () => after(store.set(core.id, core.stored(null, now, "insert")!), done),
      );
  }
}

/**
 * Regenerate: write the session under its new id, then take the old row out
 * with a read-modify-write. When another request wrote the old row meanwhile,
 * its change is carried over; when another request ended it, the new row goes
 * too (a logout is never undone). On a synchronous store, or one with group
 * commit, nothing can interleave: get, set and delete are enough.
 */
function move(core: SessionCore, store: SessionStore, now: number): Awaitable<boolean> {
  const from = core.loadedId!;
  // Synchronous calls, or calls inside one group-commit transaction, cannot interleave with another request's.
  const atomic = isSynchronousStore(store) || hasGroupCommit(store);
  return after(store.get(from), (cur) => {
    const next = core.stored(cur, now, "move");
    if (next === null) return false;
    // The new row first: when its write fails, the session the request came from is intact.
    if (atomic) return after(store.set(core.id, next), () => after(store.delete(from), () => true));
    return after(store.set(core.id, next), () => {
      let last: StoredSession | null = null;
      const takeOut = (current: StoredSession | null): null => {
        last = current;
        return null;
      };
      return after(store.update(from, takeOut), (): Awaitable<boolean> => {
        if (last === null) return after(store.delete(core.id), () => false);
        if (last.payload === cur!.payload) return true;
        return after(store.set(core.id, core.stored(last, now, "move")!), () => true);
      });
    });
  });
}
