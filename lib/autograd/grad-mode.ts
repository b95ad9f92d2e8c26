/**
 * Whether operations are recorded for backward. Off inside `noGrad(fn)`,
 * including every async continuation of `fn`, and during backward itself.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { fail } from '../validate';

// `false` inside noGrad. An AsyncLocalStorage rather than a global flag so
// that an async fn keeps grad off across its awaits without turning it off
// for whatever else runs concurrently on the event loop.
const disabledContext = new AsyncLocalStorage<boolean>();

// backward() pauses recording with a plain counter instead: it is
// synchronous, so nothing else can run meanwhile, and it avoids enabling the
// async-context tracking (a cost on every Promise in Node 20) for programs
// that never call noGrad.
let pausedDepth = 0;

/** True when operations on tensors that require grad are being recorded. */
export function isGradEnabled(): boolean {
  return pausedDepth === 0 && disabledContext.getStore() !== false;
}

/**
 * Runs `fn` without recording operations (inference, weight updates) and
 * returns what it returns. When `fn` is async, recording stays off for its
 * whole async context until the Promise settles; other code running
 * concurrently still records.
 * @param fn - The code to run without recording.
 * @returns What `fn` returns.
 * @throws {@link ValidationError} when `fn` is not a function.
 * @example
 * ```ts
 * const y = eddy.noGrad(() => model.forward(x)); // y.requiresGrad is false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') fail('a function', 'fn', fn);
  return disabledContext.run(false, fn);
}

/** Runs a synchronous `fn` with recording off; for backward(). */
export function pausingGrad<T>(fn: () => T): T {
  pausedDepth++;
  try {
    return fn();
  } finally {
    pausedDepth--;
  }
}
