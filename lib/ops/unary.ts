/**
 * Elementwise functions of one tensor: tanh, sigmoid, relu, exp, log,
 * square, pow. Each backward is the upstream gradient times the
 * derivative, written in terms of whichever of input or output is cheaper.
 */
import { recordSingleOutput } from '../autograd/tape';
import { Tensor, checkTensor } from '../tensor/tensor';
import { checkNumber } from '../validate';
import { map, zip } from '../tensor/strided';

/**
 * Applies `f` elementwise and records a backward computing
 * `g * derivative(saved)`, where `saved` is the input or the output.
 */
function unary(
  name: string,
  t: Tensor,
  f: (x: number) => number,
  saves: 'input' | 'output',
  gradTimes: (g: number, saved: number) => number,
): Tensor {
  const x = checkTensor('t', t);
  const out = new Tensor(map(x, f), x.shape);
  if (x.requiresGrad) {
    const saved = saves === 'input' ? x : out;
    recordSingleOutput(name, [x], out, (g) => [new Tensor(zip(g, saved, g.shape, gradTimes), g.shape)]);
  }
  return out;
}

/**
 * Hyperbolic tangent; tanh' = 1 - tanh².
 * @param t - The input.
 */
export function tanh(t: Tensor): Tensor {
  return unary('tanh', t, Math.tanh, 'output', (g, y) => g * (1 - y * y));
}

/**
 * Logistic sigmoid 1 / (1 + e^-x); σ' = σ(1 - σ).
 * @param t - The input.
 */
export function sigmoid(t: Tensor): Tensor {
  return unary('sigmoid', t, (x) => 1 / (1 + Math.exp(-x)), 'output', (g, y) => g * y * (1 - y));
}

/**
 * max(x, 0); the gradient at 0 is taken as 0, as in PyTorch.
 * @param t - The input.
 */
export function relu(t: Tensor): Tensor {
  return unary('relu', t, (x) => (x > 0 ? x : 0), 'output', (g, y) => (y > 0 ? g : 0));
}

/**
 * e^x.
 * @param t - The input.
 */
export function exp(t: Tensor): Tensor {
  return unary('exp', t, Math.exp, 'output', (g, y) => g * y);
}

/**
 * Natural logarithm (NaN below 0, -Infinity at 0).
 * @param t - The input.
 */
export function log(t: Tensor): Tensor {
  return unary('log', t, Math.log, 'input', (g, x) => g / x);
}

/**
 * x².
 * @param t - The input.
 */
export function square(t: Tensor): Tensor {
  return unary('square', t, (x) => x * x, 'input', (g, x) => 2 * g * x);
}

/**
 * x^exponent for a number exponent.
 * @param t - The input.
 * @param exponent - The power.
 */
export function pow(t: Tensor, exponent: number): Tensor {
  const p = checkNumber('exponent', exponent);
  // x^0 is constant: its gradient is 0 even where p·x^(p-1) would be 0·∞.
  return unary('pow', t, (x) => Math.pow(x, p), 'input', (g, x) => (p === 0 ? 0 : g * p * Math.pow(x, p - 1)));
}

/** erf(x), absolute error below 1.5e-7: enough for float32. */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  // Abramowitz & Stegun 7.1.26.
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return sign * y;
}

/**
 * GELU with the exact (erf) form, PyTorch's default: x·Φ(x).
 * @param t - The input.
 */
export function gelu(t: Tensor): Tensor {
  return unary(
    'gelu',
    t,
    (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    'input',
    (g, x) => g * (0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI)),
  );
}
