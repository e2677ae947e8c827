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
  throw new TypeError(
    `Cannot create ${what}: unknown option${unknown.length > 1 ? "s" : ""} ${described.join(", ")}; ` +
      `known options are ${known.join(", ")}`,
  );
}
