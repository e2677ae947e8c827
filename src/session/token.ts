/**
 * The token pipeline: from the token a client sent to the session it names,
 * or to the reason it was refused. Read it from the state, check its shape,
 * verify its signature (any configured secret; the signer remembers tokens it
 * verified), load the row, end it past its absolute deadline, decode it, and
 * check the client binding. Junk and forgeries never reach the store.
 * @module
 */
import type { Context } from "hono";
import { after, isThenable } from "../awaitable.ts";
import type { Clock } from "../clock.ts";
import type { Signer } from "../crypto/mod.ts";
import type { Serializer } from "../serializer.ts";
import type { SessionState } from "../state/types.ts";
import type { Awaitable, SessionStore, StoredSession } from "../store/types.ts";
import { type ExpiryPolicy, pastDeadline } from "./expiry.ts";
import type { InvalidTokenReason } from "./options.ts";
import type { SessionEvents } from "./events.ts";
import { type Decoded, decodePayload } from "./payload.ts";

/** Longest token read: an id, a dot and a signature are 76 characters. */
export const MAX_TOKEN = 128;

/** The session a verified token named, as the store returned it. */
export interface LiveSession {
  readonly kind: "live";
  readonly id: string;
  readonly stored: StoredSession;
  readonly decoded: Decoded;
  /** Signed with an older secret: send it again, signed with the current one. */
  readonly stale: boolean;
  /** A binding tag to store instead of the one made with an older secret. */
  readonly rebind?: string;
}

/** What reading the client's token gave. */
export type Loaded =
  | { readonly kind: "none" }
  /** Refused. `invalid`: the token itself was bad (it may be cleared); otherwise its session is gone. */
  | { readonly kind: "refused"; readonly invalid: boolean }
  | LiveSession;

/** What the pipeline needs; built once by the middleware. */
export interface TokenConfig {
  readonly state: SessionState;
  readonly signer: Signer;
  readonly serializer: Serializer;
  readonly policy: ExpiryPolicy;
  readonly clock: Clock;
  /** The request's bound values joined into one string, or undefined without `bind`. */
  readonly bindValues: ((c: Context) => string) | undefined;
  readonly onInvalidToken: ((c: Context, reason: InvalidTokenReason) => void) | undefined;
  /** The app's lifecycle events, told of every refusal; undefined when the app does not listen. */
  readonly events?: SessionEvents;
}

/** The token pipeline of one middleware. */
export interface Tokens {
  /** The session the client's token names, or why there is none. Synchronous when the store is. */
  load(c: Context, store: SessionStore): Awaitable<Loaded>;
  /** The signed token of `id`. */
  sign(id: string): string;
  /** The binding tag of this request's client (only called with `bind`). */
  bindTag(c: Context): string;
}

const NONE: Loaded = { kind: "none" };
const INVALID: Loaded = { kind: "refused", invalid: true };
const GONE: Loaded = { kind: "refused", invalid: false };

/** The token pipeline for `config`. */
export function tokenPipeline(config: TokenConfig): Tokens {
  const { state, signer, serializer, policy, clock, bindValues, onInvalidToken, events } = config;

  /** Refuse the client's token and say why; `id` and `stored` once the signature checked out. */
  function refuse(c: Context, reason: InvalidTokenReason, id?: string, stored?: StoredSession): Loaded {
    onInvalidToken?.(c, reason);
    events?.refused(c, reason, id, stored?.userId);
    return reason === "unknown" || reason === "expired" ? GONE : INVALID;
  }

  /** Delete a session that must not be used again, and say why. */
  function end(
    c: Context,
    store: SessionStore,
    id: string,
    reason: InvalidTokenReason,
    stored: StoredSession,
  ): Awaitable<Loaded> {
    return after(store.delete(id), () => refuse(c, reason, id, stored));
  }

  /** The session made of what the store returned for a verified id. */
  function open(
    c: Context,
    store: SessionStore,
    id: string,
    stale: boolean,
    stored: StoredSession | null,
  ): Awaitable<Loaded> {
    if (stored === null) return refuse(c, "unknown", id);
    if (pastDeadline(policy, clock(), stored.createdAt)) return end(c, store, id, "expired", stored);
    const decoded = decodePayload(serializer, stored.payload);
    if (decoded === null) return refuse(c, "corrupt", id, stored);
    if (bindValues === undefined) return { kind: "live", id, stored, decoded, stale };
    const values = bindValues(c);
    const bound = signer.checkBindTag(values, decoded.bind);
    // Another client holds this token: end the session rather than hand its data over.
    if (bound === false) return end(c, store, id, "binding", stored);
    const rebind = bound === "stale" ? signer.bindTag(values) : undefined;
    return { kind: "live", id, stored, decoded, stale, rebind };
  }

  function load(c: Context, store: SessionStore): Awaitable<Loaded> {
    const token = state.read(c);
    if (token === undefined) return NONE;
    const verified = token.length <= MAX_TOKEN ? signer.verify(token) : "malformed";
    if (typeof verified === "string") return refuse(c, verified);
    const stored = store.get(verified.id);
    return isThenable(stored)
      ? Promise.resolve(stored).then((s) => open(c, store, verified.id, verified.stale, s))
      : open(c, store, verified.id, verified.stale, stored);
  }

  return {
    load,
    sign: (id) => signer.sign(id),
    bindTag: (c) => signer.bindTag(bindValues!(c)),
  };
}
