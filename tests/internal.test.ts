import assert from "node:assert/strict";
import { test } from "node:test";
import { describeError, messageOf } from "../src/_internal/errors.ts";
import { checkNumber, type NumberRule } from "../src/_internal/numbers.ts";
import { MIN_SECRET_BYTES, secretList } from "../src/_internal/secrets.ts";
import { MemoryStore } from "../src/store/memory.ts";

const INTEGER_1: NumberRule = { integer: true, min: 1 };
const INTEGER_0: NumberRule = { integer: true, min: 0 };
const ONE_TO_NINE: NumberRule = { integer: true, min: 1, max: 9 };
const FROM_MINUS_1: NumberRule = { integer: true, min: -1 };
const SECONDS: NumberRule = { min: 0, above: true, unit: "seconds" };
const SECONDS_OR_0: NumberRule = { min: 0, unit: "seconds" };
const SECONDS_UP_TO: NumberRule = { min: 0, above: true, max: 100, unit: "seconds" };

test("checkNumber() accepts the values its rule allows", () => {
  const cases: [NumberRule, number][] = [
    [INTEGER_1, 1],
    [INTEGER_1, Number.MAX_SAFE_INTEGER],
    [INTEGER_0, 0],
    [ONE_TO_NINE, 9],
    [FROM_MINUS_1, -1],
    [SECONDS, 0.5],
    [SECONDS_OR_0, 0],
    [SECONDS_UP_TO, 100],
  ];
  for (const [rule, value] of cases) checkNumber("X", "n", value, rule);
});

test("checkNumber() refuses the rest with a RangeError saying what the option must be and what it was", () => {
  const cases: [NumberRule, unknown, string][] = [
    [INTEGER_1, 0, "n must be a positive integer: received 0"],
    [INTEGER_1, 1.5, "n must be a positive integer: received 1.5"],
    [INTEGER_1, 2 ** 53, `n must be a positive integer: received ${2 ** 53}`],
    [INTEGER_0, -1, "n must be a non-negative integer: received -1"],
    [INTEGER_0, NaN, "n must be a non-negative integer: received NaN"],
    [ONE_TO_NINE, 10, "n must be an integer from 1 to 9: received 10"],
    [FROM_MINUS_1, -2, "n must be an integer of at least -1: received -2"],
    [SECONDS, 0, "n must be a positive number of seconds: received 0"],
    [SECONDS, Infinity, "n must be a positive number of seconds: received Infinity"],
    [SECONDS_OR_0, -0.1, "n must be a non-negative number of seconds: received -0.1"],
    [SECONDS_UP_TO, 101, "n must be a positive number of seconds up to 100: received 101"],
    [INTEGER_1, "3", 'n must be a positive integer: received "3"'],
    [INTEGER_1, null, "n must be a positive integer: received null"],
    [INTEGER_1, {}, "n must be a positive integer: received object"],
    [INTEGER_1, Symbol("s"), "n must be a positive integer: received symbol"],
  ];
  for (const [rule, value, message] of cases) {
    assert.throws(() => checkNumber("X", "n", value, rule), {
      name: "RangeError",
      message: `Cannot create X: ${message}`,
    });
  }
});

test("secretList() returns the secrets as a list, and names the one that is too short", () => {
  const ok = "s".repeat(MIN_SECRET_BYTES);
  assert.deepEqual(secretList("X", ok), [ok]);
  assert.deepEqual(secretList("X", [ok, ok + "!"]), [ok, ok + "!"]);
  const how = "(generate one with: openssl rand -base64 48)";
  assert.throws(() => secretList("X", "short"), {
    name: "RangeError",
    message: `Cannot create X: secret must be at least 32 bytes: received 5 ${how}`,
  });
  assert.throws(() => secretList("X", [ok, "é".repeat(15)]), {
    name: "RangeError",
    message: `Cannot create X: secret[1] must be at least 32 bytes: received 30 ${how}`,
  });
  for (const bad of [undefined, [], [ok, 1], 42]) {
    assert.throws(() => secretList("X", bad), {
      name: "TypeError",
      message: `Cannot create X: secret must be a string or a non-empty array of strings ${how}`,
    });
  }
});

test("describeError() shows an Error's name and message, and anything else as a string", () => {
  assert.equal(describeError(new TypeError("bad")), "TypeError: bad");
  assert.equal(describeError("plain"), "plain");
  assert.equal(describeError(42), "42");
  assert.equal(
    describeError({
      toString: () => {
        throw new Error("no");
      },
    }),
    "unknown error",
  );
  assert.equal(messageOf(new Error("x".repeat(300))), "x".repeat(200));
});

test("new MemoryStore() refuses a maxPayloadBytes that is not a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => new MemoryStore({ maxPayloadBytes: bad }), {
      name: "RangeError",
      message: `Cannot create MemoryStore: maxPayloadBytes must be a positive integer: received ${bad}`,
    });
  }
  assert.equal(new MemoryStore().maxPayloadBytes, 1024 * 1024);
});
