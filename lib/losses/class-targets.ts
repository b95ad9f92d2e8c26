/**
 * Class-index targets and sequence lengths, shared by `crossEntropy` and
 * the `accuracy` metric. Rows are the positions of the leading dimensions
 * of logits ([N] or [batch, time]) in row-major order.
 */
import { ShapeError, ValidationError } from '../errors';
import { Tensor, denseData } from '../tensor/tensor';
import { describe, fail, formatShape } from '../validate';

/**
 * Class indices, one per row: a Tensor shaped like the rows, an Int32Array
 * or flat number[] (row-major), or nested number[][] for [batch, time].
 */
export type ClassIndices = Tensor | Int32Array | readonly number[] | readonly (readonly number[])[];

/** One length per sequence, as in the recurrent layers. */
export type SequenceLengths = Int32Array | readonly number[];

/** Checks sequence lengths against a [batch, time, …] input: one per sequence, each in 1..time. */
export function checkSequenceLengths(value: unknown, batch: number, steps: number, name = 'lengths'): Int32Array {
  return checkLengthArray(value, batch, name, 1, steps, 'the number of time steps');
}

/**
 * Checks one integer per sequence, each in [min, max]; `maxWhat` says what
 * max is, in the message.
 */
export function checkLengthArray(value: unknown, batch: number, name: string, min: number, max: number, maxWhat: string): Int32Array {
  const isArray = Array.isArray(value) || value instanceof Int32Array;
  if (!isArray || (value as ArrayLike<number>).length !== batch) {
    const got = isArray ? `length ${(value as ArrayLike<number>).length}` : describe(value);
    throw new ValidationError(`Expected ${name} to be an Int32Array with one entry per sequence (${batch}) but received ${got}`);
  }
  const arr = value as ArrayLike<number>;
  for (let i = 0; i < batch; i++) {
    const v = arr[i];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ValidationError(`Expected ${name} between ${min} and ${max} (${maxWhat}) but received ${name}[${i}] = ${String(v)}`);
    }
  }
  return Int32Array.from(arr);
}

/** 1 for each row (b, t) of a [batch, steps] grid with t < lengths[b], else 0. */
export function lengthMask(lengths: Int32Array, steps: number): Uint8Array {
  const mask = new Uint8Array(lengths.length * steps);
  for (let b = 0; b < lengths.length; b++) mask.fill(1, b * steps, b * steps + lengths[b]);
  return mask;
}

/** Integer-valued entries read from one of the `ClassIndices` forms, and how to name entry i in messages. */
export interface IntegerEntries {
  name: string;
  values: Float64Array;
  where(i: number): string;
}

/**
 * Reads `value` as one number per row of `rows` (a shape of rank 1 or 2).
 * `expected` completes "Expected NAME …" and `context` follows "for" in
 * the shape error.
 */
export function readIntegerEntries(name: string, value: unknown, rows: readonly number[], expected: string, context: string): IntegerEntries {
  const count = rows.reduce((a, b) => a * b, 1);
  const steps = rows.length === 2 ? rows[1] : 1;
  const grid = (i: number): string => (rows.length === 2 ? `${name}[${Math.floor(i / steps)}][${i % steps}]` : `${name}[${i}]`);
  const mismatch = (got: string): never => {
    throw new ShapeError(`Expected ${name} ${expected} for ${context} but received ${got}`);
  };
  if (value instanceof Tensor) {
    if (formatShape(value.shape) !== formatShape(rows)) mismatch(formatShape(value.shape));
    return { name, values: Float64Array.from(denseData(value)), where: grid };
  }
  if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
    if (rows.length !== 2 || value.length !== rows[0]) mismatch(`nested arrays of length ${value.length}`);
    const values = new Float64Array(count);
    (value as unknown[]).forEach((row, b) => {
      if (!Array.isArray(row) || row.length !== steps) {
        mismatch(`${name}[${b}] ${Array.isArray(row) ? `of length ${row.length}` : describe(row)}`);
      }
      const cells = row as unknown[];
      for (let t = 0; t < steps; t++) values[b * steps + t] = typeof cells[t] === 'number' ? (cells[t] as number) : fail('number', grid(b * steps + t), cells[t]);
    });
    return { name, values, where: grid };
  }
  if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array))) {
    const arr = value as ArrayLike<unknown>;
    if (arr.length !== count) mismatch(`${describe(value)}`);
    const values = new Float64Array(count);
    const where = (i: number): string => `${name}[${i}]`;
    for (let i = 0; i < count; i++) values[i] = typeof arr[i] === 'number' ? (arr[i] as number) : fail('number', where(i), arr[i]);
    return { name, values, where };
  }
  fail('Tensor, Int32Array or array of class indices', name, value);
}

/**
 * Class-index targets, one per row: the class, or -1 where the row does not
 * count (its target equals ignoreIndex, or `counted` marks it padding).
 * Counted entries must be integers in [0, classes) (any non-negative
 * integer when classes is null); uncounted ones are not looked at, so
 * padding may hold anything.
 */
export function readClassTargets(
  entries: IntegerEntries,
  classes: number | null,
  ignoreIndex: number | null,
  counted: Uint8Array | null,
): Int32Array {
  const { name, values, where } = entries;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if ((counted !== null && counted[i] === 0) || v === ignoreIndex) {
      out[i] = -1;
      continue;
    }
    if (!Number.isInteger(v) || v < 0 || (classes !== null && v >= classes)) {
      const range = `${classes === null ? 'non-negative integers' : `integers between 0 and ${classes - 1}`}${ignoreIndex === null ? '' : `, or ignoreIndex ${ignoreIndex}`}`;
      throw new ValidationError(`Expected class indices (${range}) for ${name} but received ${where(i)} = ${String(v)}`);
    }
    out[i] = v;
  }
  return out;
}
