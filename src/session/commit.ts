/**
 * The commit as one plan: {@linkcode decide} turns everything a request's
 * commit depends on — the session's {@linkcode CommitFacts} and the request's
 * {@linkcode CommitContext} — into a {@linkcode CommitPlan}: the store
 * operation with its ids and expiry, the cookie action, whether a binding tag
 * is made, and when it runs. {@linkcode apply} carries out the store side and
 * decides nothing.
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
import type { SessionCore } from "./core.ts";
import { expiryAt, type ExpiryPolicy, refreshTo, writeExpiry } from "./expiry.ts";

/** The times of a stored row. */
export interface RowTimes {
  readonly expiresAt: number;
  readonly createdAt: number;
}

/**
 * Where the session stands against the row it loaded: `attached` writes go
 * to that row (under a new id after `regenerate()`); `renewed`: the row was
 * deleted under the request (sign-out-everywhere keeping this session) and is
 * written anew; `destroyed`: the row ends, and data set afterwards starts a
 * new session.
 */
export type Lifecycle =
  | { readonly kind: "attached"; readonly regenerated: boolean }
  | { readonly kind: "renewed" }
  | { readonly kind: "destroyed" };

/** What the commit needs to know about a session, as plain data (see `SessionCore.facts()`). */
export interface CommitFacts {
  /** The handler used the session. */
  readonly accessed: boolean;
  /** The client sent a token. */
  readonly hadToken: boolean;
  /** The token the client sent was itself bad (shape, signature, binding, unreadable data). */
  readonly tokenInvalid: boolean;
  /** The client's token was signed with an older secret. */
  readonly stale: boolean;
  /** The stored row this request loaded, if any. */
  readonly row: (RowTimes & { readonly id: string }) | undefined;
  readonly lifecycle: Lifecycle;
  /** The id the session is written under; set whenever the session has one to write. */
  readonly id: string | undefined;
  /** The data changed: commit must write, not just touch. */
  readonly dirty: boolean;
  /** The session's own idle lifetime in ms (`setExpires`), if it has one. */
  readonly lifetime: number | undefined;
  /** This request set the session's own lifetime. */
  readonly lifetimeChanged: boolean;
  /** The session carries a binding tag already. */
  readonly bound: boolean;
  /** `options.noStore`: write nothing (but a `destroy()` or `regenerate()`). */
  readonly noStore: boolean;
  /** `options.lateStore`: commit after the response is handed back. */
  readonly lateStore: boolean;
}

/** The request's circumstances, and the app's settings the commit depends on. */
export interface CommitContext {
  readonly now: number;
  readonly policy: ExpiryPolicy;
  /** The handler threw or answered 5xx: nothing but a `destroy()` is committed. */
  readonly failed: boolean;
  /** The state's tokens expire with the session (a persistent cookie). */
  readonly persistent: boolean;
  /** `touch: "always"`: a request that never used the session still counts as activity. */
  readonly touchAlways: boolean;
  /** `bind` is configured: a row written without a binding tag gets one. */
  readonly binding: boolean;
  /** The store keeps the data in the response itself (CookieStore): it cannot commit late. */
  readonly requestBound: boolean;
}

/**
 * How a write over a row that another request changed since it was loaded
 * finds its expiry (see {@linkcode expiryOver}); the plan's `expiresAt` holds
 * for the row as loaded.
 */
export interface Rebase {
  readonly now: number;
  readonly policy: ExpiryPolicy;
  /** The expiry of the row as loaded, and the lifetime the plan assumed. */
  readonly loadedExpiresAt: number;
  readonly lifetime: number;
  readonly lifetimeChanged: boolean;
}

/** A write of the loaded row's data over the store's current value. */
export type RowWrite =
  /** Apply the patch to row `id` atomically (`store.update`). */
  | { readonly op: "merge"; readonly id: string; readonly expiresAt: number; readonly rebase: Rebase }
  /** Write the session under `to`, then take `from` out, carrying over a concurrent write. */
  | {
    readonly op: "move";
    readonly from: string;
    readonly to: string;
    readonly expiresAt: number;
    readonly rebase: Rebase;
  };

/** A write of a new row from the request's own view of the data. */
export type FreshWrite =
  | { readonly op: "insert"; readonly id: string; readonly createdAt: number; readonly expiresAt: number }
  /** Delete `from`, then insert. */
  | {
    readonly op: "replace";
    readonly from: string;
    readonly id: string;
    readonly createdAt: number;
    readonly expiresAt: number;
  };

/** The store side of a commit. */
export type StoreOp =
  | { readonly op: "none" }
  /** Nothing to write: only look the row up (the cookie is sent only if it is still there). */
  | { readonly op: "confirm"; readonly id: string }
  /** Move the expiry only; `confirm`: then look the row up. */
  | { readonly op: "touch"; readonly id: string; readonly expiresAt: number; readonly confirm: boolean }
  | RowWrite
  | FreshWrite
  | { readonly op: "delete"; readonly id: string };

/**
 * The client side: leave its token, clear it, or send the token of `id`
 * (valid until `expiresAt`; `persistent`: with a `Max-Age`). `ifFound`: only
 * when the store side found the row it worked on — a row another request ended
 * or rotated meanwhile must not be handed back to a client that may already
 * hold the newer token.
 */
export type CookieOp =
  | { readonly op: "keep" }
  | { readonly op: "clear" }
  | {
    readonly op: "send";
    readonly id: string;
    readonly expiresAt: number;
    readonly persistent: boolean;
    readonly ifFound: boolean;
  };

/** What one request commits. */
export interface CommitPlan {
  readonly store: StoreOp;
  readonly cookie: CookieOp;
  /** Make a binding tag for the row written (a new session under `bind`). */
  readonly bind: boolean;
  /**
   * `now`: the store side runs before the response, and the cookie follows
   * its outcome; `late`: the cookie goes with the response and the store
   * side runs after it is handed back (`lateStore`).
   */
  readonly when: "now" | "late";
}

const NONE: StoreOp = { op: "none" };
const KEEP: CookieOp = { op: "keep" };
const CLEAR: CookieOp = { op: "clear" };
/** Nothing to store and nothing to send. */
export const NOTHING: CommitPlan = { store: NONE, cookie: KEEP, bind: false, when: "now" };

/**
 * Decide what a request commits. Rules, in order:
 * 1. A session the handler never used commits nothing (lazy sessions), unless `touch: "always"`.
 * 2. `destroy()` deletes the loaded row and clears the client's token, even
 *    when the request failed or set `noStore`; data set after it starts a new session.
 * 3. A failed request, or `noStore`, commits nothing else; `regenerate()` wins over `noStore`.
 * 4. The client's token is cleared only after `destroy()` or when the token
 *    itself was bad, never because its session is gone (another request may
 *    have rotated it: the client may hold a newer token already).
 * 5. A token re-sent for the loaded row is sent only if the row is still there.
 * 6. `lateStore` runs the store side after the response, except where the store is the response and for
 *    `destroy()`, `regenerate()` and a renewed session (never deferred).
 */
export function decide(f: CommitFacts, ctx: CommitContext): CommitPlan {
  if (!f.accessed && !ctx.touchAlways) return NOTHING;
  const { now, policy } = ctx;
  const lifetime = f.lifetime ?? policy.ttl;
  const row = f.row;
  const lifecycle = f.lifecycle;
  if (lifecycle.kind === "destroyed") {
    if (f.dirty && !ctx.failed && !f.noStore) {
      const insert = fresh(f, ctx, now, lifetime);
      const store: FreshWrite = row === undefined ? insert : { ...insert, op: "replace", from: row.id };
      return plan(f, ctx, store, send(f, ctx, insert.id, insert.expiresAt, false));
    }
    return plan(f, ctx, row === undefined ? NONE : { op: "delete", id: row.id }, f.hadToken ? CLEAR : KEEP);
  }
  if (ctx.failed) return NOTHING;
  const regenerated = lifecycle.kind === "renewed" || lifecycle.regenerated;
  if (f.noStore && !regenerated) return NOTHING;
  if (row === undefined) {
    if (!f.dirty) return f.tokenInvalid ? plan(f, ctx, NONE, CLEAR) : NOTHING;
    const insert = fresh(f, ctx, now, lifetime);
    return plan(f, ctx, insert, send(f, ctx, insert.id, insert.expiresAt, false));
  }
  if (lifecycle.kind === "renewed") {
    const insert = fresh(f, ctx, row.createdAt, lifetime);
    return plan(f, ctx, insert, send(f, ctx, insert.id, insert.expiresAt, false));
  }
  if (regenerated) {
    const expiresAt = expiryAt(policy, now, row.createdAt, lifetime);
    const move: RowWrite = { op: "move", from: row.id, to: f.id!, expiresAt, rebase: rebase(f, ctx, row, lifetime) };
    return plan(f, ctx, move, send(f, ctx, f.id!, expiresAt, true));
  }
  const persistent = ctx.persistent || f.lifetime !== undefined;
  if (f.dirty) {
    const until = writeExpiry(policy, row, now, lifetime, f.lifetimeChanged);
    const resend = f.stale || f.lifetimeChanged || (persistent && until !== row.expiresAt);
    const merge: RowWrite = { op: "merge", id: row.id, expiresAt: until, rebase: rebase(f, ctx, row, lifetime) };
    return plan(f, ctx, merge, resend ? send(f, ctx, row.id, until, true) : KEEP);
  }
  const to = refreshTo(policy, row, now, lifetime);
  const resend = f.stale || (persistent && to !== undefined);
  if (to === undefined && !resend) return NOTHING;
  const confirm = resend && !isLate(f, ctx);
  const store: StoreOp = to !== undefined
    ? { op: "touch", id: row.id, expiresAt: to, confirm }
    : confirm
    ? { op: "confirm", id: row.id }
    : NONE;
  return plan(f, ctx, store, resend ? send(f, ctx, row.id, to ?? row.expiresAt, true) : KEEP);
}

/** Whether the store side may run after the response (`lateStore`). */
function isLate(f: CommitFacts, ctx: CommitContext): boolean {
  // A logout or a new id is never deferred: the client must not be told it happened before it did.
  const plain = f.lifecycle.kind === "attached" && !f.lifecycle.regenerated;
  return f.lateStore && plain && !ctx.failed && !ctx.requestBound;
}

/** The plan of `store` and `cookie`: a binding tag for a row written without one, and when it runs. */
function plan(f: CommitFacts, ctx: CommitContext, store: StoreOp, cookie: CookieOp): CommitPlan {
  const writes = store.op === "merge" || store.op === "move" || store.op === "insert" || store.op === "replace";
  const when = store.op !== "none" && isLate(f, ctx) ? "late" : "now";
  return { store, cookie, bind: writes && ctx.binding && !f.bound, when };
}

/** Send the token of `id`; `ifFound`: only if the store side finds its row (moot when it runs late). */
function send(f: CommitFacts, ctx: CommitContext, id: string, expiresAt: number, ifFound: boolean): CookieOp {
  const persistent = ctx.persistent || f.lifetime !== undefined;
  return { op: "send", id, expiresAt, persistent, ifFound: ifFound && !isLate(f, ctx) };
}

/** A new row of the session, created at `createdAt`. */
function fresh(f: CommitFacts, ctx: CommitContext, createdAt: number, lifetime: number): FreshWrite {
  return { op: "insert", id: f.id!, createdAt, expiresAt: expiryAt(ctx.policy, ctx.now, createdAt, lifetime) };
}

/** What a write over the loaded row needs to find its expiry when another request changed the row meanwhile. */
function rebase(f: CommitFacts, ctx: CommitContext, row: RowTimes, lifetime: number): Rebase {
  const { now, policy } = ctx;
  return { now, policy, loadedExpiresAt: row.expiresAt, lifetime, lifetimeChanged: f.lifetimeChanged };
}

/**
 * The expiry of a row write over `current`: the planned one when the row is
 * as it was loaded and the lifetime as planned, else the same rule applied to
 * what another request left (a merge keeps its refresh, a move starts afresh).
 */
export function expiryOver(write: RowWrite, current: RowTimes, lifetime: number): number {
  const r = write.rebase;
  if (current.expiresAt === r.loadedExpiresAt && lifetime === r.lifetime) return write.expiresAt;
  return write.op === "merge"
    ? writeExpiry(r.policy, current, r.now, lifetime, r.lifetimeChanged)
    : expiryAt(r.policy, r.now, current.createdAt, lifetime);
}

const found = () => true;
const exists = (s: StoredSession | null) => s !== null;

/**
 * Carry out the store side of a plan. Synchronous when the store is, so a
 * store's group commit can run it inside its shared transaction.
 * @returns whether the row the operation worked on was found (always true
 *   for a new row): the plan's cookie may depend on it.
 */
export function apply(op: StoreOp, core: SessionCore, store: SessionStore): Awaitable<boolean> {
  switch (op.op) {
    case "none":
      return true;
    case "confirm":
      return after(store.get(op.id), exists);
    case "touch":
      // A store without touch (it is optional) moves the expiry through update, which also says whether the row is there.
      if (!canTouch(store)) {
        return after(
          store.update(op.id, (cur) => cur && { ...cur, expiresAt: op.expiresAt }, core.loadedRow(op.id)),
          exists,
        );
      }
      return after(store.touch(op.id, op.expiresAt), () => op.confirm ? after(store.get(op.id), exists) : true);
    case "merge":
      return after(store.update(op.id, (cur) => core.stored(cur, op), core.loadedRow(op.id)), exists);
    case "move":
      return move(op, core, store);
    case "insert":
      return after(store.set(op.id, core.stored(null, op)!), found);
    case "delete":
      return after(store.delete(op.id), found);
    case "replace":
      return after(store.delete(op.from), () => after(store.set(op.id, core.stored(null, op)!), found));
  }
}

/**
 * Regenerate: write the session under its new id, then take the old row out
 * with a read-modify-write. When another request wrote the old row meanwhile,
 * its change is carried over; when another request ended it, the new row goes
 * too (a logout is never undone). On a synchronous store, or one with group
 * commit, nothing can interleave: get, set and delete are enough.
 */
function move(op: RowWrite & { op: "move" }, core: SessionCore, store: SessionStore): Awaitable<boolean> {
  const { from, to } = op;
  // Synchronous calls, or calls inside one group-commit transaction, cannot interleave with another request's.
  const atomic = isSynchronousStore(store) || hasGroupCommit(store);
  return after(store.get(from), (cur) => {
    const next = core.stored(cur, op);
    if (next === null) return false;
    // The new row first: when its write fails, the session the request came from is intact.
    if (atomic) return after(store.set(to, next), () => after(store.delete(from), found));
    return after(store.set(to, next), () => {
      let last: StoredSession | null = null;
      let carried: StoredSession | null = null;
      const takeOut = (current: StoredSession | null): null => {
        last = current;
        // Rebuilt here, so a value the patch refuses over their write fails before the old row goes.
        carried = current !== null && current.payload !== cur!.payload ? core.stored(current, op) : null;
        return null;
      };
      // A failure before the old row is taken out leaves it as it was: the new row must not outlive it.
      const taken = Promise.resolve().then(() => store.update(from, takeOut, cur ?? undefined)).catch((e) =>
        after(store.delete(to), () => Promise.reject(e))
      );
      return taken.then((): Awaitable<boolean> => {
        if (last === null) return after(store.delete(to), () => false);
        return carried === null ? true : after(store.set(to, carried), found);
      });
    });
  });
}
