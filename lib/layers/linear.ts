import { record } from '../autograd/tape';
import { binding } from '../native';
import { ShapeError } from '../errors';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { Generator } from '../random';
import { checkTensor, denseData, Tensor, unfilledFloats } from '../tensor/tensor';
import { checkBoolean, checkGenerator, checkInteger, checkOptions, formatShape, optionKeys } from '../validate';
import { registerLayer } from '../nn/registry';
import { batchMajor, OnnxGraph } from '../nn/onnx-lowering';
import { positive } from '../nn/registry';

/** The options of {@link Linear}. */
export interface LinearOptions {
  /** Size of each input's last axis. */
  inFeatures: number;
  /** Size of each output's last axis. */
  outFeatures: number;
  /** Whether to add a learned bias. @default true */
  bias?: boolean;
  /** Random source for the initial weights. @default the global generator */
  generator?: Generator;
}

/** The keys of LinearOptions, for checkOptions. */
export const LINEAR_OPTION_KEYS = optionKeys<LinearOptions>({ inFeatures: true, outFeatures: true, bias: true, generator: true });

/** The serializable options of a Linear layer (no generator: weights travel separately). */
export type LinearConfig = Required<Omit<LinearOptions, 'generator'>>;

/**
 * y = x·Wᵀ + b over the last axis of an input of any rank, so it serves as a
 * per-time-step head on [batch, time, features]. PyTorch's `weight`
 * (out, in) and `bias` (out), initialized from U(−1/√in, 1/√in).
 */
export class Linear extends Module {
  /** Size of each input's last axis. */
  readonly inFeatures: number;
  /** Size of each output's last axis. */
  readonly outFeatures: number;
  /** W, (outFeatures, inFeatures). */
  readonly weight: Parameter;
  /** b, (outFeatures), or null without `bias`. */
  readonly bias: Parameter | null;

  /**
   * @param opts - {@link LinearOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   * @example
   * ```ts
   * const head = new eddy.Linear({ inFeatures: 64, outFeatures: 10 });
   * head.forward(eddy.zeros([32, 20, 64])).shape; // [32, 20, 10]
   * ```
   */
  constructor(opts: LinearOptions) {
    super();
    const o = checkOptions('options', opts, LINEAR_OPTION_KEYS);
    this.inFeatures = checkInteger('inFeatures', o.inFeatures, 1);
    this.outFeatures = checkInteger('outFeatures', o.outFeatures, 1);
    const withBias = checkBoolean('bias', o.bias ?? true);
    const gen = checkGenerator('generator', o.generator);
    const bound = 1 / Math.sqrt(this.inFeatures);
    this.weight = Parameter.zeros([this.outFeatures, this.inFeatures]);
    gen.uniform(this.weight.data.data, -bound, bound);
    this.bias = withBias ? Parameter.zeros([this.outFeatures]) : null;
    if (this.bias) gen.uniform(this.bias.data.data, -bound, bound);
  }

  protected override ownParameters(): [string, Parameter][] {
    return this.bias ? [['weight', this.weight], ['bias', this.bias]] : [['weight', this.weight]];
  }

  /**
   * x·Wᵀ + b over the last axis: one GEMM over all leading positions (the
   * input is read in place, the weight through BLAS's transpose flag), with
   * the bias as its initial C. The backward is two GEMMs and a column sum,
   * one tape node in all; like the recurrent layers, it reads the input and
   * weight as they are when it runs (an optimizer steps after backward).
   * @param input - A tensor [..., inFeatures].
   * @throws {@link ShapeError} when the last axis is not `inFeatures`.
   */
  forward(input: Tensor): Tensor {
    const x = checkTensor('input', input);
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(`Expected input of shape [..., ${this.inFeatures}] for ${this.toString()} but received ${formatShape(x.shape)}`);
    }
    const I = this.inFeatures;
    const O = this.outFeatures;
    const m = x.size / I;
    const xd = denseData(x);
    const W = this.weight.data;
    const wd = denseData(W);
    const b = this.bias?.data ?? null;
    // The GEMM writes every element (over the bias, or with beta 0).
    const out = unfilledFloats(m * O);
    if (b && m > 0) {
      // The bias in every row, doubling the filled prefix: a handful of copies.
      out.set(denseData(b));
      for (let filled = O; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
    }
    if (m > 0) binding.gemm(false, true, m, O, I, 1, xd, 0, I, wd, 0, I, b ? 1 : 0, out, 0, O);
    const y = new Tensor(out, [...x.shape.slice(0, -1), O]);
    record('linear', b ? [x, W, b] : [x, W], [y], ([g]) => {
      const gd = denseData(g as Tensor);
      let dx: Tensor | null = null;
      if (x.requiresGrad) {
        dx = new Tensor(unfilledFloats(m * I), x.shape);
        if (m > 0) binding.gemm(false, false, m, I, O, 1, gd, 0, O, wd, 0, I, 0, dx.data, 0, I);
      }
      let dW: Tensor | null = null;
      if (W.requiresGrad) {
        // Unfilled only where the GEMM (beta 0) writes it: with no rows it stays zero.
        dW = new Tensor(m > 0 ? unfilledFloats(O * I) : new Float32Array(O * I), W.shape);
        if (m > 0) binding.gemm(true, false, O, I, m, 1, gd, 0, O, xd, 0, I, 0, dW.data, 0, I);
      }
      let db: Tensor | null = null;
      if (b?.requiresGrad) {
        // Column sums of the output gradient: dYᵀ·1.
        db = new Tensor(new Float32Array(O), b.shape);
        if (m > 0) binding.gemm(true, false, O, 1, m, 1, gd, 0, O, new Float32Array(m).fill(1), 0, 1, 0, db.data, 0, 1);
      }
      return b ? [dx, dW, db] : [dx, dW];
    }, { freshGradients: true });
    return y;
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): LinearConfig {
    return { inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null };
  }

  /**
   * Builds the layer from `toConfig()`'s output (fresh weights).
   * @param config - The layer's config.
   */
  static fromConfig(config: LinearConfig): Linear {
    return new Linear(config);
  }

  toString(): string {
    return `Linear(inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}${this.bias ? '' : ', bias=false'})`;
  }
}

/** `x · Wᵀ + b` in an ONNX graph (MatMul, then Add when the layer has a bias); returns the result's name. */
export function linearOnnx(graph: OnnxGraph, x: string, layer: Linear): string {
  const y = graph.op('MatMul', [x, graph.floats('weight_t', [layer.inFeatures, layer.outFeatures], layer.weight.data.T.toFloat32Array())]);
  return layer.bias ? graph.op('Add', [y, graph.floats('bias', [layer.outFeatures], layer.bias.data.toFloat32Array())]) : y;
}

registerLayer<Linear>('Linear', {
  layerClass: Linear,
  fromConfig: (c) => Linear.fromConfig(c as never),
  parameterBound: (c) => positive(c.inFeatures) * positive(c.outFeatures),
  perStep: true,
  onnx: (layer, x, { graph }) => ({ name: linearOnnx(graph, batchMajor(x, graph).name, layer), timeMajor: false }),
});
