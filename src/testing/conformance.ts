/**
 * The suite every SessionStore must pass, registered with `node:test`.
 * Tests are flat `test()` calls (no describe), so Bun, Deno and Node count them alike.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateId } from "../id.ts";
import {
  canDeleteAll,
  canDeleteByUser,
  canDeleteExpired,
  canListUserSessions,
  canTouch,
  type SessionStore,
  type StoredSession,
} from "../store/types.ts";
import { FakeClock } from "./clock.ts";

/** A store to test, made fresh for each test, and how to clean up after it. */
export interface StoreFixture {
  /** The store under test. The suite calls its `close()`, if it has one, after each test. */
  store: SessionStore;
  /** Called after `close()`: remove files, flush a database. */
  cleanup?: () => void | Promise<void>;
}

/** Options for stores that cannot honour part of the contract as written. */
export interface ConformanceOptions {
  /** The store's expiry follows real time only (Redis TTL): skip fake-clock expiry tests. */
  realTimeExpiry?: boolean;
  /**
   * The engine expires keys itself: skip the `deleteExpired` test. A store
   * without `deleteExpired` needs no flag: optional capabilities are tested
   * only where the store has them.
   */
  selfExpiring?: boolean;
  /** Concurrent updates are last write wins by design (CookieStore): test sequential updates instead. */
  lastWriteWins?: boolean;
  /** The store cannot end a user's sessions (CookieStore): check it does not claim to. */
  noDeleteByUser?: boolean;
  /** The store cannot list a user's sessions (CookieStore, NullStore): check it does not claim to. */
  noListByUser?: boolean;
  /** Largest payload the store holds, when under 512 KiB (CookieStore): the large-payload test uses this size. */
  maxPayloadBytes?: number;
}

/**
 * Register the store contract's tests for one store: the required get, set,
 * delete and update (atomic, never losing an increment), expiry on a moved
 * clock, and each optional capability the store has (touch, deleteExpired,
 * deleteByUser, listByUser, deleteAll). Each test name starts with `name`.
 * @param name Names the store in each test, e.g. `"MyStore"`.
 * @param make Makes a fresh store for one test; give it `clock.fn` as its clock.
 * @param opts What the store cannot honour as written, when that is by design.
 * @example
 * ```ts ignore
 * import { storeConformance } from "satchel/testing";
 * import { MyStore } from "./my-store.ts";
 *
 * storeConformance("MyStore", (clock) => ({ store: new MyStore({ clock: clock.fn }) }));
 * ```
 */
export function storeConformance(
  name: string,
  make: (clock: FakeClock) => StoreFixture | Promise<StoreFixture>,
  opts: ConformanceOptions = {},
): void {
  async function withStore(fn: (store: SessionStore, clock: FakeClock) => Promise<void>): Promise<void> {
    const clock = new FakeClock(opts.realTimeExpiry ? Date.now() : undefined);
    const { store, cleanup } = await make(clock);
    try {
      await fn(store, clock);
    } finally {
      await store.close?.();
      await cleanup?.();
    }
  }
  const session = (clock: FakeClock, payload = '{"json":{"d":{"a":1}}}', ttl = 3600): StoredSession => ({
    payload,
    expiresAt: clock.now + ttl * 1000,
    createdAt: clock.now,
    userId: null,
  });

  test(`${name}.get() returns null for an id never stored`, () =>
    withStore(async (store) => {
      assert.equal(await store.get(generateId()), null);
    }));

  test(`${name}.set() then get() round-trips payload, expiry and creation time`, () =>
    withStore(async (store, clock) => {
      const id = generateId();
      const s = session(clock);
      await store.set(id, s);
      const got = await store.get(id);
      assert.equal(got?.payload, s.payload);
      assert.equal(got?.expiresAt, s.expiresAt);
      assert.equal(got?.createdAt, s.createdAt);
    }));

  test(`${name}.set() replaces an existing session`, () =>
    withStore(async (store, clock) => {
      const id = generateId();
      await store.set(id, session(clock, "first"));
      await store.set(id, session(clock, "second"));
      assert.equal((await store.get(id))?.payload, "second");
    }));

  const large = opts.maxPayloadBytes === undefined ? "512 KiB" : `${opts.maxPayloadBytes}-byte`;
  test(`${name}.get() keeps unicode and a ${large} payload intact`, () =>
    withStore(async (store, clock) => {
      const id = generateId();
      const text = "héllo wörld — 你好 — 🎒 \\u0000 ".repeat(10);
      const fill = opts.maxPayloadBytes === undefined
        ? 512 * 1024
        : opts.maxPayloadBytes - new TextEncoder().encode(text).length;
      const payload = text + "x".repeat(fill);
      await store.set(id, session(clock, payload));
      assert.equal((await store.get(id))?.payload, payload);
    }));

  test(`${name}.delete() removes a session and ignores a missing id`, () =>
    withStore(async (store, clock) => {
      const id = generateId();
      await store.set(id, session(clock));
      await store.delete(id);
      assert.equal(await store.get(id), null);
      await store.delete(generateId());
    }));

  test(`${name}.update() inserts, changes and deletes atomically`, () =>
    withStore(async (store, clock) => {
      const id = generateId();
      const seen: (string | null)[] = [];
      await store.update(id, (cur) => (seen.push(cur?.payload ?? null), session(clock, "one")));
      await store.update(id, (cur) => (seen.push(cur?.payload ?? null), { ...cur!, payload: "two" }));
      assert.equal((await store.get(id))?.payload, "two");
      const result = await store.update(id, (cur) => (seen.push(cur?.payload ?? null), null));
      assert.equal(result, null);
      assert.equal(await store.get(id), null);
      assert.deepEqual(seen, [null, "one", "two"]);
    }));

  test(`${name}.update(id, fn, loaded) with what get() returned sees every write made since, this store's own included`, () =>
    withStore(async (store, clock) => {
      const id = generateId();
      const seen = async (loaded: StoredSession | null) => {
        let cur: string | null | undefined;
        await store.update(id, (c) => (cur = c?.payload ?? null, c), loaded ?? undefined);
        return cur;
      };
      await store.set(id, session(clock, "one"));
      let loaded = await store.get(id);
      await store.set(id, session(clock, "two"));
      assert.equal(await seen(loaded), "two", "a set() after the load");
      // A session deleted and written again under its id (its new row starts as a new one did).
      await store.delete(id);
      await store.set(id, session(clock, "two-b"));
      loaded = await store.get(id);
      await store.delete(id);
      await store.set(id, session(clock, "three"));
      assert.equal(await seen(loaded), "three", "a delete() and a set() of the same id after the load");
      loaded = await store.get(id);
      await store.delete(id);
      assert.equal(await seen(loaded), null, "a delete() after the load");
      await store.set(id, session(clock, "four"));
      loaded = await store.get(id);
      await store.update(id, (c) => c && { ...c, payload: "five" });
      assert.equal(await seen(loaded), "five", "an update() after the load");
    }));

  test(`${name}.update() leaves the stored session intact when the function throws`, () =>
    withStore(async (store, clock) => {
      const id = generateId();
      await store.set(id, session(clock, "kept"));
      const boom = new Error("boom");
      await assert.rejects(async () =>
        await store.update(id, () => {
          throw boom;
        }), (e) => e === boom);
      assert.equal((await store.get(id))?.payload, "kept");
    }));

  if (opts.lastWriteWins) {
    test(`${name}.update() applies 20 updates in a row, each on the last one's result`, () =>
      withStore(async (store, clock) => {
        const id = generateId();
        await store.set(id, session(clock, "0"));
        for (let i = 0; i < 20; i++) {
          await store.update(id, (cur) => ({ ...cur!, payload: String(Number(cur!.payload) + 1) }));
        }
        assert.equal((await store.get(id))?.payload, "20");
      }));
  } else {
    test(`${name}.update() never loses an increment under 200 concurrent updates`, () =>
      withStore(async (store, clock) => {
        const id = generateId();
        await store.set(id, session(clock, "0"));
        await Promise.all(
          Array.from(
            { length: 200 },
            () =>
              Promise.resolve().then(() =>
                store.update(id, (cur) => ({ ...cur!, payload: String(Number(cur!.payload) + 1) }))
              ),
          ),
        );
        assert.equal((await store.get(id))?.payload, "200");
      }));
  }

  if (!opts.realTimeExpiry) {
    test(`${name}.get() returns null once the idle expiry has passed, before any sweep`, () =>
      withStore(async (store, clock) => {
        const id = generateId();
        await store.set(id, session(clock, "p", 60));
        clock.advance(59);
        assert.equal((await store.get(id))?.payload, "p");
        clock.advance(1);
        assert.equal(await store.get(id), null);
      }));

    test(`${name}.update() sees an expired session as null`, () =>
      withStore(async (store, clock) => {
        const id = generateId();
        await store.set(id, session(clock, "old", 10));
        clock.advance(11);
        let seen: StoredSession | null | undefined;
        await store.update(id, (cur) => (seen = cur, null));
        assert.equal(seen, null);
      }));

    test(`${name}.touch() moves the expiry and keeps the payload`, () =>
      withStore(async (store, clock) => {
        if (!canTouch(store)) return; // optional: the middleware moves the expiry through update instead
        const id = generateId();
        await store.set(id, session(clock, "p", 60));
        clock.advance(50);
        await store.touch(id, clock.now + 60_000);
        clock.advance(50);
        const got = await store.get(id);
        assert.equal(got?.payload, "p");
        assert.equal(got?.expiresAt, clock.now + 10_000);
      }));

    test(`${name}.touch() does not revive an expired session`, () =>
      withStore(async (store, clock) => {
        if (!canTouch(store)) return;
        const id = generateId();
        await store.set(id, session(clock, "p", 10));
        clock.advance(20);
        await store.touch(id, clock.now + 60_000);
        assert.equal(await store.get(id), null);
      }));
  }

  if (!opts.selfExpiring && !opts.realTimeExpiry) {
    test(`${name}.deleteExpired() removes only expired sessions and counts them`, () =>
      withStore(async (store, clock) => {
        if (!canDeleteExpired(store)) return; // optional: a store whose engine expires keys has none
        const live = Array.from({ length: 5 }, () => generateId());
        const dead = Array.from({ length: 7 }, () => generateId());
        for (const id of dead) await store.set(id, session(clock, "d", 10));
        for (const id of live) await store.set(id, session(clock, "l", 1000));
        clock.advance(20);
        assert.equal(await store.deleteExpired(clock.now), 7);
        assert.equal(await store.deleteExpired(clock.now), 0);
        for (const id of live) assert.equal((await store.get(id))?.payload, "l");
      }));
  }

  if (opts.noDeleteByUser) {
    test(`${name} has no deleteByUser (it cannot reach every session of a user)`, () =>
      withStore(async (store) => {
        assert.equal(canDeleteByUser(store), false);
      }));
  } else {
    test(`${name}.deleteByUser() ends every session of one user and no other`, () =>
      withStore(async (store, clock) => {
        if (!canDeleteByUser(store)) return; // optional
        const mine = [generateId(), generateId(), generateId()];
        const theirs = generateId();
        for (const id of mine) await store.set(id, { ...session(clock), userId: "alice" });
        await store.set(theirs, { ...session(clock), userId: "bob" });
        assert.equal(await store.deleteByUser("alice"), 3);
        for (const id of mine) assert.equal(await store.get(id), null);
        assert.equal((await store.get(theirs))?.userId, "bob");
      }));
  }

  if (opts.noListByUser || opts.noDeleteByUser) {
    test(`${name} has no listByUser`, () =>
      withStore(async (store) => {
        assert.equal(canListUserSessions(store), false);
      }));
  } else {
    test(`${name}.listByUser() lists the live sessions of one user and no other`, () =>
      withStore(async (store, clock) => {
        if (!canListUserSessions(store)) return; // optional
        const mine = [generateId(), generateId()];
        for (const id of mine) await store.set(id, { ...session(clock, `p-${id}`), userId: "alice" });
        await store.set(generateId(), { ...session(clock), userId: "bob" });
        await store.set(generateId(), session(clock));
        const listed = await store.listByUser("alice");
        assert.deepEqual(listed.map((e) => e.id).sort(), [...mine].sort());
        for (const e of listed) {
          assert.equal(e.session.payload, `p-${e.id}`);
          assert.equal(e.session.userId, "alice");
        }
        assert.deepEqual(await store.listByUser("carol"), []);
      }));
    if (!opts.realTimeExpiry) {
      test(`${name}.listByUser() leaves out expired sessions, swept or not`, () =>
        withStore(async (store, clock) => {
          if (!canListUserSessions(store)) return; // optional
          const live = generateId();
          await store.set(live, { ...session(clock, "l", 1000), userId: "alice" });
          await store.set(generateId(), { ...session(clock, "d", 10), userId: "alice" });
          clock.advance(20);
          assert.deepEqual((await store.listByUser("alice")).map((e) => e.id), [live]);
        }));
    }
    test(`${name}.listByUser() no longer lists a deleted session`, () =>
      withStore(async (store, clock) => {
        if (!canListUserSessions(store)) return; // optional
        const [a, b] = [generateId(), generateId()];
        await store.set(a, { ...session(clock), userId: "alice" });
        await store.set(b, { ...session(clock), userId: "alice" });
        await store.delete(a);
        assert.deepEqual((await store.listByUser("alice")).map((e) => e.id), [b]);
      }));
  }

  if (!opts.noListByUser && !opts.noDeleteByUser && !opts.realTimeExpiry) {
    test(`${name}.listByUser() lists oldest first`, () =>
      withStore(async (store, clock) => {
        if (!canListUserSessions(store)) return;
        const ids = [generateId(), generateId(), generateId()];
        for (const id of ids) {
          await store.set(id, { ...session(clock), userId: "alice" });
          clock.advance(1);
        }
        assert.deepEqual((await store.listByUser("alice")).map((e) => e.id), ids);
      }));
  }

  test(`${name}.deleteAll() ends every session and says how many`, () =>
    withStore(async (store, clock) => {
      if (!canDeleteAll(store)) return; // optional
      const ids = [generateId(), generateId(), generateId()];
      await store.set(ids[0]!, session(clock));
      await store.set(ids[1]!, { ...session(clock), userId: "alice" });
      await store.set(ids[2]!, { ...session(clock), userId: "bob" });
      assert.equal(await store.deleteAll(), 3);
      for (const id of ids) assert.equal(await store.get(id), null);
      if (canListUserSessions(store)) assert.deepEqual(await store.listByUser("alice"), []);
      assert.equal(await store.deleteAll(), 0);
      const after = generateId();
      await store.set(after, session(clock, "after"));
      assert.equal((await store.get(after))?.payload, "after");
    }));

  if (!opts.realTimeExpiry && !opts.selfExpiring) {
    test(`${name}.deleteAll() does not count sessions that had expired`, () =>
      withStore(async (store, clock) => {
        if (!canDeleteAll(store)) return;
        await store.set(generateId(), session(clock, "live", 1000));
        await store.set(generateId(), session(clock, "dead", 10));
        clock.advance(20);
        assert.equal(await store.deleteAll(), 1);
      }));
  }
}
