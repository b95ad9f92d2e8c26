/**
 * Keras recurrent weights → Eddy (PyTorch layout). Keras keeps
 * `kernel` (in, G·U), `recurrent_kernel` (U, G·U) and `bias` (G·U), or
 * (2, G·U) — input and recurrent bias rows — for a GRU with
 * `reset_after=True`. PyTorch keeps the transposes, (G·U, in) and
 * (G·U, U), with separate input and recurrent biases.
 *
 * Gate blocks: Keras LSTM i, f, c, o is PyTorch's i, f, g, o (same order);
 * Keras GRU z, r, h becomes PyTorch's r, z, n (the first two swap). Both
 * use sigmoid gates and tanh (Keras' defaults; other activations do not
 * map). Keras' GRU `h = z·h₋₁ + (1 − z)·h̃` is PyTorch's formula, and
 * reset_after=True/False is Eddy's resetAfter.
 */
import { ShapeError, ValidationError } from '../errors';
import { GRU, LSTM, RNN } from '../layers/recurrent';
import { Tensor, tensor } from '../tensor/tensor';
import { checkBoolean, checkOneOf, checkOptions, describe, formatShape, optionKeys } from '../validate';

/** A Keras array: a tensor, or nested number arrays as `layer.get_weights()` gives them (`.tolist()`). */
export type KerasArray = Tensor | readonly unknown[];

/** One Keras recurrent layer's weights, as `layer.get_weights()` lists them. */
export interface KerasRecurrentWeights {
  /** The input kernel, (inputSize, gates·units). */
  kernel: KerasArray;
  /** The recurrent kernel, (units, gates·units). */
  recurrentKernel: KerasArray;
  /** @default none (Keras use_bias=False) */
  bias?: KerasArray;
}

/** The keys of KerasRecurrentWeights, for checkOptions. */
export const KERAS_RECURRENT_WEIGHTS_KEYS = optionKeys<KerasRecurrentWeights>({ kernel: true, recurrentKernel: true, bias: true });

/** The Keras recurrent layer the weights come from. */
export type KerasCell = 'LSTM' | 'GRU' | 'SimpleRNN';

/** The options of {@link fromKeras} and {@link kerasToStateDict}. */
export interface KerasImportOptions {
  /** GRU only: Keras' reset_after (Keras 2.x and 3 default True). @default true */
  resetAfter?: boolean;
  /** SimpleRNN only: its activation. @default 'tanh' */
  activation?: 'tanh' | 'relu';
  /** Layout of the built layer's input and output. @default true */
  batchFirst?: boolean;
}

export const KERAS_IMPORT_OPTION_KEYS = optionKeys<KerasImportOptions>({ resetAfter: true, activation: true, batchFirst: true });

const GATES: Record<KerasCell, number> = { LSTM: 4, GRU: 3, SimpleRNN: 1 };

function asTensor(name: string, value: unknown): Tensor {
  if (value instanceof Tensor) return value.contiguous();
  if (Array.isArray(value)) {
    try {
      return tensor(value as never);
    } catch (err) {
      throw new ValidationError(`Expected a rectangular array of numbers for ${name}: ${(err as Error).message}`);
    }
  }
  throw new ValidationError(`Expected a Tensor or nested number arrays for ${name} but received ${describe(value)}`);
}

function expectShape(name: string, t: Tensor, shape: number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new ShapeError(`Expected shape ${formatShape(shape)} for ${name} but received ${formatShape(t.shape)}`);
}

/** Keras (rows, G·U) → PyTorch (G·U, rows), with the gate blocks reordered. */
function transposeGates(src: Float32Array, rows: number, units: number, order: readonly number[]): Float32Array {
  const cols = order.length * units;
  const out = new Float32Array(cols * rows);
  order.forEach((from, to) => {
    for (let u = 0; u < units; u++) {
      for (let r = 0; r < rows; r++) out[(to * units + u) * rows + r] = src[r * cols + from * units + u];
    }
  });
  return out;
}

function reorderVector(src: Float32Array, units: number, order: readonly number[]): Float32Array {
  const out = new Float32Array(order.length * units);
  order.forEach((from, to) => out.set(src.subarray(from * units, (from + 1) * units), to * units));
  return out;
}

/**
 * The PyTorch-named state dict (`weight_ih_<suffix>`, …) of one Keras
 * recurrent layer's weights; sizes are read from the kernel's shape.
 * @param cell - The Keras layer type.
 * @param weights - {@link KerasRecurrentWeights}.
 * @param opts - {@link KerasImportOptions}, plus `suffix`, the state-dict name suffix (default
 *   'l0').
 * @throws {@link ShapeError} when the weights' shapes do not agree.
 * @throws {@link ValidationError} when an argument is malformed.
 */
export function kerasToStateDict(cell: KerasCell, weights: KerasRecurrentWeights, opts: KerasImportOptions & { suffix?: string } = {}): Record<string, Tensor> {
  checkOneOf('cell', cell, ['LSTM', 'GRU', 'SimpleRNN'] as const);
  const w = checkOptions('weights', weights, KERAS_RECURRENT_WEIGHTS_KEYS);
  const o = checkOptions('options', opts, [...KERAS_IMPORT_OPTION_KEYS, 'suffix']);
  const resetAfter = checkBoolean('resetAfter', o.resetAfter ?? true);
  const suffix = o.suffix ?? 'l0';
  const G = GATES[cell];
  const kernel = asTensor('kernel', w.kernel);
  if (kernel.rank !== 2 || kernel.shape[1] % G !== 0 || kernel.shape[1] === 0) {
    throw new ShapeError(`Expected kernel of shape [inputSize, ${G} * units] for a Keras ${cell} but received ${formatShape(kernel.shape)}`);
  }
  const input = kernel.shape[0];
  const units = kernel.shape[1] / G;
  const recurrent = asTensor('recurrentKernel', w.recurrentKernel);
  expectShape('recurrentKernel', recurrent, [units, G * units]);
  const order = cell === 'GRU' ? [1, 0, 2] : cell === 'LSTM' ? [0, 1, 2, 3] : [0];
  const out: Record<string, Tensor> = {
    [`weight_ih_${suffix}`]: new Tensor(transposeGates(kernel.toFloat32Array(), input, units, order), [G * units, input]),
    [`weight_hh_${suffix}`]: new Tensor(transposeGates(recurrent.toFloat32Array(), units, units, order), [G * units, units]),
  };
  if (w.bias !== undefined) {
    const bias = asTensor('bias', w.bias);
    const twoRows = cell === 'GRU' && resetAfter;
    expectShape('bias', bias, twoRows ? [2, G * units] : [G * units]);
    const b = bias.toFloat32Array();
    out[`bias_ih_${suffix}`] = new Tensor(reorderVector(b.subarray(0, G * units), units, order), [G * units]);
    // Without reset_after, Keras has one bias: all of it is the input bias.
    out[`bias_hh_${suffix}`] = new Tensor(twoRows ? reorderVector(b.subarray(G * units), units, order) : new Float32Array(G * units), [G * units]);
  }
  return out;
}

/**
 * A new Eddy layer holding a Keras layer's weights (sizes from the kernel's shape).
 * @param cell - The Keras layer type.
 * @param weights - {@link KerasRecurrentWeights}.
 * @param opts - {@link KerasImportOptions}.
 * @throws {@link ShapeError} when the weights' shapes do not agree.
 * @throws {@link ValidationError} when an argument is malformed.
 * @example
 * ```ts
 * // Python: w = [a.tolist() for a in keras_lstm.get_weights()]
 * const lstm = eddy.io.fromKeras('LSTM', { kernel: w[0], recurrentKernel: w[1], bias: w[2] });
 * ```
 */
export function fromKeras(cell: KerasCell, weights: KerasRecurrentWeights, opts: KerasImportOptions = {}): LSTM | GRU | RNN {
  const sd = kerasToStateDict(cell, weights, opts);
  const [G, I] = sd.weight_ih_l0.shape;
  const hiddenSize = G / GATES[cell];
  const common = { inputSize: I, hiddenSize, bias: weights.bias !== undefined, batchFirst: opts.batchFirst ?? true };
  const layer =
    cell === 'LSTM' ? new LSTM(common) : cell === 'GRU' ? new GRU({ ...common, resetAfter: opts.resetAfter ?? true }) : new RNN({ ...common, nonlinearity: checkOneOf('activation', opts.activation ?? 'tanh', ['tanh', 'relu'] as const) });
  layer.loadStateDict(sd);
  return layer;
}
