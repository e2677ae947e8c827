/**
 * Adapter for node-redis (`createClient()`, `createCluster()` or
 * `createSentinel()` from the `redis` package): `sendCommand`, whose
 * arguments differ for each (a cluster takes the key to route by, a
 * sentinel whether the command only reads). The client must be connected
 * (`await client.connect()`) before use.
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
  /** The primaries, each reached through `nodeClient`. */
  masters: readonly unknown[];
  nodeClient(node: unknown): NodeRedisLike | Promise<NodeRedisLike>;
}

/** The part of a node-redis sentinel client the store uses. */
interface NodeRedisSentinelLike {
  sendCommand(isReadonly: boolean, args: string[]): Promise<unknown>;
  getMasterNode: unknown;
}

/** Whether `client` looks like a node-redis client, cluster or sentinel. */
export function isNodeRedis(client: object): client is NodeRedisLike {
  const c = client as Partial<NodeRedisLike>;
  return typeof c.sendCommand === "function" && typeof c.isOpen === "boolean";
}

/** Wrap a node-redis client, cluster or sentinel. */
export function fromNodeRedis(client: NodeRedisLike): RedisCommander {
  if (typeof (client as { getMasterNode?: unknown }).getMasterNode === "function") {
    // Every command goes to the primary: scripts write, and a replica may lag behind.
    const sentinel = client as unknown as NodeRedisSentinelLike;
    return { command: (args) => sentinel.sendCommand(false, args) };
  }
  if ("masters" in client) {
    const cluster = client as unknown as NodeRedisClusterLike;
    return {
      command: (args, key) => cluster.sendCommand(key, false, args),
      primaries: () =>
        cluster.masters.map((node) => ({
          command: async (args: string[]) => (await cluster.nodeClient(node)).sendCommand(args),
        })),
    };
  }
  return { command: (args) => client.sendCommand(args) };
}
