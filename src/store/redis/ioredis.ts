/**
 * Adapter for ioredis (`new Redis(url)` or `new Cluster(nodes)`): every
 * command goes through `call`, which routes by key on a Cluster.
 * @module
 */
import type { RedisCommander } from "./commander.ts";

/** The part of an ioredis `Redis` or `Cluster` the store uses. */
export interface IoredisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  evalsha: unknown;
  status: string;
}

/** Whether `client` looks like an ioredis `Redis` or `Cluster`. */
export function isIoredis(client: object): client is IoredisLike {
  const c = client as Partial<IoredisLike>;
  return typeof c.call === "function" && typeof c.evalsha === "function" && typeof c.status === "string";
}

/** Wrap an ioredis client; a `Cluster` also names its primaries (`nodes("master")`). */
export function fromIoredis(client: IoredisLike): RedisCommander {
  const command: RedisCommander["command"] = ([name, ...args]) => client.call(name!, ...args);
  const cluster = client as IoredisLike & { nodes?: (role: string) => IoredisLike[]; isCluster?: boolean };
  if (cluster.isCluster !== true || typeof cluster.nodes !== "function") return { command };
  return { command, primaries: () => cluster.nodes!("master").map(fromIoredis) };
}
