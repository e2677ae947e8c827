/**
 * Option-object checks shared by every constructor: one rule for unknown
 * keys, so a misspelt or foreign option fails at setup instead of being
 * silently replaced by a default.
 * @module
 */

/**
 * Options that other session libraries (express-session, hono-sessions,
 * @hono/session, iron-session) take, and what Satchel calls them.
 */
const FOREIGN_HINTS: Readonly<Record<string, string>> = {
  genid: "Satchel generates ids itself (32 base64url characters); drop genid",
  cookieOptions: "use cookie: { … } (session options) or cookie (store options)",
  cookieName: "use cookie: { name }",
  sessionCookieName: "use cookie: { name }",
  expireAfterSeconds: "use expires (seconds)",
  maxAge: "use expires (seconds) for the idle lifetime",
  ttl: "use expires (seconds)",
  encryptionKey: "use store: new CookieStore({ secret })",
  password: "use secret",
  rolling: "sessions already slide on use; see refreshThreshold and touch",
  resave: "Satchel writes only what changed; drop resave",
  saveUninitialized: "Satchel never stores an untouched session; drop saveUninitialized",
  httpOnly: "use cookie: { httpOnly }",
  sameSite: "use cookie: { sameSite }",
  secure: "use cookie: { secure }",
};

/**
 * Throw a `TypeError` naming every key of `options` that is not in `known`,
 * with a hint where the key is another library's name for a Satchel option.
 * @param what What is being created, e.g. `"session middleware"`, `"SqliteStore"`.
 * @param hints Extra hints for this constructor; they win over the shared ones.
 * @throws {TypeError} when `options` has a key outside `known`.
 */
export function rejectUnknownKeys(
  what: string,
  options: object,
  known: readonly string[],
  hints: Readonly<Record<string, string>> = {},
): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  const described = unknown.map((k) => {
    const hint = hints[k] ?? FOREIGN_HINTS[k];
    return hint === undefined ? `"${k}"` : `"${k}" (${hint})`;
  });
  if (known.length === 0) {
    throw new TypeError(`Cannot create ${what}: it takes no options: received ${described.join(", ")}`);
  }
  throw new TypeError(
    `Cannot create ${what}: unknown option${unknown.length > 1 ? "s" : ""} ${described.join(", ")}; ` +
      `known options are ${known.join(", ")}`,
  );
}

/**
 * Options over defaults, where an option explicitly set to `undefined` keeps
 * its default (a plain spread would let it erase the default: options built
 * from unset environment variables would then fail). The caller's object is
 * never mutated. The one way Satchel applies defaults: {@linkcode readOptions} is built on it.
 */
export function withDefaults<D extends object, O extends object>(
  defaults: D,
  options: O,
): { [K in keyof D]: K extends keyof O ? Exclude<O[K], undefined> | D[K] : D[K] } & Omit<O, keyof D> {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const key of Object.keys(options)) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as never;
}

/**
 * The check of one option's value: throws a `TypeError` or `RangeError` reading
 * `Cannot create <what>: <name> must be …: received …`.
 */
export type Check = (what: string, name: string, value: unknown) => void;

/** One option of a constructor: its default (or that it is required) and its check. */
export interface Option<T> {
  /** The value when the option is missing or `undefined`. */
  readonly default?: T;
  /** Set when the caller must give it: what to pass, e.g. `"{ kv: await Deno.openKv() }"`. */
  readonly required?: string;
  /** The check of a given value; defaults are not checked. */
  readonly check?: Check;
}

/** Every option of one constructor, by name. */
export type Spec = Readonly<Record<string, Option<unknown>>>;

/** The options of `S` resolved: each given value checked, or its default. */
export type Resolved<S extends Spec> = { -readonly [K in keyof S]: S[K] extends Option<infer T> ? T : never };

/** An option with a default. */
export function option<T>(defaultValue: T, check?: Check): Option<T> {
  return { default: defaultValue, check };
}

/** An option without a default: `undefined` when not given. */
export function optional<T>(check?: Check): Option<T | undefined> {
  return { check };
}

/** An option the caller must give; `pass` says what, e.g. `"{ client }, a connected Redis client"`. */
export function required<T>(pass: string, check?: Check): Option<T> {
  return { required: pass, check };
}

/** A value as an error message shows it: numbers as written, strings quoted, other things by type. */
export function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  return value === null || typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol"
    ? String(value)
    : typeof value;
}

/**
 * Read a constructor's options by its spec, the same way for every
 * constructor: a non-object (`null`, a string, an array) is refused with one
 * message; unknown keys are refused with a hint ({@linkcode rejectUnknownKeys});
 * an option missing or `undefined` takes its default ({@linkcode withDefaults}),
 * or, when required, is refused saying what to pass; a given value must pass its check.
 * @param what What is being created, e.g. `"RedisStore"`.
 * @param options What the caller passed (`undefined` reads as `{}`).
 * @param hints Extra hints for unknown keys of this constructor.
 * @throws {TypeError} on a non-object, an unknown or missing required option, or a value of the wrong type.
 * @throws {RangeError} on a value out of range.
 */
export function readOptions<S extends Spec>(
  what: string,
  options: unknown,
  spec: S,
  hints: Readonly<Record<string, string>> = {},
): Resolved<S> {
  const names = Object.keys(spec);
  const needed = names.filter((name) => spec[name]!.required !== undefined);
  if (options === undefined && needed.length === 0) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    const pass = needed.length === 0 ? "" : `; pass ${needed.map((name) => spec[name]!.required).join(" and ")}`;
    throw new TypeError(`Cannot create ${what}: options must be an object: received ${shown(options)}${pass}`);
  }
  rejectUnknownKeys(what, options, names, hints);
  const defaults: Record<string, unknown> = {};
  for (const name of names) defaults[name] = spec[name]!.default;
  const resolved: Record<string, unknown> = withDefaults(defaults, options);
  for (const name of names) {
    const given = (options as Record<string, unknown>)[name];
    if (given !== undefined) spec[name]!.check?.(what, name, given);
    else if (spec[name]!.required !== undefined) {
      throw new TypeError(`Cannot create ${what}: ${name} is required: pass ${spec[name]!.required}`);
    }
  }
  return resolved as Resolved<S>;
}
