/**
 * Runs a chain of `(value, next) => void` middlewares in order.
 */
import { reportError } from "./emitter.js";

/** A middleware: calls `next()` to go on, `next(err)` to stop the chain. May be async. */
export type Middleware<T, E = Error> = (value: T, next: (err?: E) => void) => unknown;

/**
 * Calls `fns` one after the other with `value`; `done(undefined)` once all called
 * `next()`, `done(err)` at the first `next(err)`. A middleware that throws, or whose
 * promise rejects before it called `next`, counts as `next(thatError)`. Each `next`
 * works once.
 */
export function runMiddlewares<T, E>(
  fns: readonly Middleware<T, E>[],
  value: T,
  done: (err: E | undefined) => void,
): void {
  if (fns.length === 0) {
    done(undefined);
    return;
  }
  const step = (i: number): void => {
    let called = false;
    const next = (err?: E): void => {
      if (called) return;
      called = true;
      if (err) done(err);
      else if (i + 1 < fns.length) step(i + 1);
      else done(undefined);
    };
    try {
      const r = (fns[i] as Middleware<T, E>)(value, next);
      if (
        r !== null &&
        typeof r === "object" &&
        typeof (r as Promise<unknown>).then === "function"
      ) {
        (r as Promise<unknown>).then(undefined, (e: unknown) => {
          if (called) reportError(e);
          else next((e ?? new Error("middleware failed")) as E);
        });
      }
    } catch (e) {
      if (called) reportError(e);
      else next(e as E);
    }
  };
  step(0);
}
