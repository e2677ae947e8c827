/**
 * Moving live sessions from express-session + connect-pg-simple to Satchel's
 * PostgresStore without signing anyone out (docs/stores.md#moving-from-connect-pg-simple).
 *
 * Put the middleware right after `session()`. When a browser comes back with
 * express-session's cookie (`connect.sid`) and no Satchel session yet, it
 * checks the cookie's signature with the old secret, copies the data of the
 * old row (connect-pg-simple's `session` table) into the new session, binds
 * the user, deletes the old row (so the old cookie, signed out here, cannot
 * be replayed), and clears the old cookie. Drop the middleware, and the old
 * table, after the old sessions' lifetime has passed. (Should this very
 * request then fail, that one user signs in again: safe rather than sorry.)
 *
 * ```ts
 * import postgres from "postgres";
 * const sql = postgres(process.env.DATABASE_URL!);
 * app.use(session({ secret, store: new PostgresStore({ client: sql }) }));
 * app.use(fromConnectPgSimple({
 *   query: (text, params) => sql.unsafe(text, params),
 *   secret: process.env.OLD_EXPRESS_SESSION_SECRET!,
 *   userOf: (old) => typeof old.userId === "string" ? old.userId : undefined,
 * }));
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import type { SessionEnv } from "../mod.ts";

/** What the middleware needs. */
export interface FromConnectPgSimpleOptions {
  /** Runs one parameterised statement and resolves to its rows (any driver: `sql.unsafe`, `pool.query(…).rows`). */
  query: (text: string, params: unknown[]) => Promise<readonly Record<string, unknown>[]>;
  /** express-session's `secret` (one, or a list: any of them verifies). */
  secret: string | readonly string[];
  /** connect-pg-simple's table. @default "session" */
  table?: string;
  /** express-session's cookie name. @default "connect.sid" */
  cookieName?: string;
  /** The user of an old session, for `setUser` (sign-out-everywhere, the devices page). @default none */
  userOf?: (old: Record<string, unknown>) => string | undefined;
}

const encoder = new TextEncoder();

/** cookie-signature's `sign`: base64 HMAC-SHA256 of the value, without padding. */
async function signature(value: string, secret: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(value)));
  return btoa(String.fromCharCode(...mac)).replace(/=+$/, "");
}

function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The session id of express-session's cookie value (`s:<sid>.<signature>`), or null when the signature fails. */
export async function unsignExpressCookie(value: string, secrets: readonly string[]): Promise<string | null> {
  if (!value.startsWith("s:")) return null;
  const signed = value.slice(2);
  const dot = signed.lastIndexOf(".");
  if (dot <= 0) return null;
  const sid = signed.slice(0, dot);
  for (const secret of secrets) {
    if (sameText(signed.slice(dot + 1), await signature(sid, secret))) return sid;
  }
  return null;
}

/** The middleware: see the module documentation. */
export function fromConnectPgSimple(options: FromConnectPgSimpleOptions): MiddlewareHandler<SessionEnv> {
  const secrets = typeof options.secret === "string" ? [options.secret] : [...options.secret];
  const table = options.table ?? "session";
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw new TypeError(`Cannot create fromConnectPgSimple: table must be a plain identifier: received ${table}`);
  }
  const cookieName = options.cookieName ?? "connect.sid";
  return async function fromConnectPgSimple(c, next) {
    const raw = getCookie(c, cookieName);
    if (raw === undefined) return await next();
    const s = await c.get("session").load();
    const sid = s.isNew ? await unsignExpressCookie(raw, secrets) : null;
    const [row] = sid === null
      ? []
      : await options.query(`SELECT sess FROM "${table}" WHERE sid = $1 AND expire > now()`, [sid]);
    if (row !== undefined) {
      const old = (typeof row.sess === "string" ? JSON.parse(row.sess) : row.sess) as Record<string, unknown>;
      for (const [key, value] of Object.entries(old)) {
        if (key !== "cookie") s.set(key as never, value as never);
      }
      const user = options.userOf?.(old);
      if (user !== undefined) s.setUser(user);
      await options.query(`DELETE FROM "${table}" WHERE sid = $1`, [sid]);
    }
    deleteCookie(c, cookieName, { path: "/" });
    await next();
  };
}
