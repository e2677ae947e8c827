/** Time source in milliseconds since the epoch; inject one to move time in tests. */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = (): number => Date.now();
