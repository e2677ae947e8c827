/**
 * The options every store shares, each with its default, its check and its
 * limit written once, here: a store's spec is these plus its own. Stores
 * read their options with {@linkcode readOptions}, so `undefined` keeps the
 * default, an unknown key is refused with a hint and a non-object is refused
 * with the same message in every store.
 * @module
 */
import { checkNumber, type NumberRule } from "../../_internal/numbers.ts";
import { type Check, option, optional, shown } from "../../_internal/options.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "../../_internal/sizes.ts";
import { type Clock, systemClock } from "../../clock.ts";
import { checkSweepInterval, type SweepEvent } from "../sweeper.ts";

export {
  type Check,
  option,
  optional,
  readOptions,
  required,
  type Resolved,
  type Spec,
} from "../../_internal/options.ts";

/** A number check: `Cannot create X: <name> must be <rule>: received …` ({@linkcode checkNumber}). */
export function number(rule: NumberRule): Check {
  return (what, name, value) => checkNumber(what, name, value, rule);
}

/** An integer check: `Cannot create X: <name> must be an integer from … to …: received …`. */
export function integer(rule: Omit<NumberRule, "integer">): Check {
  return number({ ...rule, integer: true });
}

/**
 * A check that `test` holds; otherwise `<name> must be <description>: received …`,
 * a `TypeError` unless `Error` says otherwise (a `RangeError` for a value of the right type out of its range).
 */
export function must(
  description: string,
  test: (value: unknown) => boolean,
  Error: new (message: string) => Error = TypeError,
): Check {
  return (what, name, value) => {
    if (!test(value)) {
      throw new Error(`Cannot create ${what}: ${name} must be ${description}: received ${shown(value)}`);
    }
  };
}

/** A check that the value is an object with each of `methods`, e.g. a database client. */
export function withMethods(methods: readonly string[], description: string): Check {
  return must(
    description,
    (v) =>
      typeof v === "object" && v !== null &&
      methods.every((m) => typeof (v as Record<string, unknown>)[m] === "function"),
  );
}

/** The store's time source. */
export const clockOption = option<Clock>(
  systemClock,
  must("a function returning milliseconds", (v) => typeof v === "function"),
);

/**
 * `maxPayloadBytes`: the largest payload a store accepts, in bytes; at least 1,
 * and at most what the backend holds (`max`).
 * @param defaultValue 1 MiB unless the backend holds less.
 * @param max What the backend holds, when it has a limit.
 */
export function maxPayloadBytesOption(
  defaultValue: number = DEFAULT_MAX_PAYLOAD_BYTES,
  max?: number,
) {
  return option<number>(defaultValue, integer({ min: 1, max }));
}

/** `maxUpdateRetries`: how many times an optimistic update re-reads after another writer came first. */
export const maxUpdateRetriesOption = option<number>(50, integer({ min: 1 }));

/** `sweepInterval`: seconds between two timed sweeps; no timer when not given. */
export const sweepIntervalOption = optional<number>((what, _name, value) => checkSweepInterval(what, value as number));

/** `onSweep`: called after each timed sweep. */
export const onSweepOption = optional<(event: SweepEvent) => void>(
  must("a function", (v) => typeof v === "function"),
);

/**
 * The longest table name: 63 characters (PostgreSQL's identifier limit;
 * SQLite and D1 take the same, so a name works on every SQL store).
 */
export const TABLE_NAME_MAX = 63;

/** The rule of a table name, as error messages and docs/stores.md state it. */
export const TABLE_NAME_RULE =
  `a letter or "_", then letters, digits or "_", at most ${TABLE_NAME_MAX} characters (it is put into SQL as is)`;

/** Table names accepted: {@linkcode TABLE_NAME_RULE}. */
export const TABLE_NAME: RegExp = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${TABLE_NAME_MAX - 1}}$`);

/**
 * What is wrong with `table` as a table name, or `undefined`: it must follow
 * {@linkcode TABLE_NAME_RULE}, and neither equal one of `reserved` nor start
 * with it and `_` (case-insensitive): the engine refuses the indexes named
 * `<table>_…` of such a name ("reserved for internal use"), e.g. SQLite's `sqlite`.
 */
export function tableNameProblem(table: unknown, reserved: readonly string[] = []): string | undefined {
  if (typeof table !== "string" || !TABLE_NAME.test(table)) return `must be ${TABLE_NAME_RULE}`;
  const lower = table.toLowerCase();
  const taken = reserved.find((r) => lower === r || lower.startsWith(`${r}_`));
  return taken === undefined ? undefined : `names ${taken} and ${taken}_… are reserved`;
}

/**
 * Throw unless `table` is a good table name (see {@linkcode tableNameProblem}).
 * @throws {TypeError} saying the rule.
 */
export function checkTableName(
  what: string,
  table: unknown,
  reserved: readonly string[] = [],
): asserts table is string {
  const problem = tableNameProblem(table, reserved);
  if (problem !== undefined) throw new TypeError(`Cannot create ${what}: table ${problem}: received ${shown(table)}`);
}

/** `table`: the sessions table of an SQL store. */
export function tableOption(defaultName: string, reserved: readonly string[] = []) {
  return option<string>(defaultName, (what, _name, value) => checkTableName(what, value, reserved));
}
