import assert from "node:assert/strict";
import { test } from "node:test";
import { SessionDataError, SessionTooLargeError } from "../src/errors.ts";
import { jsonSerializer, superjsonSerializer } from "../src/serializer.ts";
import { decide, type FreshWrite, type RowWrite } from "../src/session/commit.ts";
import { type CoreConfig, SessionCore } from "../src/session/core.ts";
import type { ExpiryPolicy } from "../src/session/expiry.ts";
import { decodePayload } from "../src/session/payload.ts";
import type { Loaded } from "../src/session/token.ts";
import { Session } from "../src/session/session.ts";
import { MemoryStore } from "../src/store/memory.ts";
import type { StoredSession } from "../src/store/types.ts";
import { commitContext } from "./fixtures/commit-context.ts";

const NOW = 1_000_000;
const TTL = 60_000;

function loaded(data: Record<string, unknown>, flash?: Record<string, unknown>) {
  const payload = jsonSerializer.stringify(flash ? { d: data, f: flash } : { d: data });
  const stored: StoredSession = { payload, expiresAt: NOW + TTL, createdAt: NOW - 5, userId: null };
  const core = makeCore({
    kind: "live",
    id: "i".repeat(32),
    stored,
    decoded: decodePayload(jsonSerializer, payload)!,
    stale: false,
  });
  return { core, session: new Session<Record<string, number>>(core), stored };
}

/** A core whose load gives `loaded`; the policy makes every write end TTL after it (threshold 0). */
function makeCore(loaded: Loaded): SessionCore {
  const config: CoreConfig = {
    serializer: jsonSerializer,
    maxPayloadBytes: 1000,
    load: () => loaded,
  };
  return new SessionCore(config, {} as never, new MemoryStore());
}

function fresh() {
  const core = makeCore({ kind: "none" });
  return { core, session: new Session<Record<string, number>>(core) };
}

/** Every write ends TTL after it (threshold 0). */
const policy: ExpiryPolicy = { ttl: TTL, absolute: undefined, threshold: 0 };

/** The stored session `core` writes over `current` as the commit plans it (made to write): merge, move or a new row. */
function write(core: SessionCore, current: StoredSession | null, now: number) {
  const plan = decide({ ...core.facts()!, dirty: true }, commitContext(now, policy));
  return core.stored(current, plan.store as RowWrite | FreshWrite);
}

const decode = (s: StoredSession | null) => JSON.parse(s!.payload);

test("Session starts unchanged and stays so through reads", () => {
  const { core, session } = loaded({ a: 1 });
  assert.equal(session.get("a"), 1);
  assert.equal(session.has("a"), true);
  assert.equal(session.has("b"), false);
  assert.deepEqual(session.keys(), ["a"]);
  assert.equal(session.isNew, false);
  assert.equal(core.dirty, false);
  assert.equal(session.status, "unchanged");
});

test("SessionCore.stored() re-applies the patch to a value another request wrote", () => {
  const { core, session, stored } = loaded({ a: 1, b: 1, c: 1 });
  session.set("a", 2);
  session.delete("b");
  session.update("n", (n) => (n ?? 0) + 10);
  assert.equal(session.status, "changed");
  const theirs = { ...stored, payload: jsonSerializer.stringify({ d: { a: 5, b: 5, c: 5, n: 1, z: 9 } }) };
  const merged = write(core, theirs, NOW + 1);
  assert.deepEqual(decode(merged), { d: { a: 2, c: 5, n: 11, z: 9 } });
  assert.equal(merged!.createdAt, stored.createdAt);
  assert.equal(merged!.expiresAt, NOW + 1 + TTL);
});

test("SessionCore.stored() uses the local view when nobody else wrote", () => {
  const { core, session, stored } = loaded({ a: 1 });
  session.update("a", (n) => (n ?? 0) + 1);
  assert.deepEqual(decode(write(core, stored, NOW)), { d: { a: 2 } });
});

test("SessionCore.stored() returns null when a loaded session vanished (destroy wins)", () => {
  const { core, session } = loaded({ a: 1 });
  session.set("a", 2);
  assert.equal(write(core, null, NOW), null);
});

test("Session.clear() then set() replaces everything another request wrote", () => {
  const { core, session, stored } = loaded({ a: 1 });
  session.clear();
  session.set("b", 2);
  const theirs = { ...stored, payload: jsonSerializer.stringify({ d: { a: 7, x: 1 } }) };
  assert.deepEqual(decode(write(core, theirs, NOW)), { d: { b: 2 } });
});

test("Session.update() after set() is folded into the set", () => {
  const { core, session, stored } = loaded({ a: 1 });
  session.set("a", 10);
  assert.equal(session.update("a", (n) => n! * 2), 20);
  const theirs = { ...stored, payload: jsonSerializer.stringify({ d: { a: 100 } }) };
  assert.deepEqual(decode(write(core, theirs, NOW)), { d: { a: 20 } });
});

test("Session.flash() reads the previous request's value and consumes it", () => {
  const { core, session, stored } = loaded({ a: 1 }, { notice: "hi" });
  assert.equal(session.flash("notice"), "hi");
  assert.equal(core.dirty, true, "consuming a flash is a change");
  assert.deepEqual(decode(write(core, stored, NOW)), { d: { a: 1 } });
});

test("Session.flash(key, value) is stored beside the unread values of earlier requests", () => {
  const { core, session, stored } = loaded({}, { old: 1 });
  session.flash("next", "x");
  assert.deepEqual(decode(write(core, stored, NOW)), { d: {}, f: { old: 1, next: "x" } });
});

test("Session.flash() leaves values this request did not read, and keepFlash() keeps those it read", () => {
  const { core, session, stored } = loaded({}, { a: 1, b: 2 });
  assert.equal(core.dirty, false, "loading a session with flash values is no change");
  assert.equal(session.flash("a"), 1);
  assert.deepEqual(decode(write(core, stored, NOW)), { d: {}, f: { b: 2 } });
  session.keepFlash();
  assert.equal(core.dirty, false);
  assert.deepEqual(decode(write(core, stored, NOW)), { d: {}, f: { a: 1, b: 2 } });
});

test("Session.set() refuses prototype keys", () => {
  const { session } = fresh();
  for (const k of ["__proto__", "constructor", "prototype"]) {
    assert.throws(() => session.set(k, 1), SessionDataError);
  }
});

test("decodePayload() drops prototype keys and rejects junk", () => {
  const d = decodePayload(jsonSerializer, '{"d":{"__proto__":{"polluted":1},"a":1}}')!;
  assert.deepEqual([...d.data.keys()], ["a"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(decodePayload(jsonSerializer, "not json"), null);
  assert.equal(decodePayload(jsonSerializer, "[1]"), null);
  assert.equal(decodePayload(superjsonSerializer, '{"json":5}'), null);
});

test("SessionCore.stored() throws SessionTooLargeError over maxPayloadBytes", () => {
  const { core, session } = fresh();
  session.set("a", 1);
  assert.ok(write(core, null, NOW));
  session.set("big", "x".repeat(2000) as unknown as number);
  assert.throws(
    () => write(core, null, NOW),
    (e) => e instanceof SessionTooLargeError && e.limit === 1000 && e.size > 2000,
  );
});

test("SessionTooLargeError counts UTF-8 bytes, not characters", () => {
  const { core, session } = fresh();
  session.set("s", "é".repeat(520) as unknown as number); // 1040 bytes in 520 characters
  assert.throws(() => write(core, null, NOW), SessionTooLargeError);
});

test("Session.destroy() then set() starts a new session under a new id", () => {
  const { core, session } = loaded({ a: 1 });
  const id = session.id;
  session.destroy();
  assert.equal(session.get("a"), undefined);
  assert.equal(session.isNew, true);
  assert.notEqual(session.id, id);
  assert.equal(core.dirty, false);
  session.set("b", 2);
  assert.deepEqual(decode(write(core, null, NOW)), { d: { b: 2 } });
});

test("Session.regenerate() keeps the data under a new id", () => {
  const { core, session, stored } = loaded({ a: 1 });
  const id = session.id;
  session.regenerate();
  assert.notEqual(session.id, id);
  assert.equal(session.status, "regenerated");
  assert.deepEqual(decode(write(core, stored, NOW)), { d: { a: 1 } });
});

test("Session.setUser() is kept in the stored session, outside the data", () => {
  const { core, session, stored } = loaded({ a: 1 });
  session.setUser("alice");
  const merged = write(core, stored, NOW)!;
  assert.equal(merged.userId, "alice");
  assert.deepEqual(decode(merged), { d: { a: 1 } });
});

test("SessionCore.facts() is undefined for a session never loaded: there is nothing to commit", () => {
  const { core } = loaded({ a: 1 });
  assert.equal(core.facts(), undefined);
  core.load();
  assert.equal(core.facts()!.accessed, false, "loading for touch: 'always' is not a use");
});

test("Session.destroy() drops the whole patch: user, lifetime, flash and data changes are gone", () => {
  const { core, session } = loaded({ a: 1 }, { notice: "hi" });
  session.set("a", 2);
  session.setUser("alice");
  session.setExpires(60);
  session.flash("notice");
  session.flash("next", 1);
  session.destroy();
  const facts = core.facts()!;
  assert.equal(facts.dirty, false);
  assert.equal(facts.lifetime, undefined);
  assert.equal(facts.lifecycle.kind, "destroyed");
  assert.equal(session.userId, null);
  assert.equal(session.flash("notice"), undefined, "the ended session's flash values are gone with it");
  assert.equal(session.status, "destroyed");
});

test("Session.destroy() of a session whose binding needs renewing is no change (its row ends)", () => {
  const payload = jsonSerializer.stringify({ d: { a: 1 }, b: "old-tag" });
  const stored: StoredSession = { payload, expiresAt: NOW + TTL, createdAt: NOW - 5, userId: null };
  const decoded = decodePayload(jsonSerializer, payload)!;
  const core = makeCore({ kind: "live", id: "i".repeat(32), stored, decoded, stale: false, rebind: "new-tag" });
  const session = new Session<Record<string, number>>(core);
  assert.equal(session.get("a"), 1);
  assert.equal(core.dirty, true, "the renewed tag is written to the row it belongs to");
  session.destroy();
  assert.equal(core.dirty, false);
  session.set("b", 2);
  assert.match(write(core, null, NOW)!.payload, /"b":"new-tag"/, "a new session after it is bound with the new tag");
});

test("Session.status follows the lifecycle: regenerated, renewed, destroyed", () => {
  const a = loaded({ a: 1 });
  a.session.regenerate();
  assert.equal(a.session.status, "regenerated");
  a.core.renew();
  assert.equal(a.session.status, "renewed");
  assert.equal(a.session.isNew, true, "a renewed session is no longer its loaded row");
  a.session.destroy();
  a.session.regenerate();
  assert.equal(a.session.status, "destroyed", "regenerate() after destroy() gives a new id, the session stays ended");
});
