/**
 * Lifecycle events for audit logs and metrics (`onEvent`): what a request did
 * to sessions, told after its commit. Events name a session by its handle
 * (the one `userSessions()` lists), never by its id. A listener that throws or
 * rejects is reported on the console and never fails the request.
 * @module
 */
import type { Context } from "hono";
import { callSafely } from "../_internal/listener.ts";
import type { CommitPlan } from "./commit.ts";
import type { SessionCore } from "./core.ts";
import { handleOf } from "./handle.ts";
import type { InvalidTokenReason } from "./options.ts";

/**
 * One lifecycle event. `handle` is the session's opaque handle (as
 * `userSessions()` lists it; never its id or token), `userId` the user it
 * belongs to (`setUser`), or `null`.
 */
export type SessionEvent =
  /** A new session was stored (its first write). */
  | { type: "created"; handle: string; userId: string | null }
  /**
   * The session got a new id: `regenerate()` (`reason: "regenerate"`), or
   * `destroyUserSessions(…, { keepCurrent: true })` kept it (`"keep-current"`).
   */
  | {
    type: "regenerated";
    handle: string;
    previousHandle: string;
    userId: string | null;
    reason: "regenerate" | "keep-current";
  }
  /**
   * The session was ended: by its own `destroy()` (`reason: "destroy"`), or
   * from another of the user's sessions by `destroyUserSession(handle)`
   * (`"destroy-user-session"`).
   */
  | { type: "destroyed"; handle: string; userId: string | null; reason: "destroy" | "destroy-user-session" }
  /** A client brought a session past its absolute timeout: it was deleted. */
  | { type: "expired"; handle: string; userId: string | null; reason: "absolute-timeout" }
  /**
   * A client's token was refused (see {@linkcode InvalidTokenReason}); `handle`
   * and `userId` are known once the signature checked out (`"unknown"`,
   * `"corrupt"`, `"binding"`), else `null`.
   */
  | { type: "invalid-token"; handle: string | null; userId: string | null; reason: InvalidTokenReason }
  /**
   * `destroyUserSessions()` ended `count` sessions of `userId`; `handle` is the
   * current session's (`null` when it had none).
   */
  | {
    type: "user-sessions-ended";
    handle: string | null;
    userId: string;
    count: number;
    reason: "keep-current" | "all";
  };

/**
 * Hears every {@linkcode SessionEvent}, with the request's context, after the
 * request's commit. What it returns is not awaited; a throw or a rejection is
 * logged (`satchel: onEvent failed: …`) and goes no further.
 */
export type SessionEventListener = (event: SessionEvent, c: Context) => void | Promise<void>;

/** What a commit did, as events: derived from the plan it carried out. */
export function eventsOfCommit(plan: CommitPlan, core: SessionCore): SessionEvent[] {
  const op = plan.store;
  const userId = core.userId;
  switch (op.op) {
    case "move":
      return [{
        type: "regenerated",
        handle: handleOf(op.to),
        previousHandle: handleOf(op.from),
        userId,
        reason: "regenerate",
      }];
    case "insert": {
      // A renewed session (sign-out-everywhere keeping this one) is the loaded one under a new id.
      const from = core.status === "renewed" ? core.loadedId : undefined;
      return from === undefined ? [{ type: "created", handle: handleOf(op.id), userId }] : [{
        type: "regenerated",
        handle: handleOf(op.id),
        previousHandle: handleOf(from),
        userId,
        reason: "keep-current",
      }];
    }
    case "delete":
      return [{ type: "destroyed", handle: handleOf(op.id), userId: core.storedUserId, reason: "destroy" }];
    case "replace":
      return [
        { type: "destroyed", handle: handleOf(op.from), userId: core.storedUserId, reason: "destroy" },
        { type: "created", handle: handleOf(op.id), userId },
      ];
    default:
      return [];
  }
}

/**
 * The app's `onEvent`, and each request's events until its commit is done.
 * Built only when the app listens: without a listener the middleware does
 * no event work at all.
 */
export class SessionEvents {
  #listener: SessionEventListener;
  #pending = new WeakMap<Context, SessionEvent[]>();

  constructor(listener: SessionEventListener) {
    this.#listener = listener;
  }

  /** Keep an event that already happened during the request, for after the commit. */
  note(c: Context, event: SessionEvent): void {
    const queue = this.#pending.get(c);
    if (queue === undefined) this.#pending.set(c, [event]);
    else queue.push(event);
  }

  /** A refused token, or a session ended on arrival (absolute timeout, binding). */
  refused(c: Context, reason: InvalidTokenReason, id: string | undefined, userId: string | null | undefined): void {
    const handle = id === undefined ? null : handleOf(id);
    this.note(
      c,
      reason === "expired"
        ? { type: "expired", handle: handle!, userId: userId ?? null, reason: "absolute-timeout" }
        : { type: "invalid-token", handle, userId: userId ?? null, reason },
    );
  }

  /** The commit is done: tell what it did after what the request did before it. */
  committed(c: Context, plan: CommitPlan, core: SessionCore): void {
    for (const event of eventsOfCommit(plan, core)) this.note(c, event);
    this.flush(c);
  }

  /** Send the request's events, in order, each to a listener that cannot fail the request. */
  flush(c: Context): void {
    const queue = this.#pending.get(c);
    if (queue === undefined) return;
    this.#pending.delete(c);
    for (const event of queue) callSafely("onEvent", this.#listener, event, c);
  }
}
