/**
 * Variable-length batching: sequences of different lengths padded into one
 * [batch, maxSteps, features] tensor, with their lengths as the Int32Array
 * that the recurrent layers, the sequence losses and `fit` take. Padded
 * steps are masked by `lengths` downstream, so their value rarely matters.
 */
import { ShapeError, ValidationError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { checkBoolean, checkNumber, checkOptions, describe, fail, formatShape, optionKeys } from '../validate';
import { checkSameShape, inspect, Nested, where, write } from './nested';

/** A batch ready for `fit`, `evaluate` or a recurrent layer. */
export interface PaddedBatch {
  /** [batch, maxSteps, features], or [batch, maxSteps] with `featureAxis: false`. */
  x: Tensor;
  /** One length per sequence (≥ 1). */
  lengths: Int32Array;
  /** Targets stacked: [batch, ...shape of one y], or padded like x with `sequenceTargets`. */
  y: Tensor;
}

/**
 * The options of {@link Dataset.padBatch}: where each element keeps its sequence and target, and
 * how to pad them.
 */
export interface PadBatchOptions {
  /** Key of each element's input sequence: a number[] (steps), number[][] (steps × features), typed array or Tensor. @default 'x' */
  x?: string;
  /** Key of each element's target: a number, number[] or number[][] (or typed array, Tensor), stacked into [batch, ...its shape]. @default 'y' */
  y?: string;
  /** Value of the padded steps of x. @default 0 */
  padValue?: number;
  /** Targets are sequences aligned with x (one target per step, as in tagging or language modelling), padded like x to [batch, maxSteps(, k)]. @default false */
  sequenceTargets?: boolean;
  /** Value of the padded steps of y with `sequenceTargets` (any valid class index works for masked losses). @default padValue */
  targetPadValue?: number;
  /** Keep the feature axis of flat sequences ([batch, maxSteps, 1]); false gives [batch, maxSteps], token ids for an Embedding. @default true */
  featureAxis?: boolean;
  /** Order each batch by decreasing length (stable), as `pack_padded_sequence(enforce_sorted=True)` wants; Eddy's layers do not need it. @default false */
  sortWithinBatch?: boolean;
  /** Drop a last batch with fewer elements than the batch size. @default false */
  dropRemainder?: boolean;
}

/** The keys of PadBatchOptions, for checkOptions. */
export const PAD_BATCH_OPTION_KEYS = optionKeys<PadBatchOptions>({ x: true, y: true, padValue: true, sequenceTargets: true, targetPadValue: true, featureAxis: true, sortWithinBatch: true, dropRemainder: true });

export interface ResolvedPadOptions {
  x: string;
  y: string;
  padValue: number;
  sequenceTargets: boolean;
  targetPadValue: number;
  featureAxis: boolean;
  sortWithinBatch: boolean;
  dropRemainder: boolean;
}

/** `known` is the caller's key list when its options extend PadBatchOptions (bucketBy's). */
export function resolvePadOptions(opts: PadBatchOptions | undefined, known: readonly string[] = PAD_BATCH_OPTION_KEYS): ResolvedPadOptions {
  const o = checkOptions('options', opts, known) as PadBatchOptions;
  const key = (name: 'x' | 'y'): string => {
    const v = o[name] ?? name;
    if (typeof v !== 'string' || v.length === 0) fail('a non-empty string (an element key)', name, v);
    return v;
  };
  const padValue = checkNumber('padValue', o.padValue ?? 0);
  return {
    x: key('x'),
    y: key('y'),
    padValue,
    sequenceTargets: checkBoolean('sequenceTargets', o.sequenceTargets ?? false),
    targetPadValue: checkNumber('targetPadValue', o.targetPadValue ?? padValue),
    featureAxis: checkBoolean('featureAxis', o.featureAxis ?? true),
    sortWithinBatch: checkBoolean('sortWithinBatch', o.sortWithinBatch ?? false),
    dropRemainder: checkBoolean('dropRemainder', o.dropRemainder ?? false),
  };
}

function field(item: unknown, key: string, element: number): unknown {
  if (item === null || typeof item !== 'object' || !(key in item)) {
    fail(`an object with a "${key}" key`, `element ${element}`, item);
  }
  return (item as Record<string, unknown>)[key];
}

/** The number of steps of an element's sequence, without reading its values. */
export function sequenceLength(item: unknown, key: string, element: number): number {
  const v = field(item, key, element);
  if (v instanceof Tensor) return v.rank === 0 ? 0 : v.shape[0];
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) return (v as ArrayLike<unknown>).length;
  return fail('an array, typed array or Tensor (a sequence)', where(key, element), v);
}

/**
 * Pads `items` (the elements numbered `indices` in the stream) into one
 * batch, at least `minSteps` long.
 */
export function padElements(items: readonly unknown[], indices: readonly number[], o: ResolvedPadOptions, minSteps = 0): PaddedBatch {
  const B = items.length;
  const xs: Nested[] = [];
  const ys: Nested[] = [];
  for (let b = 0; b < B; b++) {
    const x = inspect(field(items[b], o.x, indices[b]), o.x, indices[b]);
    if (x.shape.length !== 1 && x.shape.length !== 2) {
      throw new ShapeError(`Expected a sequence (steps or steps × features) for ${where(o.x, indices[b])} but received shape ${formatShape(x.shape)}`);
    }
    if (x.shape[0] === 0) {
      throw new ValidationError(`Expected a sequence of at least one step for ${where(o.x, indices[b])} but received ${describe(field(items[b], o.x, indices[b]))}`);
    }
    if (!o.featureAxis && x.shape.length !== 1) {
      throw new ShapeError(`Expected a flat sequence (token ids) with featureAxis: false for ${where(o.x, indices[b])} but received shape ${formatShape(x.shape)}`);
    }
    xs.push(x);
    ys.push(inspect(field(items[b], o.y, indices[b]), o.y, indices[b]));
  }
  const features = xs[0].shape[1] ?? 1;
  let steps = minSteps;
  for (let b = 0; b < B; b++) {
    const f = xs[b].shape[1] ?? 1;
    if (f !== features) {
      throw new ShapeError(`Expected ${features} features per step (like ${where(o.x, indices[0])}) for ${where(o.x, indices[b])} but received ${f}`);
    }
    steps = Math.max(steps, xs[b].shape[0]);
  }
  const order = Array.from({ length: B }, (_, b) => b);
  if (o.sortWithinBatch) order.sort((a, b) => xs[b].shape[0] - xs[a].shape[0] || a - b);

  const lengths = new Int32Array(B);
  const xData = new Float32Array(B * steps * features).fill(o.padValue);
  order.forEach((b, row) => {
    lengths[row] = xs[b].shape[0];
    write(xs[b], xData, row * steps * features, o.x, indices[b]);
  });
  const x = new Tensor(xData, o.featureAxis ? [B, steps, features] : [B, steps]);
  return { x, lengths, y: o.sequenceTargets ? padTargets(ys, xs, order, steps, indices, o) : stackTargets(ys, order, indices, o) };
}

function stackTargets(ys: Nested[], order: number[], indices: readonly number[], o: ResolvedPadOptions): Tensor {
  const shape = ys[0].shape;
  const size = shape.reduce((a, b) => a * b, 1);
  ys.forEach((y, b) => checkSameShape(y, shape, o.y, indices[b], indices[0]));
  const data = new Float32Array(ys.length * size);
  order.forEach((b, row) => write(ys[b], data, row * size, o.y, indices[b]));
  return new Tensor(data, [ys.length, ...shape]);
}

function padTargets(ys: Nested[], xs: Nested[], order: number[], steps: number, indices: readonly number[], o: ResolvedPadOptions): Tensor {
  const width = ys[0].shape.length === 2 ? ys[0].shape[1] : 1;
  ys.forEach((y, b) => {
    if (y.shape.length !== ys[0].shape.length || (y.shape[1] ?? 1) !== width || (y.shape.length !== 1 && y.shape.length !== 2)) {
      const like = ys[0].shape.length === 2 ? `[steps, ${width}]` : '[steps]';
      throw new ShapeError(`Expected a target sequence of shape ${like} (like ${where(o.y, indices[0])}) for ${where(o.y, indices[b])} but received ${formatShape(y.shape)}`);
    }
    if (y.shape[0] !== xs[b].shape[0]) {
      throw new ShapeError(`Expected one target per step of ${where(o.x, indices[b])} (${xs[b].shape[0]}) for ${where(o.y, indices[b])} but received ${y.shape[0]}`);
    }
  });
  const data = new Float32Array(ys.length * steps * width).fill(o.targetPadValue);
  order.forEach((b, row) => write(ys[b], data, row * steps * width, o.y, indices[b]));
  return new Tensor(data, ys[0].shape.length === 2 ? [ys.length, steps, width] : [ys.length, steps]);
}

/** `padBatch`: consecutive groups of `size` elements, padded. */
export async function* padBatchItems(source: AsyncIterable<unknown>, size: number, o: ResolvedPadOptions): AsyncGenerator<PaddedBatch> {
  let items: unknown[] = [];
  let indices: number[] = [];
  let index = 0;
  for await (const item of source) {
    items.push(item);
    indices.push(index++);
    if (items.length === size) {
      yield padElements(items, indices, o);
      items = [];
      indices = [];
    }
  }
  if (items.length > 0 && !o.dropRemainder) yield padElements(items, indices, o);
}
