import { add } from '../ops/arithmetic';
import { matmul } from '../ops/matmul';
import { reshape } from '../ops/views';
import { ShapeError } from '../errors';
import { Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { Generator } from '../random';
import { checkTensor, Tensor } from '../tensor/tensor';
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
   * x·Wᵀ + b over the last axis.
   * @param input - A tensor [..., inFeatures].
   * @throws {@link ShapeError} when the last axis is not `inFeatures`.
   */
  forward(input: Tensor): Tensor {
    const x = checkTensor('input', input);
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(`Expected input of shape [..., ${this.inFeatures}] for ${this.toString()} but received ${formatShape(x.shape)}`);
    }
    const lead = x.shape.slice(0, -1);
    let y = matmul(x.rank === 2 ? x : reshape(x, [-1, this.inFeatures]), this.weight.data.T);
    if (this.bias) y = add(y, this.bias.data);
    return x.rank === 2 ? y : reshape(y, [...lead, this.outFeatures]);
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
