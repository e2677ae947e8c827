/** Time source in milliseconds since the epoch; inject one to move time in tests. */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = (): number => Date.now();

/** The latest time a `Date` can hold, in ms (year 275760): no store is ever handed a later time, NaN or Infinity. */
export const MAX_TIME = 8_640_000_000_000_000;

/** Whether `t` is a time every store can hold: 0 to {@linkcode MAX_TIME} ms. */
export function isStorableTime(t: number): boolean {
  return t >= 0 && t <= MAX_TIME;
}
