/**
 * Adapter for node-redis (`createClient()` or `createCluster()` from the
 * `redis` package): `sendCommand`, which on a cluster takes the key to route by.
 * The client must be connected (`await client.connect()`) before use.
 * @module
 */
import type { RedisCommander } from "./commander.ts";

/** The part of a node-redis client the store uses. */
export interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
  isOpen: boolean;
}

/** The part of a node-redis cluster the store uses. */
interface NodeRedisClusterLike {
  sendCommand(firstKey: string, isReadonly: boolean, args: string[]): Promise<unknown>;
  masters: unknown;
}

/** Whether `client` looks like a node-redis client or cluster. */
export function isNodeRedis(client: object): client is NodeRedisLike {
  const c = client as Partial<NodeRedisLike>;
  return typeof c.sendCommand === "function" && typeof c.isOpen === "boolean";
}

/** Wrap a node-redis client or cluster. */
export function fromNodeRedis(client: NodeRedisLike): RedisCommander {
  if ("masters" in client) {
    const cluster = client as unknown as NodeRedisClusterLike;
    return { command: (args, key) => cluster.sendCommand(key, false, args) };
  }
  return { command: (args) => client.sendCommand(args) };
}
