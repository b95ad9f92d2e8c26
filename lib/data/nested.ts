/**
 * Reading the numbers of one element field: a number, a flat list
 * (numbers or a typed array), a list of equally long lists (steps ×
 * features), or a Tensor. The shape is read first (cheaply) so a batch can
 * be sized before its values are copied, and checked, into place.
 */
import { ShapeError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { fail, formatShape } from '../validate';

export interface Nested {
  /** A number, an array or typed array (flattened row-major when nested), or a Tensor's values. */
  value: unknown;
  shape: number[];
}

const WHAT = 'a number, an array of numbers or an array of equally long arrays of numbers';

const isList = (v: unknown): v is ArrayLike<unknown> => Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));

/** Where a value sits in an element, for messages: `x[3] of element 12`. */
export function where(key: string, element: number, path = ''): string {
  return `${key}${path} of element ${element}`;
}

/** The shape of `value` (rank 0 to 2, or a Tensor's), checking that nested rows have one length. */
export function inspect(value: unknown, key: string, element: number): Nested {
  if (typeof value === 'number') return { value, shape: [] };
  if (value instanceof Tensor) return { value: value.toFloat32Array(), shape: value.shape.slice() };
  if (!isList(value)) fail(WHAT, where(key, element), value);
  if (!Array.isArray(value) || value.length === 0 || !isList(value[0])) return { value, shape: [value.length] };
  const width = (value[0] as ArrayLike<unknown>).length;
  for (let t = 1; t < value.length; t++) {
    const row = value[t];
    if (!isList(row) || row.length !== width) {
      if (isList(row)) throw new ShapeError(`Expected an array of ${width} numbers (like ${where(key, element, '[0]')}) for ${where(key, element, `[${t}]`)} but received an array of length ${row.length}`);
      fail(`an array of ${width} numbers (like ${where(key, element, '[0]')})`, where(key, element, `[${t}]`), row);
    }
  }
  return { value, shape: [value.length, width] };
}

function checkNumber(v: unknown, key: string, element: number, path: string): number {
  if (typeof v !== 'number') fail('a number', where(key, element, path), v);
  return v;
}

/** Copies the values of `n` (inspected from `key` of `element`) into `out` at `offset`, row-major. */
export function write(n: Nested, out: Float32Array, offset: number, key: string, element: number): void {
  const v = n.value;
  if (typeof v === 'number') {
    out[offset] = v;
  } else if (ArrayBuffer.isView(v)) {
    out.set(v as unknown as ArrayLike<number>, offset);
  } else if (n.shape.length === 1) {
    const list = v as unknown[];
    for (let i = 0; i < list.length; i++) out[offset + i] = checkNumber(list[i], key, element, `[${i}]`);
  } else {
    const rows = v as ArrayLike<number>[];
    const width = n.shape[1];
    for (let t = 0; t < rows.length; t++) {
      const row = rows[t];
      const at = offset + t * width;
      if (ArrayBuffer.isView(row)) out.set(row, at);
      else for (let f = 0; f < width; f++) out[at + f] = checkNumber(row[f], key, element, `[${t}][${f}]`);
    }
  }
}

/** Checks that `n` has shape `expected` (taken from `like`). */
export function checkSameShape(n: Nested, expected: readonly number[], key: string, element: number, like: number): void {
  if (n.shape.length !== expected.length || n.shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(`Expected shape ${formatShape(expected)} (like ${where(key, like)}) for ${where(key, element)} but received ${formatShape(n.shape)}`);
  }
}
