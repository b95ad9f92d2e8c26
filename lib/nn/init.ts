/**
 * Weight initializers with torch.nn.init's formulas, fan computation and
 * gains. Each fills a Tensor or Parameter in place (under no autograd),
 * draws from a Generator (the last argument, default the global one,
 * seeded by `eddy.manualSeed`) and returns what it was given.
 */
import { ShapeError } from '../errors';
import { copyInto } from '../tensor/strided';
import { Generator } from '../random';
import { householderQ } from './householder-qr';
import { denseData, Tensor } from '../tensor/tensor';
import { checkGenerator, checkInteger, checkNumber, checkOneOf, checkOptions, fail, formatShape, optionKeys } from '../validate';
import { Parameter } from './parameter';

/** What the initializers fill in place: a tensor, or a parameter (its `data`). */
export type Initializable = Tensor | Parameter;

/** A nonlinearity that {@link calculateGain} knows. */
export type Nonlinearity = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

const NONLINEARITIES: readonly Nonlinearity[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'];

/** The options of {@link kaimingUniform} and {@link kaimingNormal}. */
export interface KaimingOptions {
  /** Negative slope of the leaky_relu that follows (only used with 'leaky_relu'). @default 0 */
  a?: number;
  /** Keep the variance of activations ('fanIn') or of gradients ('fanOut'). @default 'fanIn' */
  mode?: 'fanIn' | 'fanOut';
  /** The nonlinearity after this layer, for its gain. @default 'leaky_relu' */
  nonlinearity?: Nonlinearity;
}

/** The keys of KaimingOptions, for checkOptions. */
export const KAIMING_OPTION_KEYS = optionKeys<KaimingOptions>({ a: true, mode: true, nonlinearity: true });

function tensorOf(t: unknown): Tensor {
  if (t instanceof Parameter) return t.data;
  if (!(t instanceof Tensor)) fail('Tensor or Parameter', 't', t);
  return t;
}


/** Writes row-major `values` into t, whatever its layout. */
function write<T extends Initializable>(target: T, t: Tensor, values: Float32Array): T {
  if (t.isContiguous()) denseData(t).set(values);
  else copyInto(t, new Tensor(values, t.shape));
  return target;
}

function minRank2(t: Tensor, fn: string): void {
  if (t.rank < 2) throw new ShapeError(`Expected a tensor of at least 2 dimensions for t in ${fn} but received shape ${formatShape(t.shape)}`);
}

/**
 * PyTorch's `_calculate_fan_in_and_fan_out`: for a weight [out, in, ...k],
 * fanIn = in·∏k and fanOut = out·∏k.
 * @param t - A weight of rank 2 or more.
 * @throws {@link ShapeError} when `t` has rank below 2.
 */
export function calculateFanInAndFanOut(t: Initializable): {
  /** in·∏k. */
  fanIn: number;
  /** out·∏k. */
  fanOut: number;
} {
  const x = tensorOf(t);
  minRank2(x, 'calculateFanInAndFanOut');
  const receptive = x.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: x.shape[1] * receptive, fanOut: x.shape[0] * receptive };
}

/**
 * PyTorch's `calculate_gain`: 1 for linear and sigmoid, 5/3 for tanh, √2
 * for relu, √(2 / (1 + slope²)) for leaky_relu (slope `param`, default
 * 0.01), 3/4 for selu.
 * @param nonlinearity - The nonlinearity after the layer.
 * @param param - The negative slope of leaky_relu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  const nl = checkOneOf('nonlinearity', nonlinearity, NONLINEARITIES);
  if (nl === 'tanh') return 5 / 3;
  if (nl === 'relu') return Math.SQRT2;
  if (nl === 'selu') return 3 / 4;
  if (nl === 'leaky_relu') return Math.sqrt(2 / (1 + checkNumber('param', param ?? 0.01) ** 2));
  return 1;
}

/**
 * Glorot/Xavier: U(−a, a) with a = gain·√(6 / (fanIn + fanOut)).
 * @param t - The weight to fill, rank 2 or more.
 * @param gain - The scale (see {@link calculateGain}).
 * @param generator - The random source; the global generator when omitted.
 * @returns `t`.
 */
export function xavierUniform<T extends Initializable>(t: T, gain = 1, generator?: Generator): T {
  const x = tensorOf(t);
  minRank2(x, 'xavierUniform');
  const { fanIn, fanOut } = calculateFanInAndFanOut(x);
  const bound = Math.sqrt(3) * checkNumber('gain', gain) * Math.sqrt(2 / (fanIn + fanOut));
  return write(t, x, checkGenerator('generator', generator).uniform(new Float32Array(x.size), -bound, bound));
}

/**
 * Glorot/Xavier: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)).
 * @param t - The weight to fill, rank 2 or more.
 * @param gain - The scale (see {@link calculateGain}).
 * @param generator - The random source; the global generator when omitted.
 * @returns `t`.
 */
export function xavierNormal<T extends Initializable>(t: T, gain = 1, generator?: Generator): T {
  const x = tensorOf(t);
  minRank2(x, 'xavierNormal');
  const { fanIn, fanOut } = calculateFanInAndFanOut(x);
  const std = checkNumber('gain', gain) * Math.sqrt(2 / (fanIn + fanOut));
  return write(t, x, checkGenerator('generator', generator).normal(new Float32Array(x.size), 0, std));
}

/**
 * std = gain(nonlinearity, a) / √fan, as PyTorch's kaiming initializers
 * compute it; null for a tensor with no elements, which PyTorch leaves alone.
 */
function kaimingStd(x: Tensor, fn: string, opts: KaimingOptions | undefined): number | null {
  const o = checkOptions('options', opts, KAIMING_OPTION_KEYS);
  const mode = checkOneOf('mode', o.mode ?? 'fanIn', ['fanIn', 'fanOut'] as const);
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', checkNumber('a', o.a ?? 0));
  if (x.size === 0) return null;
  minRank2(x, fn);
  const { fanIn, fanOut } = calculateFanInAndFanOut(x);
  return gain / Math.sqrt(mode === 'fanIn' ? fanIn : fanOut);
}

/**
 * He/Kaiming: U(−b, b) with b = √3·gain/√fan.
 * @param t - The weight to fill, rank 2 or more.
 * @param opts - {@link KaimingOptions}.
 * @param generator - The random source; the global generator when omitted.
 * @returns `t`.
 */
export function kaimingUniform<T extends Initializable>(t: T, opts?: KaimingOptions, generator?: Generator): T {
  const x = tensorOf(t);
  const std = kaimingStd(x, 'kaimingUniform', opts);
  const g = checkGenerator('generator', generator);
  if (std === null) return t;
  return write(t, x, g.uniform(new Float32Array(x.size), -Math.sqrt(3) * std, Math.sqrt(3) * std));
}

/**
 * He/Kaiming: N(0, std²) with std = gain/√fan.
 * @param t - The weight to fill, rank 2 or more.
 * @param opts - {@link KaimingOptions}.
 * @param generator - The random source; the global generator when omitted.
 * @returns `t`.
 */
export function kaimingNormal<T extends Initializable>(t: T, opts?: KaimingOptions, generator?: Generator): T {
  const x = tensorOf(t);
  const std = kaimingStd(x, 'kaimingNormal', opts);
  const g = checkGenerator('generator', generator);
  return std === null ? t : write(t, x, g.normal(new Float32Array(x.size), 0, std));
}

/** A rows×cols (semi-)orthogonal matrix times gain, row-major, drawn as PyTorch's orthogonal_ draws it. */
function orthogonalValues(rows: number, cols: number, gain: number, g: Generator): Float32Array {
  const flat = g.normal(new Float32Array(rows * cols));
  const [m, n] = rows >= cols ? [rows, cols] : [cols, rows];
  // Factor the matrix with more rows than columns: the draw, or its transpose.
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] = rows >= cols ? flat[i * cols + j] : flat[j * cols + i];
  const q = householderQ(a, m, n);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * (rows >= cols ? q[i * n + j] : q[j * n + i]);
  return out;
}

/**
 * A (semi-)orthogonal matrix (Saxe et al.), PyTorch's `orthogonal_`: the
 * tensor is seen as [shape[0], rest] (trailing dimensions flattened); with
 * more rows than columns the columns are orthonormal (QᵀQ = I), otherwise
 * the rows are (QQᵀ = I); then scaled by gain.
 * @param t - The weight to fill, rank 2 or more.
 * @param gain - The scale.
 * @param generator - The random source; the global generator when omitted.
 * @returns `t`.
 * @example
 * ```ts
 * for (const [name, p] of lstm.namedParameters()) {
 *   if (name.startsWith('weight_hh')) eddy.init.orthogonalPerGate(p, 4);
 * }
 * ```
 */
export function orthogonal<T extends Initializable>(t: T, gain = 1, generator?: Generator): T {
  const x = tensorOf(t);
  minRank2(x, 'orthogonal');
  const gn = checkNumber('gain', gain);
  const g = checkGenerator('generator', generator);
  if (x.size === 0) return t;
  const rows = x.shape[0];
  return write(t, x, orthogonalValues(rows, x.size / rows, gn, g));
}

/**
 * `orthogonal` on each of `gates` equal row blocks of a recurrent weight
 * [gates·H, …] (W_hh of an LSTM has 4 blocks i, f, g, o; GRU 3; RNN 1), so
 * each gate's own H×H matrix is orthogonal, as PyTorch users do by hand.
 * @param t - The recurrent weight to fill, [gates·H, …].
 * @param gates - The number of gate blocks (4 for LSTM, 3 for GRU, 1 for RNN).
 * @param gain - The scale.
 * @param generator - The random source; the global generator when omitted.
 * @returns `t`.
 * @throws {@link ShapeError} when the rows do not split into `gates` blocks.
 */
export function orthogonalPerGate<T extends Initializable>(t: T, gates: number, gain = 1, generator?: Generator): T {
  const x = tensorOf(t);
  minRank2(x, 'orthogonalPerGate');
  const k = checkInteger('gates', gates, 1);
  const gn = checkNumber('gain', gain);
  const g = checkGenerator('generator', generator);
  const rows = x.shape[0];
  if (rows % k !== 0) {
    throw new ShapeError(`Expected a first dimension divisible by gates (${k}) for t in orthogonalPerGate but received shape ${formatShape(x.shape)}`);
  }
  if (x.size === 0) return t;
  const cols = x.size / rows;
  const values = new Float32Array(x.size);
  for (let b = 0; b < k; b++) values.set(orthogonalValues(rows / k, cols, gn, g), (b * rows * cols) / k);
  return write(t, x, values);
}

/**
 * Fills with U(a, b).
 * @param t - The tensor to fill.
 * @param a - The lower bound (0 when omitted).
 * @param b - The upper bound (1 when omitted).
 * @param generator - The random source; the global generator when omitted.
 * @returns `t`.
 */
export function uniform<T extends Initializable>(t: T, a = 0, b = 1, generator?: Generator): T {
  const x = tensorOf(t);
  const lo = checkNumber('a', a);
  const hi = checkNumber('b', b, { min: lo });
  return write(t, x, checkGenerator('generator', generator).uniform(new Float32Array(x.size), lo, hi));
}

/**
 * Fills with N(mean, std²).
 * @param t - The tensor to fill.
 * @param mean - The mean (0 when omitted).
 * @param std - The standard deviation (1 when omitted).
 * @param generator - The random source; the global generator when omitted.
 * @returns `t`.
 */
export function normal<T extends Initializable>(t: T, mean = 0, std = 1, generator?: Generator): T {
  const x = tensorOf(t);
  const m = checkNumber('mean', mean);
  const s = checkNumber('std', std, { min: 0 });
  return write(t, x, checkGenerator('generator', generator).normal(new Float32Array(x.size), m, s));
}

/**
 * Fills with `value` (a finite number).
 * @param t - The tensor to fill.
 * @param value - The value.
 * @returns `t`.
 */
export function constant<T extends Initializable>(t: T, value: number): T {
  const x = tensorOf(t);
  return write(t, x, new Float32Array(x.size).fill(checkNumber('value', value)));
}

/**
 * Fills with zeros.
 * @param t - The tensor to fill.
 * @returns `t`.
 */
export function zeros<T extends Initializable>(t: T): T {
  return constant(t, 0);
}

/**
 * Fills with ones.
 * @param t - The tensor to fill.
 * @returns `t`.
 */
export function ones<T extends Initializable>(t: T): T {
  return constant(t, 1);
}
