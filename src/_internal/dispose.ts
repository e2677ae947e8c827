/**
 * `[Symbol.dispose]` without naming `Symbol.dispose` in the published types:
 * a consumer whose TypeScript lib predates it (ES2022, no `@types/node`, as
 * Workers projects are set up) would fail on `SymbolConstructor.dispose`
 * (TS2550) even with skipLibCheck off. The method is typed through a key
 * that is `typeof Symbol.dispose` where the consumer's lib declares it, and
 * nothing where it does not, so `using store = new SqliteStore()` still
 * type-checks wherever `using` does.
 * @module
 */

/**
 * `Disposable` where the TypeScript lib declares `Symbol.dispose` (ES2025,
 * ESNext, @types/node), and no member elsewhere. Classes that close a
 * resource merge it in (`interface SqliteStore extends Disposer {}`).
 */
export type Disposer = SymbolConstructor extends { readonly dispose: infer K extends symbol } ? { [P in K]: () => void }
  : Record<never, never>;

/**
 * `Symbol.dispose`, or the key polyfills use on runtimes that lack it. Typed
 * as a symbol of its own: a method named by a plain `symbol` is emitted as a
 * property TypeScript 5.7 and 5.8 refuse (TS1166); the `Disposer` type gives
 * the method its real key.
 */
export const disposeSymbol: unique symbol =
  ((Symbol as { dispose?: symbol }).dispose ?? Symbol.for("Symbol.dispose")) as never;
