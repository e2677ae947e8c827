/**
 * The near cache's subscriber connection over each client Satchel knows:
 * subscribe with a listener, and learn when messages may have been lost.
 * Measured on each client with `CLIENT KILL TYPE pubsub`
 * (tests/redis-near-cache.test.ts):
 * - ioredis emits `close` and `reconnecting`, then resubscribes by itself;
 * - node-redis emits `error` and `reconnecting`, then resubscribes by itself;
 * - Bun's `RedisClient` reconnects without `onclose`, calls `onconnect`, and
 *   does not resubscribe (it keeps the old listener).
 * The near cache subscribes again after every loss anyway, with one
 * listener for the life of the store, and never unsubscribes a connection
 * that may be live (messages published in between would be lost): only
 * Bun's old listener is dropped, once the connection is a new one.
 * @module
 */
import { isBunRedis } from "./bun.ts";
import { isIoredis } from "./ioredis.ts";
import type { Subscriber } from "./near-cache.ts";
import { isNodeRedis } from "./node-redis.ts";

type Listener = (message: string, channel: string) => void;
type Handler = (...args: unknown[]) => void;

interface IoredisSub {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: string, fn: Handler): unknown;
  off(event: string, fn: Handler): unknown;
}

interface NodeRedisSub {
  subscribe(channels: string[], listener: Listener): Promise<unknown>;
  unsubscribe(channels: string[], listener: Listener): Promise<unknown>;
  on(event: string, fn: Handler): unknown;
  off(event: string, fn: Handler): unknown;
}

interface BunSub {
  subscribe(channels: string[], listener: Listener): Promise<unknown>;
  unsubscribe(channel: string, listener: Listener): Promise<unknown>;
  onconnect: ((this: unknown) => void) | null;
  onclose: ((this: unknown, error: Error) => void) | null;
}

/**
 * Chain `fn` before what the app set on a Bun client's callback property;
 * returns how to put the app's back (unless the app replaced ours since).
 */
function chain<K extends "onconnect" | "onclose">(client: BunSub, name: K, fn: () => void): () => void {
  const before = client[name] as ((this: unknown, ...args: unknown[]) => void) | null;
  const ours = function (this: unknown, ...args: unknown[]) {
    fn();
    before?.apply(this, args);
  } as BunSub[K];
  client[name] = ours;
  return () => {
    if (client[name] === ours) client[name] = before as BunSub[K];
  };
}

/**
 * Run a clean-up call whose failure changes nothing (the connection is gone,
 * or was never subscribed: Bun throws synchronously then).
 */
async function quietly(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch {
    // nothing to clean up
  }
}

/** Whether `client` can be the near cache's subscriber: a client Satchel knows, for one server (no side effect). */
export function canSubscribe(client: unknown): boolean {
  if (typeof client !== "object" || client === null) return false;
  if (isBunRedis(client)) return true;
  if (isIoredis(client)) return (client as { isCluster?: boolean }).isCluster !== true;
  if (isNodeRedis(client)) {
    return !("masters" in client) && typeof (client as { getMasterNode?: unknown }).getMasterNode !== "function";
  }
  return false;
}

/** The subscriber over `client`, which {@linkcode canSubscribe} accepted. Adds its listeners; `close()` removes them. */
export function toSubscriber(client: object): Subscriber {
  const losses: (() => void)[] = [];
  const lost = () => {
    for (const fn of losses) fn();
  };
  // One listener for the life of the store, calling whichever callback the last subscribe gave.
  let onMessage: ((channel: string, message: string) => void) | undefined;
  let channels: string[] = [];
  const listener: Listener = (message, channel) => onMessage?.(String(channel), String(message));
  if (isBunRedis(client)) {
    const bun = client as unknown as BunSub;
    let closed = false;
    let registered = false;
    // Bun reconnects without onclose and keeps its listeners, but not the subscription: both hooks count as a loss.
    const restore = [chain(bun, "onclose", () => closed || lost()), chain(bun, "onconnect", () => closed || lost())];
    return {
      async subscribe(list, fn, afterLoss) {
        onMessage = fn;
        channels = list;
        if (registered && !afterLoss) return; // live or not, only a loss event tells: subscribing again would add a listener
        if (registered) {
          // A new connection: no subscription on the server to lose, only Bun's old listener to drop.
          await Promise.all(list.map((c) => quietly(() => bun.unsubscribe(c, listener))));
          if (closed) return; // closed meanwhile: stay unsubscribed
        }
        registered = true;
        await bun.subscribe(list, listener);
      },
      onLoss: (fn) => void losses.push(fn),
      close() {
        closed = true;
        for (const undo of restore) undo();
        if (registered) { for (const c of channels) void quietly(() => bun.unsubscribe(c, listener)); }
      },
    };
  }
  if (isIoredis(client)) {
    const io = client as unknown as IoredisSub;
    const message: Handler = (channel, text) => listener(String(text), String(channel));
    io.on("message", message);
    const events = ["close", "reconnecting", "end"];
    for (const event of events) io.on(event, lost);
    return {
      subscribe: async (list, fn) => {
        onMessage = fn;
        channels = list;
        await io.subscribe(...list); // again on a live connection: the server keeps one subscription
      },
      onLoss: (fn) => void losses.push(fn),
      close() {
        io.off("message", message);
        for (const event of events) io.off(event, lost);
        if (channels.length > 0) void quietly(() => io.unsubscribe(...channels));
      },
    };
  }
  const node = client as unknown as NodeRedisSub;
  const events = ["error", "reconnecting", "end"];
  for (const event of events) node.on(event, lost);
  return {
    subscribe: async (list, fn) => {
      onMessage = fn;
      channels = list;
      await node.subscribe(list, listener); // node-redis keeps a set of listeners: the same one is added once
    },
    onLoss: (fn) => void losses.push(fn),
    close() {
      for (const event of events) node.off(event, lost);
      if (channels.length > 0) void quietly(() => node.unsubscribe(channels, listener));
    },
  };
}
