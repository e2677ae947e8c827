/**
 * The near cache's subscriber connection over each client Satchel knows:
 * subscribe with a listener, and learn when messages may have been lost.
 * Measured on each client with `CLIENT KILL TYPE pubsub`
 * (tests/redis-near-cache.test.ts):
 * - ioredis emits `close` and `reconnecting`, then resubscribes by itself;
 * - node-redis emits `error` and `reconnecting`, then resubscribes by itself;
 * - Bun's `RedisClient` reconnects without `onclose`, calls `onconnect`, and
 *   does not resubscribe: the cache subscribes again.
 * @module
 */
import { isBunRedis } from "./bun.ts";
import { isIoredis } from "./ioredis.ts";
import type { Subscriber } from "./near-cache.ts";
import { isNodeRedis } from "./node-redis.ts";

type Listener = (message: string, channel: string) => void;

interface IoredisSub {
  subscribe(...channels: string[]): Promise<unknown>;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
}

interface NodeRedisSub {
  subscribe(channels: string[], listener: Listener): Promise<unknown>;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
}

interface BunSub {
  subscribe(channels: string[], listener: Listener): Promise<unknown>;
  onconnect: ((this: unknown) => void) | null;
  onclose: ((this: unknown, error: Error) => void) | null;
}

/** Chain `fn` after what the app may have set on a Bun client's callback property. */
function chain<K extends "onconnect" | "onclose">(client: BunSub, name: K, fn: () => void): void {
  const before = client[name] as ((this: unknown, ...args: unknown[]) => void) | null;
  client[name] = function (this: unknown, ...args: unknown[]) {
    fn();
    before?.apply(this, args);
  } as BunSub[K];
}

/** The subscriber over `client`, or `null` when it is no client Satchel knows or a cluster. */
export function toSubscriber(client: unknown): Subscriber | null {
  if (typeof client !== "object" || client === null) return null;
  if (isBunRedis(client)) {
    const bun = client as unknown as BunSub;
    return {
      subscribe: (channels, onMessage) => bun.subscribe(channels, (message, channel) => onMessage(channel, message)),
      onLoss(fn) {
        chain(bun, "onclose", fn);
        chain(bun, "onconnect", fn);
        return false;
      },
    };
  }
  if (isIoredis(client)) {
    if ((client as { isCluster?: boolean }).isCluster === true) return null;
    const io = client as unknown as IoredisSub;
    let onMessage: ((channel: string, message: string) => void) | undefined;
    io.on("message", (channel, message) => onMessage?.(String(channel), String(message)));
    return {
      subscribe: async (channels, fn) => {
        onMessage = fn;
        await io.subscribe(...channels);
      },
      onLoss(fn) {
        for (const event of ["close", "reconnecting", "end"]) io.on(event, fn);
        return true;
      },
    };
  }
  if (isNodeRedis(client)) {
    if ("masters" in client || typeof (client as { getMasterNode?: unknown }).getMasterNode === "function") return null;
    const node = client as unknown as NodeRedisSub;
    return {
      subscribe: (channels, onMessage) => node.subscribe(channels, (message, channel) => onMessage(channel, message)),
      onLoss(fn) {
        for (const event of ["error", "reconnecting", "end"]) node.on(event, fn);
        return true;
      },
    };
  }
  return null;
}
