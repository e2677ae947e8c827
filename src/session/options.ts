/**
 * The options of `session()`: their types, and their checks at setup.
 * @module
 */
import type { Context } from "hono";
import { checkNumber } from "../_internal/numbers.ts";
import { MAX_COOKIE_AGE } from "../_internal/sizes.ts";
import type { Clock } from "../clock.ts";
import type { Serializer } from "../serializer.ts";
import type { CookieStateOptions } from "../state/cookie.ts";
import type { SessionState } from "../state/types.ts";
import type { RequestBound, SessionStore } from "../store/types.ts";
import type { SessionEvent } from "./events.ts";
import type { ExpiryPolicy } from "./expiry.ts";

/** Why a token the client sent did not yield its session. */
export type InvalidTokenReason =
  | "malformed" // not the shape of a token Satchel issues (length, alphabet, canonical base64url)
  | "signature" // the right shape, but no configured secret signed it (tampered, forged, or a retired secret)
  | "unknown" // signed by us, but no live session has that id (destroyed, expired, swept)
  | "expired" // the stored session is past the absolute timeout (stores that already dropped it report "unknown")
  | "corrupt" // the stored payload could not be decoded
  | "binding"; // the session is bound (`bind`) to another user agent or address: it was ended

/**
 * What a session is bound to.
 * A request whose values differ from those the session was created with gets
 * a new, empty session; the old one is deleted, its data never reaches the
 * handler, and `onInvalidToken` hears `"binding"`. The store keeps only an
 * HMAC of the values, never the values.
 */
export interface SessionBinding {
  /** Bind to the `User-Agent` header. @default false */
  userAgent?: boolean;
  /**
   * Bind to the client address this function returns, e.g. from
   * `getConnInfo(c).remote.address` (hono/bun, hono/deno, @hono/node-server)
   * or, behind a proxy you run, from the header it sets.
   * @default undefined (not bound)
   */
  address?: (c: Context) => string | undefined;
}

/** Options of {@linkcode session}. */
export interface SessionOptions {
  /**
   * Secret(s) for the HMAC-SHA256 signature of the session token, each at
   * least 32 bytes. An array rotates: the first signs, all verify, and tokens
   * signed with an older one are re-signed with the first.
   */
  secret: string | readonly string[];
  /**
   * Where sessions live: a {@linkcode SessionStore}, or a store bound to each
   * request such as CookieStore. @default a SqliteStore at `<os temp dir>/satchel-<uid>/<name>.sqlite`
   */
  store?: SessionStore | RequestBound;
  /** Names the default store's file. @default "app" */
  name?: string;
  /** How the token travels. @default a CookieState built from `cookie` */
  state?: SessionState;
  /** Options of the default cookie state; not allowed together with `state`. */
  cookie?: CookieStateOptions;
  /** Idle lifetime in seconds (at most 400 days): a session unused this long is gone. @default 3600 */
  expires?: number;
  /**
   * Absolute lifetime in seconds from creation, however active, remember-me
   * (`setExpires`) included; `false` for none. ASVS 4.0.3 3.3.2 allows at most
   * 30 days at level 1, 12 hours at level 2.
   * @default 2592000 (30 days)
   */
  absoluteTimeout?: number | false;
  /**
   * Refresh the idle expiry (a `touch`, never a rewrite of the data) only when
   * less than this many seconds of it remain; 0 never refreshes (a session
   * then ends `expires` seconds after its last write).
   * @default expires - 60 (at most one touch a minute per session; expires / 2 when expires < 120)
   */
  refreshThreshold?: number;
  /**
   * How session data becomes the stored string and back: `superjsonSerializer`
   * (Date, Map, Set, BigInt survive) or `jsonSerializer`.
   * @default superjson
   */
  serializer?: Serializer;
  /** Largest serialized session in bytes. @default the store's `maxPayloadBytes`, else 1 MiB */
  maxPayloadBytes?: number;
  /** Time source (ms since epoch). @default Date.now */
  clock?: Clock;
  /**
   * Bind each session to its client: a request from another user agent or
   * address gets a new session. @default undefined (no binding)
   */
  bind?: SessionBinding;
  /**
   * Called when a client's token is refused (bad shape or signature, unknown
   * or expired id, binding mismatch): for logging and rate limiting. The client
   * gets a fresh session either way. Satchel itself never logs attacker input.
   */
  onInvalidToken?: (c: Context, reason: InvalidTokenReason) => void;
  /** Called when a `lateStore` commit fails after the response left. @default logs the error's name and message */
  onLateStoreError?: (error: unknown) => void;
  /**
   * Hears the sessions' lifecycle events, for audit logs and metrics:
   * created, regenerated, destroyed, expired, invalid-token,
   * user-sessions-ended, each with the session's handle (never its id), its
   * user and a reason. Called after the request's commit; a listener that
   * throws or rejects never fails the request.
   * @default undefined (no event work at all)
   */
  onEvent?: (event: SessionEvent, c: Context) => void | Promise<void>;
  /** How many verified tokens to remember, skipping their HMAC. @default 10000 */
  verifiedTokenCache?: number;
  /**
   * Which requests count as activity that slides the idle expiry. `"used"`:
   * only those whose handler touches the session (it loads lazily, so other
   * requests make no store call at all). `"always"`: every request carrying a
   * session, at the cost of loading it on every request.
   * @default "used"
   */
  touch?: "used" | "always";
  /**
   * Load the session before every handler on a store that answers
   * asynchronously (RedisStore, DenoKvStore, D1Store), so handlers need no
   * `await c.get("session").load()`, at the cost of a store round trip on
   * every request that carries a token. Stores that answer synchronously
   * load on first use either way.
   * @default false
   */
  preload?: boolean;
}

/** The keys of {@linkcode SessionOptions}, for refusing unknown ones. */
export const OPTION_KEYS: readonly (keyof SessionOptions)[] = [
  "secret",
  "store",
  "name",
  "state",
  "cookie",
  "expires",
  "absoluteTimeout",
  "refreshThreshold",
  "serializer",
  "maxPayloadBytes",
  "clock",
  "bind",
  "onInvalidToken",
  "onLateStoreError",
  "onEvent",
  "verifiedTokenCache",
  "touch",
  "preload",
];

/** The function joining a request's bound values into one unambiguous string, or undefined without `bind`. */
export function bindingOf(bind: SessionBinding | undefined): ((c: Context) => string) | undefined {
  if (bind === undefined) return undefined;
  const fail = (why: string): never => {
    throw new TypeError(`Cannot create session middleware: ${why}`);
  };
  if (typeof bind !== "object" || bind === null) fail("bind must be an object such as { userAgent: true }");
  const { userAgent = false, address } = bind;
  if (typeof userAgent !== "boolean") fail(`bind.userAgent must be a boolean: received ${typeof userAgent}`);
  if (address !== undefined && typeof address !== "function") fail("bind.address must be a function (c) => string");
  if (!userAgent && address === undefined) {
    fail("bind needs userAgent: true, an address function, or both; or leave bind out");
  }
  return (c) =>
    JSON.stringify([userAgent ? c.req.header("user-agent") ?? "" : null, address ? String(address(c) ?? "") : null]);
}

/** The absolute timeout unless configured, in seconds: 30 days, the most ASVS 4.0.3 (3.3.2, level 1) allows. */
export const DEFAULT_ABSOLUTE_TIMEOUT = 30 * 24 * 3600;

/** Check a number of seconds: positive, or non-negative where 0 means something. */
function seconds(name: string, value: number | undefined, allowZero = false, max?: number): void {
  if (value !== undefined) {
    checkNumber("session middleware", name, value, { min: 0, above: !allowZero, max, unit: "seconds" });
  }
}

/** The expiry settings in ms, checked. */
export function policyOf(options: SessionOptions): ExpiryPolicy {
  seconds("expires", options.expires, false, MAX_COOKIE_AGE);
  const absoluteTimeout = options.absoluteTimeout ?? DEFAULT_ABSOLUTE_TIMEOUT;
  if (absoluteTimeout !== false) seconds("absoluteTimeout", absoluteTimeout);
  seconds("refreshThreshold", options.refreshThreshold, true);
  const expires = options.expires ?? 3600;
  const threshold = options.refreshThreshold ?? expires - Math.min(60, expires / 2);
  if (threshold > expires) {
    throw new RangeError(
      `Cannot create session middleware: refreshThreshold (${threshold}) must not exceed expires (${expires})`,
    );
  }
  const absolute = absoluteTimeout === false ? undefined : absoluteTimeout * 1000;
  return { ttl: expires * 1000, absolute, threshold: threshold * 1000 };
}
