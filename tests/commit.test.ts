/**
 * The commit decision as a table: one row per case, no Hono, no store.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CommitContext, decide, type Decision } from "../src/session/commit.ts";
import type { CommitFacts } from "../src/session/core.ts";
import { expiryAt, type ExpiryPolicy, refreshTo, thresholdFor, writeExpiry } from "../src/session/expiry.ts";

const S = 1000;
const NOW = 1_000_000 * S;
/** expires 3600, refresh when less than 3540 s left, absolute 8 h. */
const policy: ExpiryPolicy = { ttl: 3600 * S, absolute: 8 * 3600 * S, threshold: 3540 * S };
const ctx: CommitContext = { now: NOW, policy, failed: false, persistent: false };

/** A loaded row written 10 s ago (no refresh due), created an hour ago. */
const fresh = { expiresAt: NOW + 3590 * S, createdAt: NOW - 3600 * S };
/** A loaded row last written 100 s ago: a refresh is due. */
const due = { expiresAt: NOW + 3500 * S, createdAt: NOW - 3600 * S };

const base: CommitFacts = {
  accessed: true,
  hadToken: true,
  tokenInvalid: false,
  stale: false,
  row: fresh,
  status: "unchanged",
  renewed: false,
  dirty: false,
  lifetime: undefined,
  lifetimeChanged: false,
  noStore: false,
};

const keep = { op: "keep" } as const;
const clear = { op: "clear" } as const;
const none = { op: "none" } as const;
const send = (expiresAt: number) => ({ op: "send", expiresAt }) as const;
const full = (createdAt: number, lifetime = policy.ttl) => expiryAt(policy, NOW, createdAt, lifetime);

const rows: [string, Partial<CommitFacts>, Partial<CommitContext>, Decision][] = [
  ["untouched session: nothing", { accessed: false, dirty: true }, {}, { store: none, cookie: keep }],
  ["untouched, even with a bad token: nothing", { accessed: false, tokenInvalid: true, row: undefined }, {}, {
    store: none,
    cookie: keep,
  }],
  ["loaded, unchanged, no refresh due: nothing", {}, {}, { store: none, cookie: keep }],
  ["loaded, unchanged, refresh due: touch, cookie kept", { row: due }, {}, {
    store: { op: "touch", expiresAt: full(due.createdAt) },
    cookie: keep,
  }],
  ["loaded, refresh due, persistent cookie: touch and resend", { row: due }, { persistent: true }, {
    store: { op: "touch", expiresAt: full(due.createdAt) },
    cookie: send(full(due.createdAt)),
  }],
  ["loaded, token signed with an old secret: resend the same expiry", { stale: true }, {}, {
    store: none,
    cookie: send(fresh.expiresAt),
  }],
  ["loaded, changed: merge, cookie kept", { dirty: true, status: "changed" }, {}, {
    store: { op: "merge" },
    cookie: keep,
  }],
  ["loaded, changed, persistent, expiry unmoved: merge, cookie kept", { dirty: true, status: "changed" }, {
    persistent: true,
  }, {
    store: { op: "merge" },
    cookie: keep,
  }],
  ["loaded, changed, persistent, refresh due: merge and resend", { dirty: true, status: "changed", row: due }, {
    persistent: true,
  }, {
    store: { op: "merge" },
    cookie: send(full(due.createdAt)),
  }],
  ["loaded, regenerated: move, send the new token", { dirty: true, status: "regenerated" }, {}, {
    store: { op: "move" },
    cookie: send(full(fresh.createdAt)),
  }],
  [
    "loaded, regenerated with noStore: move anyway (change_id wins)",
    { dirty: true, status: "regenerated", noStore: true },
    {},
    {
      store: { op: "move" },
      cookie: send(full(fresh.createdAt)),
    },
  ],
  ["loaded, destroyed: delete, clear", { status: "destroyed" }, {}, { store: { op: "delete" }, cookie: clear }],
  ["loaded, destroyed with noStore: delete, clear (expire wins)", { status: "destroyed", noStore: true }, {}, {
    store: { op: "delete" },
    cookie: clear,
  }],
  ["loaded, destroyed, request failed: delete, clear", { status: "destroyed" }, { failed: true }, {
    store: { op: "delete" },
    cookie: clear,
  }],
  ["loaded, destroyed then written: replace, send", { status: "destroyed", dirty: true }, {}, {
    store: { op: "replace" },
    cookie: send(full(NOW)),
  }],
  ["unknown token, destroyed: nothing to delete, clear", { status: "destroyed", row: undefined }, {}, {
    store: none,
    cookie: clear,
  }],
  ["no token, destroyed: nothing", { status: "destroyed", row: undefined, hadToken: false }, {}, {
    store: none,
    cookie: keep,
  }],
  ["loaded, changed, request failed: nothing", { dirty: true, status: "changed" }, { failed: true }, {
    store: none,
    cookie: keep,
  }],
  ["loaded, regenerated, request failed: nothing", { dirty: true, status: "regenerated" }, { failed: true }, {
    store: none,
    cookie: keep,
  }],
  ["loaded, changed with noStore: nothing", { dirty: true, status: "changed", noStore: true }, {}, {
    store: none,
    cookie: keep,
  }],
  [
    "renewed (sign-out-everywhere kept it): insert with the old creation time",
    {
      dirty: true,
      status: "regenerated",
      renewed: true,
    },
    {},
    { store: { op: "insert" }, cookie: send(full(fresh.createdAt)) },
  ],
  ["new session, written: insert, send", { row: undefined, hadToken: false, dirty: true, status: "changed" }, {}, {
    store: { op: "insert" },
    cookie: send(full(NOW)),
  }],
  ["new session, untouched data: nothing", { row: undefined, hadToken: false }, {}, { store: none, cookie: keep }],
  ["token whose session is gone: nothing, cookie left alone", { row: undefined }, {}, { store: none, cookie: keep }],
  ["token that was itself invalid: clear", { row: undefined, tokenInvalid: true }, {}, { store: none, cookie: clear }],
  [
    "own lifetime set: merge and send with that lifetime",
    {
      dirty: true,
      status: "changed",
      lifetime: 30 * 24 * 3600 * S,
      lifetimeChanged: true,
    },
    {},
    { store: { op: "merge" }, cookie: send(full(fresh.createdAt, 30 * 24 * 3600 * S)) },
  ],
  [
    "own lifetime, refresh due by it: touch and resend (persistent by its own lifetime)",
    {
      lifetime: 7200 * S,
      row: { expiresAt: NOW + 7000 * S, createdAt: NOW - 60 * S },
    },
    {},
    {
      store: { op: "touch", expiresAt: NOW + 7200 * S },
      cookie: send(NOW + 7200 * S),
    },
  ],
];

for (const [name, facts, context, expected] of rows) {
  test(`decide(): ${name}`, () => {
    assert.deepEqual(decide({ ...base, ...facts }, { ...ctx, ...context }), expected);
  });
}

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
