/**
 * The near cache's subscriber connection over each client Satchel knows:
 * subscribe with a listener, and learn when messages may have been lost.
 * Measured on each client with `CLIENT KILL TYPE pubsub`
 * (tests/redis-near-cache.test.ts):
 * - ioredis emits `close` and `reconnecting`, then resubscribes by itself;
 * - node-redis emits `error` and `reconnecting`, then resubscribes by itself;
 * - Bun's `RedisClient` reconnects without `onclose`, calls `onconnect`, and
 *   does not resubscribe (it keeps the old listener).
 * The near cache subscribes again after every loss anyway (one listener at
 * a time: the previous one is removed first).
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

/** Chain `fn` after what the app may have set on a Bun client's callback property. */
function chain<K extends "onconnect" | "onclose">(client: BunSub, name: K, fn: () => void): void {
  const before = client[name] as ((this: unknown, ...args: unknown[]) => void) | null;
  client[name] = function (this: unknown, ...args: unknown[]) {
    fn();
    before?.apply(this, args);
  } as BunSub[K];
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

/**
 * Listeners, one at a time per channel list: `replace(channels, make)`
 * removes the previous one (`remove`) before adding the next (`add`), so
 * subscribing again after a loss never doubles them.
 */
function oneListener(
  add: (channels: string[], l: Listener) => Promise<unknown>,
  remove: (channels: string[], l: Listener) => Promise<unknown>,
) {
  let current: { channels: string[]; listener: Listener } | undefined;
  const drop = async () => {
    if (current === undefined) return;
    const { channels, listener } = current;
    current = undefined;
    await remove(channels, listener).catch(() => {}); // a dead connection forgets them anyway
  };
  return {
    async replace(channels: string[], onMessage: (channel: string, message: string) => void) {
      await drop();
      const listener: Listener = (message, channel) => onMessage(String(channel), String(message));
      current = { channels, listener };
      await add(channels, listener);
    },
    drop,
  };
}

/** The subscriber over `client`, which {@linkcode canSubscribe} accepted. Adds its listeners; `close()` removes them. */
export function toSubscriber(client: object): Subscriber {
  const losses: (() => void)[] = [];
  const lost = () => {
    for (const fn of losses) fn();
  };
  if (isBunRedis(client)) {
    const bun = client as unknown as BunSub;
    const one = oneListener(
      (channels, l) => bun.subscribe(channels, l),
      (channels, l) => Promise.all(channels.map((c) => bun.unsubscribe(c, l))),
    );
    let closed = false;
    // Bun reconnects without onclose and keeps its listeners, but not the subscription: both hooks count as a loss.
    chain(bun, "onclose", () => closed || lost());
    chain(bun, "onconnect", () => closed || lost());
    return {
      subscribe: (channels, onMessage) => one.replace(channels, onMessage),
      onLoss: (fn) => void losses.push(fn),
      close() {
        closed = true;
        void one.drop();
      },
    };
  }
  if (isIoredis(client)) {
    const io = client as unknown as IoredisSub;
    let onMessage: ((channel: string, message: string) => void) | undefined;
    let channels: string[] = [];
    const message: Handler = (channel, text) => onMessage?.(String(channel), String(text));
    io.on("message", message);
    const events = ["close", "reconnecting", "end"];
    for (const event of events) io.on(event, lost);
    return {
      subscribe: async (list, fn) => {
        onMessage = fn;
        channels = list;
        await io.subscribe(...list);
      },
      onLoss: (fn) => void losses.push(fn),
      close() {
        io.off("message", message);
        for (const event of events) io.off(event, lost);
        if (channels.length > 0) void io.unsubscribe(...channels).catch(() => {});
      },
    };
  }
  const node = client as unknown as NodeRedisSub;
  const one = oneListener((channels, l) => node.subscribe(channels, l), (channels, l) => node.unsubscribe(channels, l));
  const events = ["error", "reconnecting", "end"];
  for (const event of events) node.on(event, lost);
  return {
    subscribe: (channels, onMessage) => one.replace(channels, onMessage),
    onLoss: (fn) => void losses.push(fn),
    close() {
      for (const event of events) node.off(event, lost);
      void one.drop();
    },
  };
}
