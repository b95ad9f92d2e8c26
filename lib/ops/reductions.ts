/**
 * sum and mean over all elements or along one dimension. Both are the
 * reverse of broadcasting: forward sums a dimension down to 1 (float64
 * accumulation, `sumToShape`), backward repeats the gradient back along it.
 */
import { recordSingleOutput } from '../autograd/tape';
import { Tensor, checkTensor } from '../tensor/tensor';
import { checkBoolean, checkDim } from '../validate';
import { expandTo, map, sumToShape } from '../tensor/strided';

interface Reduction {
  x: Tensor;
  /** The input's shape with the reduced dimensions set to 1. */
  kept: number[];
  /** The output shape: `kept`, or without the reduced dimensions unless keepDim. */
  shape: number[];
  /** How many elements each output element sums. */
  count: number;
}

function reduction(t: Tensor, dim: number | undefined, keepDim: boolean | undefined): Reduction {
  const x = checkTensor('t', t);
  const keep = keepDim === undefined ? false : checkBoolean('keepDim', keepDim);
  if (dim === undefined) {
    const kept = x.shape.map(() => 1);
    return { x, kept, shape: keep ? kept : [], count: x.size };
  }
  const d = checkDim('dim', dim, x.rank);
  const kept = x.shape.slice();
  kept[d] = 1;
  return { x, kept, shape: keep ? kept : x.shape.filter((_, i) => i !== d), count: x.shape[d] };
}

/** Sums over the reduced dimensions into a new tensor of the output shape. */
function reduceSum({ x, kept, shape }: Reduction, scale: number): Tensor {
  const summed = sumToShape(x, kept);
  // sumToShape hands back x itself when there is nothing to sum.
  const values = summed === x ? x.toFloat32Array() : summed.data;
  return new Tensor(scale === 1 ? values : map(new Tensor(values, shape), (v) => v * scale), shape);
}

/** The gradient for x: g (of the output shape) repeated along the reduced dimensions, times `scale`. */
function spread({ x, kept }: Reduction, g: Tensor, scale: number): Tensor {
  const expanded = expandTo(new Tensor(g.data, kept, undefined, g.offset), x.shape);
  return scale === 1 ? expanded : new Tensor(map(expanded, (v) => v * scale), x.shape);
}

/**
 * Sum of all elements (shape []), or along `dim`, which is removed unless
 * `keepDim` (then it has size 1). With `keepDim` and no `dim`, every
 * dimension is kept with size 1.
 * @param t - The input.
 * @param dim - The axis to sum over (negative counts from the end); all when omitted.
 * @param keepDim - Keep the reduced axis with size 1.
 */
export function sum(t: Tensor, dim?: number, keepDim?: boolean): Tensor {
  const r = reduction(t, dim, keepDim);
  const out = reduceSum(r, 1);
  recordSingleOutput('sum', [r.x], out, (g) => [spread(r, g, 1)]);
  return out;
}

/**
 * Mean of all elements, or along `dim`; dimensions as in `sum`. NaN over zero elements.
 * @param t - The input.
 * @param dim - The axis to average over (negative counts from the end); all when omitted.
 * @param keepDim - Keep the reduced axis with size 1.
 */
export function mean(t: Tensor, dim?: number, keepDim?: boolean): Tensor {
  const r = reduction(t, dim, keepDim);
  const out = reduceSum(r, 1 / r.count);
  recordSingleOutput('mean', [r.x], out, (g) => [spread(r, g, 1 / r.count)]);
  return out;
}
