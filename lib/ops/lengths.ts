/**
 * The `lengths` argument of variable-length batches, checked the way the
 * recurrent layers check it (same messages), for the ops that mask or
 * reorder padded time steps.
 */
import { ValidationError } from '../errors';
import { describe } from '../validate';

/** One length per sequence, 1 ≤ length ≤ T; also accepts a plain array. */
export type Lengths = Int32Array | readonly number[];

/** The lengths as an Int32Array, or null when none were given (every sequence runs all T steps). */
export function checkLengths(lengths: unknown, B: number, T: number): Int32Array | null {
  if (lengths === undefined || lengths === null) return null;
  const isArray = Array.isArray(lengths) || lengths instanceof Int32Array;
  if (!isArray || (lengths as ArrayLike<number>).length !== B) {
    const got = isArray ? `length ${(lengths as ArrayLike<number>).length}` : describe(lengths);
    throw new ValidationError(`Expected lengths to be an Int32Array with one entry per sequence (${B}) but received ${got}`);
  }
  const values = lengths as ArrayLike<number>;
  for (let i = 0; i < B; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 1 || v > T) {
      throw new ValidationError(`Expected lengths between 1 and ${T} (the number of time steps) but received lengths[${i}] = ${String(v)}`);
    }
  }
  return Int32Array.from(values);
}

/** The mask of several sequences joined step by step: a step is real where it is real in every input (elementwise minimum). */
export function intersectLengths(inputs: readonly (Int32Array | undefined)[]): Int32Array | undefined {
  const given = inputs.filter((l): l is Int32Array => l !== undefined);
  if (given.length === 0) return undefined;
  return given.reduce((a, b) => (a.length === b.length ? a.map((v, i) => Math.min(v, b[i])) : a));
}
