/**
 * softmax and logSoftmax along one dimension, computed stably (the row
 * maximum is subtracted first).
 */
import { recordSingleOutput } from '../autograd/tape';
import { checkTensor, Tensor } from '../tensor/tensor';
import { checkInteger } from '../validate';
import { ValidationError } from '../errors';

/** Splits a shape around `dim`: rows of `n` elements, `inner` apart. */
function layout(t: Tensor, dim: number): { outer: number; n: number; inner: number; d: number } {
  checkInteger('dim', dim);
  const d = dim < 0 ? dim + t.rank : dim;
  if (d < 0 || d >= t.rank) throw new ValidationError(`Expected dim between ${-t.rank} and ${t.rank - 1} for a tensor of rank ${t.rank} but received ${dim}`);
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < d; i++) outer *= t.shape[i];
  for (let i = d + 1; i < t.rank; i++) inner *= t.shape[i];
  return { outer, n: t.shape[d], inner, d };
}

function forRows(outer: number, inner: number, n: number, fn: (base: number, stride: number) => void): void {
  for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) fn(o * n * inner + k, inner);
}

function compute(t: Tensor, dim: number, log: boolean): Tensor {
  const x = checkTensor('t', t);
  const { outer, n, inner } = layout(x, dim);
  const src = x.toFloat32Array();
  const out = new Float32Array(src.length);
  forRows(outer, inner, n, (base, s) => {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, src[base + i * s]);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(src[base + i * s] - max);
    const logSum = Math.log(sum);
    for (let i = 0; i < n; i++) {
      const z = src[base + i * s] - max;
      out[base + i * s] = log ? z - logSum : Math.exp(z - logSum);
    }
  });
  return new Tensor(out, x.shape);
}

/**
 * softmax(x)_i = exp(x_i) / Σ_j exp(x_j) along `dim`.
 * @param t - The input.
 * @param dim - The axis to normalize (negative counts from the end); the last when omitted.
 */
export function softmax(t: Tensor, dim = -1): Tensor {
  const out = compute(t, dim, false);
  if (t.requiresGrad) {
    const { outer, n, inner } = layout(t, dim);
    recordSingleOutput('softmax', [t], out, (g) => {
      const gd = g.toFloat32Array();
      const y = out.data;
      const dx = new Float32Array(gd.length);
      forRows(outer, inner, n, (base, s) => {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += gd[base + i * s] * y[base + i * s];
        for (let i = 0; i < n; i++) dx[base + i * s] = y[base + i * s] * (gd[base + i * s] - dot);
      });
      return [new Tensor(dx, t.shape)];
    });
  }
  return out;
}

/**
 * log(softmax(x)) along `dim`, without forming softmax(x).
 * @param t - The input.
 * @param dim - The axis to normalize (negative counts from the end); the last when omitted.
 */
export function logSoftmax(t: Tensor, dim = -1): Tensor {
  const out = compute(t, dim, true);
  if (t.requiresGrad) {
    const { outer, n, inner } = layout(t, dim);
    recordSingleOutput('logSoftmax', [t], out, (g) => {
      const gd = g.toFloat32Array();
      const y = out.data;
      const dx = new Float32Array(gd.length);
      forRows(outer, inner, n, (base, s) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += gd[base + i * s];
        for (let i = 0; i < n; i++) dx[base + i * s] = gd[base + i * s] - Math.exp(y[base + i * s]) * sum;
      });
      return [new Tensor(dx, t.shape)];
    });
  }
  return out;
}
