/**
 * The commit decision as a table: one row per case, no Hono, no store.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type CommitContext,
  type CommitFacts,
  type CommitPlan,
  type CookieOp,
  decide,
  expiryOver,
  type Rebase,
  type RowWrite,
  type StoreOp,
} from "../src/session/commit.ts";
import { expiryAt, type ExpiryPolicy, refreshTo, thresholdFor, writeExpiry } from "../src/session/expiry.ts";
import { commitContext } from "./fixtures/commit-context.ts";

const S = 1000;
const NOW = 1_000_000 * S;
/** expires 3600, refresh when less than 3540 s left, absolute 8 h. */
const policy: ExpiryPolicy = { ttl: 3600 * S, absolute: 8 * 3600 * S, threshold: 3540 * S };
const ctx = commitContext(NOW, policy);

const ID = "L".repeat(32);
const NEW = "N".repeat(32);
/** A loaded row written 10 s ago (no refresh due), created an hour ago. */
const fresh = { id: ID, expiresAt: NOW + 3590 * S, createdAt: NOW - 3600 * S };
/** A loaded row last written 100 s ago: a refresh is due. */
const due = { id: ID, expiresAt: NOW + 3500 * S, createdAt: NOW - 3600 * S };

const base: CommitFacts = {
  accessed: true,
  hadToken: true,
  tokenInvalid: false,
  stale: false,
  row: fresh,
  lifecycle: { kind: "attached", regenerated: false },
  id: ID,
  dirty: false,
  lifetime: undefined,
  lifetimeChanged: false,
  bound: false,
  noStore: false,
  lateStore: false,
};
const REGENERATED = { kind: "attached", regenerated: true } as const;
const RENEWED = { kind: "renewed" } as const;
const DESTROYED = { kind: "destroyed" } as const;

const keep: CookieOp = { op: "keep" };
const clear: CookieOp = { op: "clear" };
const none: StoreOp = { op: "none" };
const send = (id: string, expiresAt: number, ifFound: boolean, persistent = false): CookieOp => ({
  op: "send",
  id,
  expiresAt,
  persistent,
  ifFound,
});
const full = (createdAt: number, lifetime = policy.ttl) => expiryAt(policy, NOW, createdAt, lifetime);
const rebase = (row = fresh, lifetime = policy.ttl, lifetimeChanged = false): Rebase => ({
  now: NOW,
  policy,
  loadedExpiresAt: row.expiresAt,
  lifetime,
  lifetimeChanged,
});
const merge = (expiresAt: number, row = fresh): RowWrite => ({ op: "merge", id: ID, expiresAt, rebase: rebase(row) });
const move = (row = fresh): RowWrite => ({
  op: "move",
  from: ID,
  to: NEW,
  expiresAt: full(row.createdAt),
  rebase: rebase(row),
});
const insert = (createdAt = NOW): StoreOp => ({ op: "insert", id: NEW, createdAt, expiresAt: full(createdAt) });
const plan = (store: StoreOp, cookie: CookieOp, more: Partial<CommitPlan> = {}): CommitPlan => ({
  store,
  cookie,
  bind: false,
  when: "now",
  ...more,
});
const NOTHING = plan(none, keep);

const rows: [string, Partial<CommitFacts>, Partial<CommitContext>, CommitPlan][] = [
  // Untouched sessions, and touch: "always".
  ["untouched session: nothing", { accessed: false, dirty: true }, {}, NOTHING],
  ["untouched, even with a bad token: nothing", { accessed: false, tokenInvalid: true, row: undefined }, {}, NOTHING],
  [
    "untouched, touch always, refresh due: touch",
    { accessed: false, row: due },
    { touchAlways: true },
    plan(
      { op: "touch", id: ID, expiresAt: full(due.createdAt), confirm: false },
      keep,
    ),
  ],
  ["untouched, touch always, no refresh due: nothing", { accessed: false }, { touchAlways: true }, NOTHING],
  [
    "untouched, touch always, no session: nothing",
    { accessed: false, row: undefined, hadToken: false, id: undefined },
    {
      touchAlways: true,
    },
    NOTHING,
  ],
  // A loaded row, unchanged.
  ["loaded, unchanged, no refresh due: nothing", {}, {}, NOTHING],
  [
    "loaded, unchanged, refresh due: touch, cookie kept",
    { row: due },
    {},
    plan(
      { op: "touch", id: ID, expiresAt: full(due.createdAt), confirm: false },
      keep,
    ),
  ],
  [
    "loaded, refresh due, persistent cookie: touch, then resend if the row is still there",
    { row: due },
    {
      persistent: true,
    },
    plan(
      { op: "touch", id: ID, expiresAt: full(due.createdAt), confirm: true },
      send(ID, full(due.createdAt), true, true),
    ),
  ],
  [
    "loaded, token signed with an old secret: resend the same expiry if the row is still there",
    { stale: true },
    {},
    plan(
      { op: "confirm", id: ID },
      send(ID, fresh.expiresAt, true),
    ),
  ],
  [
    "loaded, old secret, lateStore: resend with the response, no look-up",
    { stale: true, lateStore: true },
    {},
    plan(
      none,
      send(ID, fresh.expiresAt, false),
    ),
  ],
  // A loaded row, changed.
  ["loaded, changed: merge, cookie kept", { dirty: true }, {}, plan(merge(fresh.expiresAt), keep)],
  [
    "loaded, changed, persistent, expiry unmoved: merge, cookie kept",
    { dirty: true },
    { persistent: true },
    plan(
      merge(fresh.expiresAt),
      keep,
    ),
  ],
  ["loaded, changed, persistent, refresh due: merge and resend if the row is there", { dirty: true, row: due }, {
    persistent: true,
  }, plan(merge(full(due.createdAt), due), send(ID, full(due.createdAt), true, true))],
  [
    "loaded, changed, bind on, row has no tag: merge and make one",
    { dirty: true },
    { binding: true },
    plan(
      merge(fresh.expiresAt),
      keep,
      { bind: true },
    ),
  ],
  [
    "loaded, changed, bind on, row has a tag: merge",
    { dirty: true, bound: true },
    { binding: true },
    plan(
      merge(fresh.expiresAt),
      keep,
    ),
  ],
  [
    "loaded, unchanged, bind on: no tag made (nothing written)",
    { row: due },
    { binding: true },
    plan(
      { op: "touch", id: ID, expiresAt: full(due.createdAt), confirm: false },
      keep,
    ),
  ],
  [
    "loaded, changed, lateStore: merge after the response",
    { dirty: true, lateStore: true },
    {},
    plan(
      merge(fresh.expiresAt),
      keep,
      { when: "late" },
    ),
  ],
  ["loaded, changed, lateStore on a store bound to the response: now", { dirty: true, lateStore: true }, {
    requestBound: true,
  }, plan(merge(fresh.expiresAt), keep)],
  ["loaded, changed, lateStore, request failed: nothing", { dirty: true, lateStore: true }, { failed: true }, NOTHING],
  // regenerate(), renew, destroy().
  [
    "loaded, regenerated: move, send the new token if the old row was there",
    {
      dirty: true,
      lifecycle: REGENERATED,
      id: NEW,
    },
    {},
    plan(move(), send(NEW, full(fresh.createdAt), true)),
  ],
  [
    "loaded, regenerated with noStore: move anyway (change_id wins)",
    {
      dirty: true,
      lifecycle: REGENERATED,
      id: NEW,
      noStore: true,
    },
    {},
    plan(move(), send(NEW, full(fresh.createdAt), true)),
  ],
  [
    "loaded, regenerated, lateStore: never deferred, the move runs before the response (issue 22, defect 1)",
    {
      dirty: true,
      lifecycle: REGENERATED,
      id: NEW,
      lateStore: true,
    },
    {},
    plan(move(), send(NEW, full(fresh.createdAt), true)),
  ],
  [
    "loaded, regenerated, bind on: move with a new tag",
    {
      dirty: true,
      lifecycle: REGENERATED,
      id: NEW,
    },
    { binding: true },
    plan(move(), send(NEW, full(fresh.createdAt), true), { bind: true }),
  ],
  ["loaded, destroyed: delete, clear", { lifecycle: DESTROYED, id: NEW }, {}, plan({ op: "delete", id: ID }, clear)],
  [
    "loaded, destroyed, lateStore: never deferred, the delete runs before the cookie is cleared (issue 22, defect 1)",
    { lifecycle: DESTROYED, id: NEW, lateStore: true },
    {},
    plan({ op: "delete", id: ID }, clear),
  ],
  [
    "loaded, destroyed with noStore: delete, clear (expire wins)",
    {
      lifecycle: DESTROYED,
      id: NEW,
      noStore: true,
    },
    {},
    plan({ op: "delete", id: ID }, clear),
  ],
  [
    "loaded, destroyed, request failed: delete, clear",
    { lifecycle: DESTROYED, id: NEW },
    { failed: true },
    plan(
      { op: "delete", id: ID },
      clear,
    ),
  ],
  [
    "loaded, destroyed, bind on: delete, no tag made",
    { lifecycle: DESTROYED, id: NEW },
    { binding: true },
    plan(
      { op: "delete", id: ID },
      clear,
    ),
  ],
  [
    "loaded, destroyed then written: replace, send",
    { lifecycle: DESTROYED, id: NEW, dirty: true },
    {},
    plan(
      { op: "replace", from: ID, id: NEW, createdAt: NOW, expiresAt: full(NOW) },
      send(NEW, full(NOW), false),
    ),
  ],
  [
    "loaded, destroyed then written, request failed: delete, clear",
    {
      lifecycle: DESTROYED,
      id: NEW,
      dirty: true,
    },
    { failed: true },
    plan({ op: "delete", id: ID }, clear),
  ],
  [
    "unknown token, destroyed: nothing to delete, clear",
    { lifecycle: DESTROYED, row: undefined, id: NEW },
    {},
    plan(
      none,
      clear,
    ),
  ],
  ["no token, destroyed: nothing", { lifecycle: DESTROYED, row: undefined, hadToken: false, id: NEW }, {}, NOTHING],
  ["loaded, changed, request failed: nothing", { dirty: true }, { failed: true }, NOTHING],
  ["loaded, regenerated, request failed: nothing", { dirty: true, lifecycle: REGENERATED, id: NEW }, {
    failed: true,
  }, NOTHING],
  ["loaded, changed with noStore: nothing", { dirty: true, noStore: true }, {}, NOTHING],
  [
    "renewed (sign-out-everywhere kept it): insert with the old creation time",
    {
      dirty: true,
      lifecycle: RENEWED,
      id: NEW,
    },
    {},
    plan(insert(fresh.createdAt), send(NEW, full(fresh.createdAt), false)),
  ],
  [
    "renewed with noStore: insert anyway",
    { dirty: true, lifecycle: RENEWED, id: NEW, noStore: true },
    {},
    plan(
      insert(fresh.createdAt),
      send(NEW, full(fresh.createdAt), false),
    ),
  ],
  // New sessions.
  [
    "new session, written: insert, send",
    { row: undefined, hadToken: false, dirty: true, id: NEW },
    {},
    plan(
      insert(),
      send(NEW, full(NOW), false),
    ),
  ],
  ["new session, written, bind on: insert with a tag", { row: undefined, hadToken: false, dirty: true, id: NEW }, {
    binding: true,
  }, plan(insert(), send(NEW, full(NOW), false), { bind: true })],
  [
    "new session, written, persistent: insert, send with Max-Age",
    {
      row: undefined,
      hadToken: false,
      dirty: true,
      id: NEW,
    },
    { persistent: true },
    plan(insert(), send(NEW, full(NOW), false, true)),
  ],
  ["new session, untouched data: nothing", { row: undefined, hadToken: false, id: undefined }, {}, NOTHING],
  ["token whose session is gone: nothing, cookie left alone", { row: undefined, id: undefined }, {}, NOTHING],
  [
    "token that was itself invalid: clear",
    { row: undefined, tokenInvalid: true, id: undefined },
    {},
    plan(
      none,
      clear,
    ),
  ],
  // Own lifetimes.
  [
    "own lifetime set: merge and send with that lifetime",
    {
      dirty: true,
      lifetime: 30 * 24 * 3600 * S,
      lifetimeChanged: true,
    },
    {},
    plan(
      {
        op: "merge",
        id: ID,
        expiresAt: full(fresh.createdAt, 30 * 24 * 3600 * S),
        rebase: rebase(fresh, 30 * 24 * 3600 * S, true),
      },
      send(ID, full(fresh.createdAt, 30 * 24 * 3600 * S), true, true),
    ),
  ],
  [
    "own lifetime, refresh due by it: touch and resend (persistent by its own lifetime)",
    {
      lifetime: 7200 * S,
      row: { id: ID, expiresAt: NOW + 7000 * S, createdAt: NOW - 60 * S },
    },
    {},
    plan(
      { op: "touch", id: ID, expiresAt: NOW + 7200 * S, confirm: true },
      send(ID, NOW + 7200 * S, true, true),
    ),
  ],
];

for (const [name, facts, context, expected] of rows) {
  test(`decide(): ${name}`, () => {
    assert.deepEqual(decide({ ...base, ...facts }, { ...ctx, ...context }), expected);
  });
}

test("expiryOver() keeps the planned expiry over the row as loaded, and follows another request's write", () => {
  const m = merge(fresh.expiresAt);
  assert.equal(expiryOver(m, fresh, policy.ttl), fresh.expiresAt);
  // Another request refreshed the row meanwhile: its later expiry stands.
  assert.equal(expiryOver(m, { ...fresh, expiresAt: NOW + 3600 * S }, policy.ttl), NOW + 3600 * S);
  // Another request gave the session its own lifetime: a move starts it afresh by that lifetime.
  assert.equal(expiryOver(move(), fresh, 60 * S), NOW + 60 * S);
  assert.equal(expiryOver(move(), fresh, policy.ttl), full(fresh.createdAt));
});

test("expiryAt() never passes the absolute deadline", () => {
  assert.equal(expiryAt(policy, NOW, NOW - 8 * 3600 * S + 10 * S, policy.ttl), NOW + 10 * S);
});

test("refreshTo() is undefined until less than the threshold is left, and never moves the expiry back", () => {
  assert.equal(refreshTo(policy, fresh, NOW, policy.ttl), undefined);
  assert.equal(refreshTo(policy, due, NOW, policy.ttl), NOW + 3600 * S);
  const capped = { expiresAt: NOW + 5 * S, createdAt: NOW - 8 * 3600 * S + 5 * S };
  assert.equal(refreshTo(policy, capped, NOW, policy.ttl), undefined);
});

test("thresholdFor() keeps the app's refresh interval for a session with its own lifetime", () => {
  assert.equal(thresholdFor(policy, policy.ttl), policy.threshold);
  assert.equal(thresholdFor(policy, 30 * 24 * 3600 * S), 30 * 24 * 3600 * S - 60 * S);
  assert.equal(thresholdFor(policy, 60 * S), 30 * S, "at least once per half of a short lifetime");
  assert.equal(thresholdFor({ ...policy, threshold: 0 }, 7200 * S), 0);
});

test("writeExpiry() keeps the stored expiry unless a refresh is due, the threshold is 0, or the lifetime changed", () => {
  assert.equal(writeExpiry(policy, fresh, NOW, policy.ttl, false), fresh.expiresAt);
  assert.equal(writeExpiry(policy, due, NOW, policy.ttl, false), NOW + 3600 * S);
  assert.equal(writeExpiry({ ...policy, threshold: 0 }, fresh, NOW, policy.ttl, false), NOW + 3600 * S);
  assert.equal(writeExpiry(policy, fresh, NOW, 60 * S, true), NOW + 60 * S);
});
