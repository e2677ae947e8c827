/**
 * Adapter for Bun's built-in `RedisClient` (`import { RedisClient } from "bun"`):
 * `send(command, args)`. Bun stops reconnecting after `maxRetries` failed
 * attempts and then waits for `connect()`; the adapter calls it when the
 * client is down, so requests succeed again once Redis is back.
 *
 * Bun's client speaks to one server: it follows neither Redis Cluster's
 * redirections nor Sentinel. On a cluster it sends each key to whichever
 * node it is connected to (MOVED errors, and `deleteByUser` reaching a
 * fraction of the sessions), so the adapter asks the server its mode once
 * (`INFO server`) and refuses a cluster or sentinel node with a message
 * naming the clients that do support them.
 * @module
 */
import { type RedisCommander, UnsupportedClientError } from "./commander.ts";

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

function unsupported(what: string): UnsupportedClientError {
  return new UnsupportedClientError(
    `Cannot use RedisStore: Bun's RedisClient does not support Redis Cluster or Sentinel (${what}); ` +
      "use ioredis (new Cluster(nodes), or new Redis({ sentinels, name })) " +
      "or node-redis (createCluster(), createSentinel())",
  );
}

/** Refuse a server that runs as a cluster node or a sentinel (`INFO server` says which). */
async function checkMode(client: BunRedisLike): Promise<void> {
  const info = String(await client.send("INFO", ["server"]));
  const mode = /(?:redis|server)_mode:(\w+)/.exec(info)?.[1];
  if (mode === "cluster" || mode === "sentinel") throw unsupported(`the server runs in ${mode} mode`);
}

/** Wrap a Bun `RedisClient`. */
export function fromBunRedis(client: BunRedisLike): RedisCommander {
  let connecting: Promise<void> | undefined;
  let checked: Promise<void> | undefined;
  /** Set once the server's mode was found fine: from then on a command goes straight to `send`. */
  let standalone = false;
  const redirected = (e: unknown) => {
    // A cluster node that answered INFO as standalone cannot redirect; still say why.
    if (e instanceof Error && /^(MOVED|ASK) /.test(e.message)) {
      throw unsupported(`the server redirected a key: ${e.message.slice(0, 60)}`);
    }
    throw e;
  };
  async function prepare(): Promise<void> {
    if (!client.connected) {
      // One reconnect at a time, however many requests arrive while Redis is down.
      connecting ??= client.connect().finally(() => (connecting = undefined));
      await connecting;
    }
    // Once per client; asked again only if the question itself failed (Redis down).
    checked ??= checkMode(client).then(() => void (standalone = true), (e) => {
      if (!(e instanceof UnsupportedClientError)) checked = undefined;
      throw e;
    });
    await checked;
  }
  return {
    command([name, ...args]) {
      if (standalone && client.connected) return client.send(name!, args).catch(redirected);
      return prepare().then(() => client.send(name!, args)).catch(redirected);
    },
  };
}
