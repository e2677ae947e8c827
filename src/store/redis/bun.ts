/**
 * Adapter for Bun's built-in `RedisClient` (`import { RedisClient } from "bun"`):
 * `send(command, args)`. Bun stops reconnecting after `maxRetries` failed
 * attempts and then waits for `connect()`; the adapter calls it when the
 * client is down, so requests succeed again once Redis is back.
 * @module
 */
import type { RedisCommander } from "./commander.ts";

/** The part of Bun's `RedisClient` the store uses. */
export interface BunRedisLike {
  send(command: string, args: string[]): Promise<unknown>;
  connect(): Promise<void>;
  connected: boolean;
  hmget: unknown;
}

/** Whether `client` looks like Bun's `RedisClient`. */
export function isBunRedis(client: object): client is BunRedisLike {
  const c = client as Partial<BunRedisLike>;
  return typeof c.send === "function" && typeof c.connect === "function" && typeof c.connected === "boolean" &&
    typeof c.hmget === "function";
}

/** Wrap a Bun `RedisClient`. */
export function fromBunRedis(client: BunRedisLike): RedisCommander {
  let connecting: Promise<void> | undefined;
  return {
    async command([name, ...args]) {
      if (!client.connected) {
        // One reconnect at a time, however many requests arrive while Redis is down.
        connecting ??= client.connect().finally(() => (connecting = undefined));
        await connecting;
      }
      return await client.send(name!, args);
    },
  };
}
