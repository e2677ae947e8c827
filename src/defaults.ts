/**
 * Options over defaults, where an option explicitly set to `undefined` keeps
 * its default (a plain spread would let it erase the default: options built
 * from unset environment variables would then fail). The caller's object is
 * never mutated.
 */
export function withDefaults<D extends object, O extends object>(
  defaults: D,
  options: O,
): { [K in keyof D]: K extends keyof O ? Exclude<O[K], undefined> | D[K] : D[K] } & Omit<O, keyof D> {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const key of Object.keys(options)) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as never;
}
