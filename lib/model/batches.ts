/**
 * Turning training data into batches: in-memory tensors are cut into
 * (optionally shuffled) batches of rows; iterables of batches pass through.
 */
import { ShapeError, ValidationError } from '../errors';
import { Generator } from '../random';
import { Tensor } from '../tensor/tensor';
import { describe, formatShape } from '../validate';
import { checkLengthsRows, lengthsRows, ModelLengths } from './lengths';
import { replicaRows } from './parallel';

/** One batch: model input(s), target, and the sequence lengths when padded. */
export interface Batch {
  /** The model's input, or one tensor per input of a multi-input model. */
  x: Tensor | Tensor[];
  /** The target. */
  y: Tensor;
  /**
   * Length of each row's sequence: one array for every input, or, for a
   * functional model, one entry per input (`[sourceLengths, null]`; see
   * `model/lengths.ts`).
   */
  lengths?: ModelLengths;
}

/** Data for fit/evaluate: whole tensors (batched by Eddy) or an (async) iterable of batches. */
export type Data = Batch | Iterable<Batch> | AsyncIterable<Batch>;

export function isBatch(d: unknown): d is Batch {
  return d !== null && typeof d === 'object' && 'x' in d && 'y' in d;
}

/** Rows `idx` of a tensor along its first axis, as a new contiguous tensor. */
export function takeRows(t: Tensor, idx: ArrayLike<number>): Tensor {
  const src = t.contiguous();
  const row = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(idx.length * row);
  for (let i = 0; i < idx.length; i++) out.set(src.data.subarray(src.offset + idx[i] * row, src.offset + (idx[i] + 1) * row), i * row);
  return new Tensor(out, [idx.length, ...t.shape.slice(1)]);
}

/** Rows [start, end) of in-memory data (inputs, target and lengths). */
export function sliceRows(data: Batch, start: number, end: number): Batch {
  const idx = Array.from({ length: end - start }, (_, i) => start + i);
  const x = Array.isArray(data.x) ? data.x.map((t) => takeRows(t, idx)) : takeRows(data.x, idx);
  const lengths = data.lengths === undefined ? undefined : lengthsRows(data.lengths, idx);
  return { x, y: takeRows(data.y, idx), lengths };
}

/** Checks in-memory data: every input, the target and the lengths have the same number of rows. */
export function checkTensorData(data: Batch, name: string): number {
  const xs = Array.isArray(data.x) ? data.x : [data.x];
  if (xs.length === 0 || !xs.every((t) => t instanceof Tensor)) throw new ValidationError(`Expected Tensor or array of tensors for ${name}.x but received ${describe(data.x)}`);
  if (!(data.y instanceof Tensor)) throw new ValidationError(`Expected Tensor for ${name}.y but received ${describe(data.y)}`);
  const n = xs[0].shape[0];
  for (const [what, t] of [...xs.map((x, i) => [xs.length > 1 ? `x[${i}]` : 'x', x] as const), ['y', data.y] as const]) {
    if (t.rank === 0 || t.shape[0] !== n) {
      throw new ShapeError(`Expected ${name}.${what} to have ${n} rows (the first axis) like ${name}.x but received shape ${formatShape(t.shape)}`);
    }
  }
  checkLengthsRows(data.lengths, n, xs.length, `${name}.lengths`);
  return n;
}

/**
 * Batches of `data`: for tensors, rows in a fresh order from `generator`
 * each call when `shuffle`; otherwise the iterable as it is. With `part`,
 * tensor batches are cut as for one replica in data-parallel training: the
 * order and the batches of `batchSize` rows are those of a single process
 * (so the result does not depend on the number of replicas), and each
 * replica keeps its contiguous share of every batch.
 */
export async function* batchesOf(
  data: Data,
  batchSize: number,
  shuffle: boolean,
  generator: Generator,
  name: string,
  part?: { index: number; count: number },
): AsyncGenerator<Batch> {
  if (isBatch(data)) {
    const n = checkTensorData(data, name);
    const order = shuffle ? Array.from(generator.permutation(n)) : Array.from({ length: n }, (_, i) => i);
    for (let start = 0; start < n; start += batchSize) {
      let idx = order.slice(start, start + batchSize);
      if (part) idx = idx.slice(...replicaRows(idx.length, part.index, part.count));
      const x = Array.isArray(data.x) ? data.x.map((t) => takeRows(t, idx)) : takeRows(data.x, idx);
      const lengths = data.lengths ? lengthsRows(data.lengths, idx) : undefined;
      yield { x, y: takeRows(data.y, idx), lengths };
    }
    return;
  }
  if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
    for await (const batch of data as AsyncIterable<Batch>) {
      if (!isBatch(batch)) throw new ValidationError(`Expected batches of { x, y, lengths? } from ${name} but received ${describe(batch)}`);
      yield batch;
    }
    return;
  }
  throw new ValidationError(`Expected { x, y, lengths? } or an iterable of such batches for ${name} but received ${describe(data)}`);
}
