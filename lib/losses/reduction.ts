/**
 * How a loss turns per-element (or per-row, per-sequence) losses into its
 * output, as in PyTorch: 'none' keeps them, 'sum' adds them, 'mean' divides
 * the sum by a divisor that each loss defines (the element count, the
 * total weight of counted targets, …).
 */
import { Tensor } from '../tensor/tensor';
import { checkOneOf } from '../validate';

/**
 * How a loss reduces its per-item losses: 'mean' (each loss defines its divisor), 'sum', or 'none'
 * (a tensor of them).
 */
export type Reduction = 'mean' | 'sum' | 'none';

export const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

/** Checks `opts.reduction`, defaulting to 'mean'. */
export function checkReduction(value: unknown): Reduction {
  return value === undefined ? 'mean' : checkOneOf('opts.reduction', value, REDUCTIONS);
}

/**
 * The loss output: `values` (float64 per-item losses) shaped `shape` for
 * 'none', else their sum, divided by `divisor` for 'mean', shaped [].
 */
export function reduceLoss(values: Float64Array, shape: readonly number[], reduction: Reduction, divisor: number): Tensor {
  if (reduction === 'none') return new Tensor(Float32Array.from(values), shape);
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return new Tensor(Float32Array.of(reduction === 'mean' ? total / divisor : total), []);
}

/**
 * The upstream gradient each item receives, by item index: g[i] for
 * 'none', g for 'sum', g / divisor for 'mean'.
 */
export function itemGradients(g: Tensor, count: number, reduction: Reduction, divisor: number): Float64Array {
  const out = new Float64Array(count);
  if (reduction === 'none') {
    for (let i = 0; i < count; i++) out[i] = g.data[g.offset + i];
  } else {
    out.fill(reduction === 'mean' ? g.data[g.offset] / divisor : g.data[g.offset]);
  }
  return out;
}
