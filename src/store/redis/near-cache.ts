/**
 * RedisStore's near cache (opt-in): the sessions this process read
 * recently (and what its own writes after a read made of them), kept in
 * memory and answered from there, so a request that uses
 * its session makes no `HMGET`, and a write after a cached read is one
 * script call.
 *
 * Invalidation: every write script of RedisStore publishes what it did on
 * one channel (`<prefix>inv`, message `<id> <version>|<expiresAt>`, or
 * `<id> |` when the session is gone), whether or not any process listens;
 * each process with a near cache subscribes on a connection of its own and
 * drops what another process changed.
 *
 * The barrier: a cached session is answered only once a probe this process
 * published after the read began (on its own channel, same subscriber
 * connection) has come back. Redis runs commands one at a time and delivers
 * a connection's messages in order, so every write any process saw
 * acknowledged before the read began has had its invalidation handled by
 * then: a `destroy()` acknowledged to one client is never honoured
 * afterwards by this process, with no staleness window at all. Probes are
 * shared: every read waiting when one is sent waits for that one, so a busy
 * process sends one `PUBLISH` per batch of reads instead of one `HMGET`
 * each. The barrier costs a round trip of latency, not CPU.
 *
 * Loss: the cache serves only while a probe proves the subscription live.
 * When the subscriber's connection closes, drops or reconnects (messages
 * may have been lost), a probe does not come back in time, or a probe's
 * `PUBLISH` reached no subscriber on the server that ran it (the subscriber
 * is on another server, e.g. a replica), everything is forgotten, nothing
 * read or written meanwhile is kept (not even once the cache is live
 * again), the cache subscribes again, and it serves again once a probe sent
 * after the loss has come back.
 * @module
 */
import { MAX_REMEMBERED_PAYLOAD } from "../kit/loaded.ts";
import type { StoredSession } from "../types.ts";

/** What the cache holds of a session: a live read, as RedisStore's `HMGET` or its own write left it. */
export interface CachedRead {
  readonly live: StoredSession;
  /** `<version>|<expiresAt>`: what the compare-and-set checks. */
  readonly state: string;
  readonly userId: string | null;
  readonly cover: number;
}

/** A connection subscribed to the invalidation and probe channels, over whichever client the app uses. */
export interface Subscriber {
  /**
   * Subscribe to `channels`, calling `onMessage(channel, message)` for every
   * message, in the order Redis sent them. Called again after every loss
   * (`afterLoss`: the connection dropped or came back) and after a probe
   * timed out: it never adds a second listener, and never unsubscribes a
   * connection that may still be live (messages published in between would
   * be lost to a cache that believes itself live).
   */
  subscribe(
    channels: string[],
    onMessage: (channel: string, message: string) => void,
    afterLoss: boolean,
  ): Promise<unknown>;
  /** Call `fn` whenever messages may have been lost: the connection closed, dropped, or came back. */
  onLoss(fn: () => void): void;
  /** Unsubscribe and remove every listener this subscriber added; the connection stays open. */
  close(): void;
}

/** What reading or writing a session began with: a write or a read is cached only if nothing changed it since. */
export interface Ticket {
  readonly seq: number;
  readonly generation: number;
  /** Whether the subscription was proven live when the read or write began: otherwise it is never cached. */
  readonly live: boolean;
  /** The invalidation message the write will publish: its own mark does not keep its result out. */
  readonly own?: string;
}

/**
 * How many ids an invalidation is remembered for, for reads and writes in
 * flight: past it the oldest eighth is forgotten, and only results begun
 * before the newest forgotten one are refused (forgetting every mark at
 * once refused every result in flight). Every write of every process leaves
 * a mark, so a read or write that takes longer than about 224 writes of the
 * whole fleet (11 ms at 20,000 writes/s) is not cached: it costs a later
 * `HMGET`, never a stale answer. Few, because objects kept a little while
 * burden each garbage collection (measured for the reads RedisStore kept by
 * id until this round: ../kit/loaded.ts).
 */
const DIRTY_MAX = 256;

/** The near cache of one RedisStore. */
export class NearCache {
  /** The channel every RedisStore publishes its writes on. */
  readonly channel: string;
  #probeChannel: string;
  #entries = new Map<string, CachedRead>();
  #max: number;
  #publish: (channel: string, message: string) => Promise<unknown>;
  #sub: Subscriber;
  #timeoutMs: number;
  /** Counts invalidations handled; a read or write is cached only if none of its id came after its ticket. */
  #seq = 0;
  /** Reads and writes whose ticket is older than this are not cached (marks they needed were forgotten). */
  #floor = 0;
  /** The last message of each id (this store's own writes included) and when: a result older is not cached. */
  #dirty = new Map<string, { seq: number; message: string }>();
  /** Whether a probe proved the subscription live since the last loss. */
  #live = false;
  /** Bumped on every loss: tickets of an earlier generation are not cached. */
  #generation = 0;
  #probeSeq = 0;
  #inFlight: { n: number; generation: number; waiters: ((ok: boolean) => void)[]; timer: unknown } | null = null;
  #next: ((ok: boolean) => void)[] = [];
  #closed = false;
  /** Whether a subscription is in flight, and when the last began (at most one a probe timeout). */
  #subscribing = false;
  #subscriptions = 0;
  #subscribedAt = -Infinity;
  /** Whether the app was told the user may not publish (ACL): once. */
  #warned = false;

  /**
   * @param prefix RedisStore's key prefix: the channels are `<prefix>inv` and `<prefix>probe:<random>`.
   * @param publish Sends `PUBLISH channel message` on the store's command connection.
   * @param timeoutMs How long a probe may take before the cache counts the subscription as lost.
   */
  constructor(
    prefix: string,
    sub: Subscriber,
    publish: (channel: string, message: string) => Promise<unknown>,
    maxEntries: number,
    timeoutMs: number,
  ) {
    this.channel = `${prefix}inv`;
    this.#probeChannel = `${prefix}probe:${crypto.randomUUID()}`;
    this.#sub = sub;
    this.#publish = publish;
    this.#max = maxEntries;
    this.#timeoutMs = timeoutMs;
    sub.onLoss(() => {
      if (this.#closed) return;
      this.#lose();
      this.#subscribe(true);
    });
    this.#subscribe(false);
  }

  /**
   * Subscribe (again): after every loss, whether or not the client
   * resubscribes by itself (Bun's does not; an ioredis client may be told
   * not to), and after a probe timed out (at most once a probe timeout). No
   * probe is sent meanwhile: one that came back before the subscription
   * would prove nothing.
   */
  #subscribe(afterLoss: boolean): void {
    if (this.#closed) return;
    if (!afterLoss && (this.#subscribing || performance.now() - this.#subscribedAt < this.#timeoutMs)) return;
    this.#subscribing = true;
    this.#subscribedAt = performance.now();
    const attempt = ++this.#subscriptions;
    this.#sub.subscribe(
      [this.channel, this.#probeChannel],
      (channel, message) => this.#onMessage(channel, message),
      afterLoss,
    )
      .then(() => {
        if (attempt !== this.#subscriptions) return; // a later one supersedes it
        this.#subscribing = false;
        this.#pump();
      }, () => {
        if (attempt !== this.#subscriptions) return;
        this.#subscribing = false;
        this.#lose();
      });
  }

  /** Forget everything and serve nothing until a probe sent from now on comes back. */
  #lose(): void {
    this.#generation++;
    this.#live = false;
    this.#entries.clear();
    this.#dirty.clear();
    this.#floor = ++this.#seq;
  }

  #onMessage(channel: string, message: string): void {
    if (channel === this.#probeChannel) return this.#probed(Number(message));
    if (channel !== this.channel) return;
    const space = message.lastIndexOf(" ");
    const id = message.slice(0, space);
    // Every message marks its id, this store's own writes' too: no result older than it is cached, except the
    // write that published it (settle). An entry already in the state announced stays.
    if (this.#entries.get(id)?.state !== message.slice(space + 1)) this.#entries.delete(id);
    this.#dirty.delete(id);
    this.#dirty.set(id, { seq: ++this.#seq, message });
    if (this.#dirty.size > DIRTY_MAX) {
      let drop = DIRTY_MAX >> 3;
      for (const [key, mark] of this.#dirty) {
        this.#dirty.delete(key);
        // Never lowered: clear() and a loss raise it past marks still kept.
        if (mark.seq > this.#floor) this.#floor = mark.seq;
        if (--drop === 0) break;
      }
    }
  }

  /** Send a probe for the reads waiting, unless one is in flight (they wait for the next). */
  #pump(): void {
    if (this.#inFlight !== null || this.#closed || this.#subscribing || (this.#live && this.#next.length === 0)) return;
    const n = ++this.#probeSeq;
    const waiters = this.#next;
    this.#next = [];
    const timer = setTimeout(() => this.#probeLost(n), this.#timeoutMs);
    // Never keep a process alive for a probe.
    (timer as { unref?: () => void }).unref?.();
    this.#inFlight = { n, generation: this.#generation, waiters, timer };
    // Received by no one: the subscriber is not on the server that ran the probe (a replica, another node).
    this.#publish(this.#probeChannel, String(n)).then((receivers) => {
      if (!(Number(receivers) >= 1)) this.#probeLost(n);
    }, (e) => {
      if (!this.#warned && /NOPERM/.test(String((e as Error)?.message ?? e))) {
        this.#warned = true;
        console.warn(
          `satchel: RedisStore's near cache stays off: the Redis user may not publish on ${this.#probeChannel}; ` +
            `grant it the channels (ACL SETUSER <user> &${this.channel} &${this.#probeChannel.replace(/[^:]+$/, "*")})`,
        );
      }
      this.#probeLost(n);
    });
  }

  #probed(n: number): void {
    const probe = this.#inFlight;
    if (probe === null || probe.n !== n) return; // one that timed out, come back late
    clearTimeout(probe.timer as number);
    this.#inFlight = null;
    const ok = probe.generation === this.#generation;
    if (ok) this.#live = true;
    // A probe from before a loss proves nothing: its loads, and those queued behind it, read Redis.
    const waiters = ok ? probe.waiters : [...probe.waiters, ...this.#next.splice(0)];
    for (const waiter of waiters) waiter(ok);
    this.#pump();
  }

  #probeLost(n: number): void {
    const probe = this.#inFlight;
    if (probe === null || probe.n !== n) return;
    clearTimeout(probe.timer as number);
    this.#inFlight = null;
    this.#lose();
    this.#subscribe(false);
    for (const waiter of probe.waiters) waiter(false);
    // The reads that queued meanwhile go to Redis; the next read sends a probe again.
    const next = this.#next;
    this.#next = [];
    for (const waiter of next) waiter(false);
  }

  /**
   * The cached session `id`, once every invalidation published before this
   * call has been handled; `undefined` when it is not cached, was changed
   * elsewhere, or the subscription is not proven live (read it from Redis).
   */
  async get(id: string): Promise<CachedRead | undefined> {
    if (!this.#live) {
      this.#pump();
      return undefined;
    }
    if (!this.#entries.has(id)) return undefined;
    const ok = await new Promise<boolean>((resolve) => {
      this.#next.push(resolve);
      this.#pump();
    });
    if (!ok) return undefined;
    const read = this.#entries.get(id);
    if (read !== undefined) {
      // Most recently used last: eviction takes the first.
      this.#entries.delete(id);
      this.#entries.set(id, read);
    }
    return read;
  }

  /** Before reading or writing: what the result is checked against. `own` is the message the write publishes. */
  ticket(own?: string): Ticket {
    return { seq: this.#seq, generation: this.#generation, live: this.#live, own };
  }

  /**
   * After a read or write begun with `ticket`: cache `read` (a live session
   * now in Redis) if nothing changed `id` since and the subscription was
   * live throughout; otherwise forget `id`. `null`: the session is gone.
   */
  settle(id: string, ticket: Ticket, read: CachedRead | null): void {
    const mark = this.#dirty.get(id);
    const clean = read !== null && ticket.live && this.#live && ticket.generation === this.#generation &&
      ticket.seq >= this.#floor && (mark === undefined || mark.seq <= ticket.seq || mark.message === ticket.own) &&
      read.live.payload.length <= MAX_REMEMBERED_PAYLOAD;
    this.#entries.delete(id);
    if (!clean) return;
    if (this.#entries.size >= this.#max) this.#evict();
    this.#entries.set(id, read);
  }

  /**
   * Drop the least recently used tenth in one pass: one at a time, each
   * eviction would walk past the ones deleted before it, and /new slowed
   * down by half once the cache was full
   * (bench/RESULTS.md#redisstore-against-honosession-on-redis-issue-23).
   */
  #evict(): void {
    let drop = Math.max(1, Math.floor(this.#max / 10));
    for (const id of this.#entries.keys()) {
      this.#entries.delete(id);
      if (--drop === 0) break;
    }
  }

  /** Forget `id` (before this store deletes or touches it). */
  forget(id: string): void {
    this.#entries.delete(id);
  }

  /** Forget everything (before `deleteAll`; its deletions then publish each id). */
  clear(): void {
    this.#entries.clear();
    this.#floor = ++this.#seq;
  }

  /** How many sessions are cached. */
  get size(): number {
    return this.#entries.size;
  }

  /** Serve nothing more and stop probing; waiting reads go to Redis. */
  close(): void {
    this.#closed = true;
    this.#lose();
    this.#sub.close();
    const waiting = [...(this.#inFlight?.waiters ?? []), ...this.#next];
    if (this.#inFlight !== null) clearTimeout(this.#inFlight.timer as number);
    this.#inFlight = null;
    this.#next = [];
    for (const waiter of waiting) waiter(false);
  }
}
