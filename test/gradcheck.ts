/**
 * Finite-difference gradient checking for anything built on Eddy's
 * autograd (ops, layers), plus random inputs in several memory layouts.
 */
import * as assert from 'assert';
import { Tensor, backward, noGrad, tensor } from '../lib';
import { rng } from './helpers';

export interface GradcheckOptions {
  /** Perturbation of each input element. @default 1e-2 */
  eps?: number;
  /** Largest accepted |autograd - numeric| / max(1, |numeric|). @default 2e-3 */
  tol?: number;
  /** Seed of the random weights W in the loss. @default 1 */
  seed?: number;
}

/*
 * Why eps = 1e-2 and tol = 2e-3 (float32 forward, O(1) inputs and outputs):
 * - central differences err by about eps²·|f'''|/6, about 2e-5 here;
 * - each float32 output carries a rounding error near 6e-8·|out|, so the
 *   loss difference carries about sqrt(N)·6e-8 for N outputs, and dividing by
 *   2·eps turns that into about 3e-6·sqrt(N): 3e-5 for 100 outputs, 1e-4 for
 *   1000. A smaller eps would amplify this rounding noise, a larger one the
 *   truncation error;
 * so float32 noise stays below about 2e-4, a tenth of the tolerance, while
 * real bugs (a missing factor, a wrong sign, a broadcast dimension not
 * summed, a gradient sent to the wrong element) give differences of order
 * 0.1 to 1. Keep inputs away from kinks (relu at 0) by more than eps.
 */
const DEFAULT_EPS = 1e-2;
const DEFAULT_TOL = 2e-3;

/** Where each element of `t`, in row-major order, lives in `t.data`. */
function storageOffsets(t: Tensor): number[] {
  const offsets = new Array<number>(t.size);
  for (let k = 0; k < t.size; k++) {
    let rest = k;
    let p = t.offset;
    for (let d = t.rank - 1; d >= 0; d--) {
      p += (rest % t.shape[d]) * t.strides[d];
      rest = Math.floor(rest / t.shape[d]);
    }
    offsets[k] = p;
  }
  return offsets;
}

/**
 * Checks the autograd gradients of `fn` at `inputs` against central finite
 * differences of loss = sum(fn(...inputs) * W), for a fixed random W. The
 * loss is evaluated in float64 from the float32 outputs, and each difference
 * is divided by the perturbation actually applied after float32 rounding.
 * Every input is checked (in whatever layout it has); inputs must not share
 * storage. Returns, per input, the largest |autograd - numeric| /
 * max(1, |numeric|), and throws an AssertionError if one exceeds `tol`.
 * The inputs' own `grad` is not touched.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): number[] {
  const { eps = DEFAULT_EPS, tol = DEFAULT_TOL, seed = 1 } = opts;
  // Leaves viewing the inputs' storage: perturbing an element of the
  // storage perturbs what fn sees.
  const leaves = inputs.map((t) => t.detach().requiresGrad_());
  const out = fn(...leaves);
  assert.ok(out instanceof Tensor, 'gradcheck: fn must return a Tensor');
  const random = rng(seed);
  // float32 values, so the autograd side (which gets W as a float32 tensor)
  // and the float64 loss below use exactly the same weights.
  const weights = Float64Array.from({ length: out.size }, () => Math.fround(random() * 2 - 1));
  backward([out], [tensor(Float32Array.from(weights), out.shape.slice())]);

  const loss = (): number => {
    const values = noGrad(() => fn(...leaves)).toFloat32Array();
    let s = 0;
    for (let i = 0; i < values.length; i++) s += values[i] * weights[i];
    return s;
  };

  return leaves.map((leaf, j) => {
    const analytic = leaf.grad === null ? new Float32Array(leaf.size) : leaf.grad.toFloat32Array();
    const data = leaf.data;
    let worst = 0;
    storageOffsets(leaf).forEach((p, k) => {
      const v = data[p];
      data[p] = v + eps;
      const up = data[p];
      const lossUp = loss();
      data[p] = v - eps;
      const down = data[p];
      const lossDown = loss();
      data[p] = v;
      const numeric = (lossUp - lossDown) / (up - down);
      const diff = Math.abs(analytic[k] - numeric) / Math.max(1, Math.abs(numeric));
      assert.ok(
        diff <= tol,
        `gradcheck: input ${j} element ${k}: autograd ${analytic[k]} vs finite difference ${numeric} (scaled difference ${diff.toExponential(2)} > ${tol})`,
      );
      worst = Math.max(worst, diff);
    });
    return worst;
  });
}

export type Layout = 'contiguous' | 'transposed' | 'sliced';

/**
 * A tensor of the given shape with values uniform in [lo, hi], laid out as:
 * contiguous; transposed (the last two dimensions swapped in storage, for
 * rank >= 2); or sliced (a window of a wider tensor: gaps between rows and
 * a non-zero offset).
 */
export function randomInput(shape: number[], random: () => number, layout: Layout = 'contiguous', lo = -1, hi = 1): Tensor {
  const fill = (dims: number[]): Tensor => {
    const n = dims.reduce((a, b) => a * b, 1);
    return tensor(Float32Array.from({ length: n }, () => lo + (hi - lo) * random()), dims);
  };
  const rank = shape.length;
  if (layout === 'transposed' && rank >= 2) {
    const swapped = shape.slice();
    [swapped[rank - 2], swapped[rank - 1]] = [swapped[rank - 1], swapped[rank - 2]];
    return fill(swapped).transpose(-2, -1);
  }
  if (layout === 'sliced' && rank >= 1) {
    const wider = shape.slice();
    wider[rank - 1] += 3;
    return fill(wider).slice(-1, 1, 1 + shape[rank - 1]);
  }
  return fill(shape);
}
