/**
 * The one thing RedisStore needs from a Redis client: send a command, get
 * its reply. One small adapter per client turns the user's client object
 * into this; nothing here imports a client library.
 * @module
 */
import { fromBunRedis, isBunRedis } from "./bun.ts";
import { fromIoredis, isIoredis } from "./ioredis.ts";
import { fromNodeRedis, isNodeRedis } from "./node-redis.ts";

/**
 * A Redis connection as RedisStore uses it. Implement it to plug in a client
 * Satchel has no adapter for.
 * @example
 * ```ts
 * import type { RedisCommander } from "satchel/redis";
 * declare const glide: { customCommand(args: string[]): Promise<unknown> };
 * const commander: RedisCommander = { command: (args) => glide.customCommand(args) };
 * ```
 */
export interface RedisCommander {
  /**
   * Send one command and resolve with its reply: bulk strings as strings,
   * integers as numbers, nil as `null`, arrays as arrays. Reject with the
   * server's error (its message starts with the error code, e.g. `NOSCRIPT`)
   * or with the connection's.
   * @param args The command and its arguments, e.g. `["HMGET", key, "p"]`.
   * @param key The key the command touches, for clients that route by key (Redis Cluster).
   */
  command(args: string[], key: string): Promise<unknown>;
  /**
   * Optional. On a cluster, one commander per primary, for the commands that
   * must reach every node (`SCAN` in `deleteAll`); a single server has none.
   */
  primaries?(): RedisCommander[];
}

/**
 * A client that cannot serve this server (Bun's `RedisClient` on a Cluster
 * or a Sentinel): not an outage, so RedisStore reports it with this message.
 */
export class UnsupportedClientError extends Error {
  override name = "UnsupportedClientError";
}

/** What the `client` option of RedisStore accepts. */
export type RedisClientLike = RedisCommander | object;

/**
 * The commander for `client`: an ioredis `Redis`/`Cluster`, a node-redis
 * client, cluster or sentinel, Bun's `RedisClient`, or an object that already has
 * `command(args, key)`. `null` when the object is none of these.
 */
export function toCommander(client: unknown): RedisCommander | null {
  if (typeof client !== "object" || client === null) return null;
  if (isBunRedis(client)) return fromBunRedis(client);
  if (isIoredis(client)) return fromIoredis(client);
  if (isNodeRedis(client)) return fromNodeRedis(client);
  const c = client as Partial<RedisCommander>;
  if (typeof c.command === "function") {
    const command: RedisCommander["command"] = (args, key) => c.command!(args, key);
    // A cluster of the app's own keeps its primaries (deleteAll's SCAN, and the near cache's refusal).
    return typeof c.primaries === "function" ? { command, primaries: () => c.primaries!() } : { command };
  }
  return null;
}
