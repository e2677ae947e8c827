/**
 * The check of a number option, one rule for every constructor, so each
 * message reads `Cannot create X: <name> must be …: received …`.
 * @module
 */
import { shown } from "./options.ts";

/** What a number option must be. */
export interface NumberRule {
  /** A safe integer; otherwise any finite number, counted in `unit`. @default false */
  integer?: boolean;
  /** The least value allowed. */
  min: number;
  /** Refuse `min` itself (a positive number of seconds). @default false */
  above?: boolean;
  /** The greatest value allowed. @default no limit */
  max?: number;
  /** What the number counts, for the message, e.g. `"seconds"`. */
  unit?: string;
}

/** `a positive integer`, `an integer from 1 to 9`, `a non-negative number of seconds`, … */
function describeRule(rule: NumberRule): string {
  const { min, max, above = false } = rule;
  const kind = `${rule.integer ? "integer" : "number"}${rule.unit === undefined ? "" : ` of ${rule.unit}`}`;
  if (rule.integer && max !== undefined) return `an ${kind} from ${above ? min + 1 : min} to ${max}`;
  const sign = min === 0
    ? (above ? "a positive" : "a non-negative")
    : rule.integer && min === 1
    ? "a positive"
    : undefined;
  const upTo = max === undefined ? "" : ` up to ${max}`;
  if (sign !== undefined) return `${sign} ${kind}${upTo}`;
  return `${rule.integer ? "an" : "a"} ${kind} ${above ? "greater than" : "of at least"} ${min}${upTo}`;
}

/**
 * Throw unless `value` is a number that `rule` allows.
 * @param what What is being created, e.g. `"RedisStore"`.
 * @param name The option's name.
 * @throws {RangeError} naming the option, what it must be and what it was.
 */
export function checkNumber(what: string, name: string, value: unknown, rule: NumberRule): asserts value is number {
  const { min, max, above = false } = rule;
  const ok = typeof value === "number" && (rule.integer ? Number.isSafeInteger(value) : Number.isFinite(value)) &&
    (above ? value > min : value >= min) && (max === undefined || value <= max);
  if (!ok) {
    throw new RangeError(`Cannot create ${what}: ${name} must be ${describeRule(rule)}: received ${shown(value)}`);
  }
}
