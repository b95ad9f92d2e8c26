/**
 * Sequence pooling that respects `lengths`: [batch, time, features] →
 * [batch, features] by each sequence's last real step, mean or max over its
 * real steps. Padded steps never contribute and get zero gradient.
 */
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError } from '../errors';
import { CALL_CONTEXT_KEYS, Module } from '../nn/module';
import { checkLengths, Lengths } from '../ops/lengths';
import { checkTensor, denseData, Tensor } from '../tensor/tensor';
import { checkOneOf, checkOptions, formatShape, optionKeys } from '../validate';
import { registerLayer } from '../nn/registry';
import { batchMajor, onnxAttribute, OnnxLoweringContext, OnnxValue, ONNX_FLOAT, ONNX_INT64, reduceOnnx, stepMask } from '../nn/onnx-lowering';

/** How {@link poolSequence} pools the real steps of each sequence. */
export type PoolingMode = 'last' | 'mean' | 'max';

const MODES: readonly PoolingMode[] = ['last', 'mean', 'max'];

/** The options of {@link poolSequence}. */
export interface PoolSequenceOptions {
  /**
   * `'last'`: each sequence's own last real step, x[b, L_b − 1]. For the
   * output of a bidirectional layer that is the backward direction's first
   * step (it has seen one token); PyTorch users pool such layers with the
   * final state `h` instead (the last two rows, concatenated).
   * `'mean'`: the average over the real steps. `'max'`: the elementwise
   * maximum over the real steps (the gradient goes to the first maximum).
   */
  mode: PoolingMode;
  /** One length per sequence (1 ≤ L_b ≤ time). @default every sequence has all time steps */
  lengths?: Lengths;
}

/** The keys of PoolSequenceOptions, for checkOptions. */
export const POOL_SEQUENCE_OPTION_KEYS = optionKeys<PoolSequenceOptions>({ mode: true, lengths: true });

/** Options of the SequencePooling module; lengths are given per call. */
export interface SequencePoolingOptions {
  /** See `PoolSequenceOptions.mode`. */
  mode: PoolingMode;
}

/** The keys of SequencePoolingOptions, for checkOptions. */
export const SEQUENCE_POOLING_OPTION_KEYS = optionKeys<SequencePoolingOptions>({ mode: true });

/**
 * Pools x [batch, time, features] over time into [batch, features],
 * counting only each sequence's first L_b steps.
 * @param x - The sequences, [batch, time, features].
 * @param opts - {@link PoolSequenceOptions}.
 * @throws {@link ShapeError} when `x` is not 3-D or `lengths` does not match it.
 * @example
 * ```ts
 * const pooled = eddy.poolSequence(output, { mode: 'mean', lengths }); // [batch, features]
 * ```
 */
export function poolSequence(x: Tensor, opts: PoolSequenceOptions): Tensor {
  const o = checkOptions('options', opts, POOL_SEQUENCE_OPTION_KEYS);
  return pool(x, checkOneOf('mode', o.mode, MODES), o.lengths, 'poolSequence');
}

function pool(input: Tensor, mode: PoolingMode, lengths: unknown, what: string): Tensor {
  const x = checkTensor('x', input);
  if (x.rank !== 3) throw new ShapeError(`Expected x of shape [batch, time, features] for ${what} but received ${formatShape(x.shape)}`);
  const [B, T, F] = x.shape;
  if (T < 1) throw new ShapeError(`Expected at least one time step in x for ${what} but received shape ${formatShape(x.shape)}`);
  const lens = checkLengths(lengths, B, T) ?? new Int32Array(B).fill(T);
  const src = denseData(x);
  const out = new Float32Array(B * F);
  // The time step each output element came from ('last' and 'max'), for the backward.
  const from = mode === 'mean' ? null : new Int32Array(B * F);
  for (let b = 0; b < B; b++) {
    const L = lens[b];
    const row = b * T * F;
    for (let f = 0; f < F; f++) {
      let t = L - 1;
      let v = src[row + t * F + f];
      if (mode === 'mean') {
        let s = 0;
        for (let k = 0; k < L; k++) s += src[row + k * F + f];
        v = s / L;
      } else if (mode === 'max') {
        t = 0;
        v = src[row + f];
        for (let k = 1; k < L; k++) {
          if (src[row + k * F + f] > v) {
            v = src[row + k * F + f];
            t = k;
          }
        }
      }
      out[b * F + f] = v;
      if (from) from[b * F + f] = t;
    }
  }
  const y = new Tensor(out, [B, F]);
  recordSingleOutput(`poolSequence(${mode})`, [x], y, (g) => {
    const gd = denseData(g);
    const dx = new Float32Array(B * T * F);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        const v = gd[b * F + f];
        if (from) dx[(b * T + from[b * F + f]) * F + f] = v;
        else for (let k = 0; k < lens[b]; k++) dx[(b * T + k) * F + f] = v / lens[b];
      }
    }
    return [new Tensor(dx, x.shape)];
  });
  return y;
}

/** Per-call options of {@link SequencePooling}. */
export interface SequencePoolingCallOptions {
  /** Valid steps per sequence; later steps are ignored. @default every step */
  lengths?: Lengths;
}

const CALL_OPTION_KEYS = [...optionKeys<SequencePoolingCallOptions>({ lengths: true }), ...CALL_CONTEXT_KEYS];

/**
 * ONNX for pooling over each sequence's real steps: 'last' gathers step
 * L_b − 1 (GatherND over the batch), 'mean' sums the masked steps and
 * divides by L_b, 'max' reduces with padded steps at −∞.
 */
function lowerPooling(layer: SequencePooling, input: OnnxValue, ctx: OnnxLoweringContext): OnnxValue {
  const g = ctx.graph;
  const x = batchMajor(input, g).name;
  const out = (name: string): OnnxValue => ({ name, timeMajor: false });
  if (layer.mode === 'last') {
    if (!ctx.lengths) return out(g.op('Gather', [x, g.scalar('last', -1, 'int64')], [onnxAttribute.int('axis', 1)]));
    const last = g.op('Sub', [g.op('Cast', [ctx.lengths], [onnxAttribute.int('to', ONNX_INT64)]), g.scalar('one', 1, 'int64')]);
    return out(g.op('GatherND', [x, g.op('Unsqueeze', [last, g.int64s('axes', [1])])], [onnxAttribute.int('batch_dims', 1)]));
  }
  const overTime = (op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax', value: string): string => reduceOnnx(g, op, value, [1], ctx.opset);
  if (!ctx.lengths) return out(overTime(layer.mode === 'mean' ? 'ReduceMean' : 'ReduceMax', x));
  const mask = g.op('Unsqueeze', [stepMask(g, x, ctx.lengths), g.int64s('axes', [2])]);
  if (layer.mode === 'max') return out(overTime('ReduceMax', g.op('Where', [mask, x, g.scalar('minus_inf', -Infinity, 'float')])));
  const sum = overTime('ReduceSum', g.op('Mul', [x, g.op('Cast', [mask], [onnxAttribute.int('to', ONNX_FLOAT)])]));
  const count = g.op('Unsqueeze', [g.op('Cast', [ctx.lengths], [onnxAttribute.int('to', ONNX_FLOAT)]), g.int64s('axes', [1])]);
  return out(g.op('Div', [sum, count]));
}

/** `poolSequence` as a module, for model graphs: forward(x, { lengths }) → [batch, features]. */
export class SequencePooling extends Module {
  /** How the steps are pooled. */
  readonly mode: PoolingMode;

  /**
   * @param opts - {@link SequencePoolingOptions}.
   */
  constructor(opts: SequencePoolingOptions) {
    super();
    this.mode = checkOneOf('mode', checkOptions('options', opts, SEQUENCE_POOLING_OPTION_KEYS).mode, MODES);
  }

  /**
   * The sequences pooled over time, [batch, features].
   * @param x - The sequences, [batch, time, features].
   * @param opts - {@link SequencePoolingCallOptions}.
   * @throws {@link ShapeError} when `x` is not 3-D or `lengths` does not match it.
   */
  forward(x: Tensor, opts: SequencePoolingCallOptions = {}): Tensor {
    return pool(x, this.mode, checkOptions('options', opts, CALL_OPTION_KEYS).lengths, this.toString());
  }

  /** The constructor options, for `eddy.layerToConfig`. */
  toConfig(): SequencePoolingOptions {
    return { mode: this.mode };
  }

  /**
   * Builds the layer from `toConfig()`'s output.
   * @param config - The layer's config.
   */
  static fromConfig(config: SequencePoolingOptions): SequencePooling {
    return new SequencePooling(config);
  }

  toString(): string {
    return `SequencePooling(mode='${this.mode}')`;
  }
}

registerLayer<SequencePooling>('SequencePooling', {
  layerClass: SequencePooling,
  fromConfig: (c) => SequencePooling.fromConfig(c as never),
  parameterBound: () => 0,
  perStep: false,
  onnx: lowerPooling,
  // The pooled vectors have no time axis.
  lengths: (_layer, inputs) => ({ call: inputs[0], output: () => undefined }),
});
