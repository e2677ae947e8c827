/**
 * The Lua scripts of RedisStore. Each declares exactly one key (`KEYS[1]`),
 * so on Redis Cluster or Valkey every script runs on the one shard that owns
 * that key's slot. Times in `ARGV` are milliseconds from the app's clock.
 * The `#!lua` line declares Redis 7 script flags: without `allow-oom` a
 * script that may grow memory is refused whole while Redis is out of memory
 * (never half-run), and on a cluster a script may not reach keys of another
 * slot than the one it declares.
 *
 * Every script that writes checks all its arguments before its first write
 * and answers `ERR satchel: …` without writing when one is out of range, so
 * a write is never left half done (a hash without its TTL, an index entry
 * whose expiry overflows `PEXPIRE`). Times must be numbers from 0 to
 * {@linkcode MAX_TIME}; TTLs whole numbers from 1 to it.
 *
 * Every script that changes or deletes a session publishes what it did on
 * the channel its caller names (`<prefix>inv`, see ./near-cache.ts): the
 * session's id and its new state `<version>|<expiresAt>`, or `<id> |` once
 * it is gone. It costs Redis one dictionary lookup when nobody listens, and
 * it is sent whether or not this process has a near cache, so every
 * process's cache hears every other's writes. A write that creates a
 * session publishes nothing: no cache can hold a session that did not exist.
 * `redis.pcall`: an ACL user without the channel (`&<prefix>inv`) still
 * writes whole, it only tells no cache (and its own near cache, whose
 * probes it cannot publish either, never serves).
 *
 * Session hash fields: `p` payload, `c` createdAt, `e` expiresAt, `u` userId
 * (absent when unbound), `v` version (random token, new on every write),
 * `i` how far the user index covers this session (an expiry the index entry
 * is at least as late as).
 * @module
 */

import { MAX_TIME } from "../../clock.ts";

/** The latest time RedisStore stores, in ms: the latest a JavaScript `Date` holds (year 275760). */
export { MAX_TIME };

/** A script with its source and the SHA-1 Redis knows it by. */
export interface Script {
  readonly source: string;
  readonly sha: Promise<string>;
  /** The SHA once `sha` has resolved, so a call need not wait for it. */
  readonly hex: string | undefined;
}

/** An argument a script checks: a time, a TTL (a whole number, at least 1), or a time that may be `''`. */
type Check = { time: string } | { ttl: string } | { timeOrEmpty: string };

/**
 * Lua that refuses the script, before its first write, unless every
 * argument of `checks` is in range. Inline expressions, not Lua functions:
 * a function defined in a script is created again on every call (measured:
 * bench/RESULTS.md#redisstore-against-honosession-on-redis-issue-23).
 * `tonumber` reads "nan" and "inf" too; both fail the range.
 */
function guard(what: string, checks: Check[]): string {
  const locals: string[] = [];
  const conditions = checks.map((check, k) => {
    const n = `n${k}`;
    const [arg, min, whole] = "time" in check
      ? [check.time, 0, false]
      : "ttl" in check
      ? [check.ttl, 1, true]
      : [check.timeOrEmpty, 0, false];
    locals.push(`local ${n} = tonumber(${arg})`);
    const inRange = `${n} ~= nil and ${n} >= ${min} and ${n} <= ${MAX_TIME}${
      whole ? ` and ${n} == math.floor(${n})` : ""
    }`;
    return "timeOrEmpty" in check ? `(${arg} == '' or (${inRange}))` : `(${inRange})`;
  });
  return `${locals.join("\n")}
if not (${conditions.join(" and ")}) then
  return redis.error_reply('ERR satchel: ${what} out of range, nothing written')
end`;
}

function script(source: string): Script {
  const s: { source: string; sha: Promise<string>; hex: string | undefined } = {
    source,
    sha: crypto.subtle.digest("SHA-1", new TextEncoder().encode(source)).then((buf) =>
      [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("")
    ),
    hex: undefined,
  };
  void s.sha.then((hex) => (s.hex = hex));
  return s;
}

/**
 * Compare-and-set write of one session: replaces the hash if it is still in
 * the state the caller read, `<version>|<expiresAt>` (`|` when missing), so
 * a write or a `touch` from anyone since the read makes it fail. Denied as a
 * whole while Redis is out of memory.
 * ARGV: expected state (`*` = any), payload, createdAt, expiresAt, userId
 * flag (`1`/`0`), userId, new version, index cover, TTL in ms, channel,
 * message (`<id> <new version>|<expiresAt>`).
 * Returns 1 when written, 0 when the state did not match.
 */
export const SET = script(`#!lua
${
  guard("createdAt, expiresAt, cover or TTL", [
    { time: "ARGV[3]" },
    { time: "ARGV[4]" },
    { time: "ARGV[8]" },
    { ttl: "ARGV[9]" },
  ])
}
local key = KEYS[1]
local f
if ARGV[1] ~= '*' then
  f = redis.call('HMGET', key, 'v', 'e', 'u')
  if (f[1] or '') .. '|' .. (f[2] or '') ~= ARGV[1] then return 0 end
end
-- Every field is overwritten (u removed when unbound): cheaper than DEL and a new hash. HSET counts the
-- fields it added: all 5 (or 6) for a new hash, at most 2 (i, u) for one that existed, since every
-- session has p, c, e and v. Cheaper than asking EXISTS first; it holds while no write removes those fields.
local added
if ARGV[5] == '1' then
  added = redis.call('HSET', key, 'p', ARGV[2], 'c', ARGV[3], 'e', ARGV[4], 'v', ARGV[7], 'i', ARGV[8], 'u', ARGV[6])
else
  added = redis.call('HSET', key, 'p', ARGV[2], 'c', ARGV[3], 'e', ARGV[4], 'v', ARGV[7], 'i', ARGV[8])
end
local existed = added < 5
-- Each call a script makes costs Redis about as much as a command of its own: none is made for nothing. After
-- a compare-and-set read, 'u' is removed only if it was there, and the TTL is left when the expiry stays where
-- the read found it (HSET keeps a key's TTL, and every write or touch that sets 'e' sets the TTL with it; a key
-- whose TTL was removed outside Satchel, by PERSIST or a copy that dropped it, gets it back at its next refresh).
if existed and ARGV[5] ~= '1' and (f == nil or f[3]) then redis.call('HDEL', key, 'u') end
if not (f and f[2] == ARGV[4]) then redis.call('PEXPIRE', key, ARGV[9]) end
-- A session that did not exist is in no near cache: a new session costs no message.
if existed then redis.pcall('PUBLISH', ARGV[10], ARGV[11]) end
return 1
`);

/**
 * Compare-and-delete: removes the hash if it is still in the state ARGV[1]
 * (as for SET). Allowed while Redis is out of memory (it frees memory).
 * ARGV: expected state, channel, message (`<id> |`).
 * Returns 1 when deleted, 0 when the state did not match.
 */
export const DEL = script(`#!lua flags=allow-oom
local f = redis.call('HMGET', KEYS[1], 'v', 'e')
if (f[1] or '') .. '|' .. (f[2] or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.pcall('PUBLISH', ARGV[2], ARGV[3])
return 1
`);

/** Delete the session, whatever its state. ARGV: channel, message (`<id> |`). Returns 1 when it existed. */
export const PURGE = script(`#!lua flags=allow-oom
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.pcall('PUBLISH', ARGV[1], ARGV[2])
return 1
`);

/**
 * Move a live session's expiry: the `e` field and the key's TTL, nothing else.
 * A missing key or one whose `e` has passed stays as it is (never revived).
 * ARGV: now, new expiresAt, TTL in ms, index cover just written (or ``), its user, channel, session id.
 * Returns 0 (missing or expired), 1 (moved), or `{userId}` when the user index
 * must first be extended to cover the new expiry.
 */
export const TOUCH = script(`#!lua flags=allow-oom
${
  guard("now, expiresAt, TTL or cover", [
    { time: "ARGV[1]" },
    { time: "ARGV[2]" },
    { ttl: "ARGV[3]" },
    { timeOrEmpty: "ARGV[4]" },
  ])
}
local key = KEYS[1]
local f = redis.call('HMGET', key, 'e', 'u', 'i', 'v')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[1]) then return 0 end
local cover = tonumber(f[3] or '0') or 0
if f[2] and ARGV[4] ~= '' and f[2] == ARGV[5] and tonumber(ARGV[4]) > cover then
  cover = tonumber(ARGV[4])
  redis.call('HSET', key, 'i', ARGV[4])
end
if f[2] and cover < tonumber(ARGV[2]) then return {f[2]} end
redis.call('HSET', key, 'e', ARGV[2])
redis.call('PEXPIRE', key, ARGV[3])
redis.pcall('PUBLISH', ARGV[6], ARGV[7] .. ' ' .. (f[4] or '') .. '|' .. ARGV[2])
return 1
`);

/**
 * Record a session in its user's index (a sorted set scored by how long the
 * entry must last), drop entries whose time has passed, and keep the index
 * key alive as long as its latest entry. ARGV: now, score, session id.
 */
export const INDEX = script(`#!lua
${guard("now or score", [{ time: "ARGV[1]" }, { time: "ARGV[2]" }])}
local key = KEYS[1]
redis.call('ZADD', key, 'GT', ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if top[2] then
  -- Clamped, and written as digits: an entry past MAX (left by an earlier version) must not make PEXPIRE fail.
  local left = math.min(${MAX_TIME}, math.max(1, math.ceil(tonumber(top[2]) - tonumber(ARGV[1]))))
  redis.call('PEXPIRE', key, string.format('%d', left))
end
return 1
`);

/** Delete the session if it still belongs to the user ARGV[1]. ARGV: user, channel, message. Returns 1 when deleted. */
export const DELETE_IF_USER = script(`#!lua flags=allow-oom
if redis.call('HGET', KEYS[1], 'u') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.pcall('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`);
