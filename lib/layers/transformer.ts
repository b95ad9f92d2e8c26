/**
 * Transformer encoder layers and their stack, PyTorch's
 * `nn.TransformerEncoderLayer` / `nn.TransformerEncoder` with their
 * parameter names (`self_attn.*`, `linear1`, `linear2`, `norm1`, `norm2`;
 * `layers.0.…` and `norm` in a stack), post-norm by default and pre-norm
 * with `normFirst`. The decoder side is in `transformer-decoder.ts`.
 */
import { ShapeError } from '../errors';
import { CALL_CONTEXT_KEYS, Module } from '../nn/module';
import { positive, registerLayer, ConfigObject } from '../nn/registry';
import { add } from '../ops/arithmetic';
import { Lengths } from '../ops/lengths';
import { gelu, relu } from '../ops/unary';
import { Generator } from '../random';
import { checkTensor, Tensor } from '../tensor/tensor';
import { checkBoolean, checkGenerator, checkInteger, checkNumber, checkOneOf, checkOptions, fail, formatShape, optionKeys } from '../validate';
import { AttentionMaskValue } from './attention-masks';
import { Dropout } from './dropout';
import { LayerNorm } from './layer-norm';
import { Linear, linearOnnx } from './linear';
import { MultiHeadAttention, multiHeadAttentionOnnx, OnnxAttentionMasks } from './multi-head-attention';
import { batchMajor, checkOnnxBatchFirst, geluOnnx, lowerLayer, onnxError, OnnxGraph, OnnxLowering, OnnxValue } from '../nn/onnx-lowering';

/** The options of {@link TransformerEncoderLayer} and {@link TransformerDecoderLayer}. */
export interface TransformerLayerOptions {
  /** Model width (features in and out). */
  dModel: number;
  /** Attention heads; must divide dModel. */
  nhead: number;
  /** Width of the feed-forward block. @default 2048 */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block, and on the attention weights. @default 0.1 */
  dropout?: number;
  /** The feed-forward activation. @default 'relu' */
  activation?: 'relu' | 'gelu';
  /** LayerNorm epsilon. @default 1e-5 */
  layerNormEps?: number;
  /** Inputs and outputs are [batch, time, dModel]; false for [time, batch, dModel]. @default true */
  batchFirst?: boolean;
  /** Normalize before each block (pre-norm) instead of after the residual sum. @default false */
  normFirst?: boolean;
  /** Random source for initial weights and dropout. @default the global generator */
  generator?: Generator;
}

/** The keys of TransformerLayerOptions, for checkOptions. */
export const TRANSFORMER_LAYER_OPTION_KEYS = optionKeys<TransformerLayerOptions>({
  dModel: true, nhead: true, dimFeedforward: true, dropout: true, activation: true, layerNormEps: true, batchFirst: true, normFirst: true, generator: true,
});

/** The serializable options of a transformer layer (no generator). */
export type TransformerLayerConfig = Required<Omit<TransformerLayerOptions, 'generator'>>;

/** Checked options with defaults applied. */
export function transformerLayerConfig(opts: TransformerLayerOptions): TransformerLayerConfig & { generator: Generator } {
  const o = checkOptions('options', opts, TRANSFORMER_LAYER_OPTION_KEYS);
  const dropout = checkNumber('dropout', o.dropout ?? 0.1, { min: 0, max: 1 });
  if (dropout === 1) fail('a number in [0, 1)', 'dropout', dropout);
  return {
    dModel: checkInteger('dModel', o.dModel, 1),
    nhead: checkInteger('nhead', o.nhead, 1),
    dimFeedforward: checkInteger('dimFeedforward', o.dimFeedforward ?? 2048, 1),
    dropout,
    activation: checkOneOf('activation', o.activation ?? 'relu', ['relu', 'gelu'] as const),
    layerNormEps: checkNumber('layerNormEps', o.layerNormEps ?? 1e-5, { min: 0 }),
    batchFirst: checkBoolean('batchFirst', o.batchFirst ?? true),
    normFirst: checkBoolean('normFirst', o.normFirst ?? false),
    generator: checkGenerator('generator', o.generator),
  };
}

/** The pieces every transformer layer has: its attention(s), the feed-forward block and the norms. */
export abstract class TransformerLayerBase extends Module {
  /** The layer's options, defaults applied. */
  readonly config: TransformerLayerConfig;
  /** The self-attention (`self_attn`). */
  readonly selfAttn: MultiHeadAttention;
  /** The feed-forward network's first layer (`linear1`). */
  readonly linear1: Linear;
  /** The feed-forward network's second layer (`linear2`). */
  readonly linear2: Linear;
  protected readonly drop: Dropout;
  protected readonly generator: Generator;

  protected constructor(opts: TransformerLayerOptions) {
    super();
    const { generator, ...config } = transformerLayerConfig(opts);
    this.config = config;
    this.generator = generator;
    const { dModel, nhead, dimFeedforward, dropout, batchFirst } = config;
    this.selfAttn = new MultiHeadAttention({ embedDim: dModel, numHeads: nhead, dropout, batchFirst, generator });
    this.linear1 = new Linear({ inFeatures: dModel, outFeatures: dimFeedforward, generator });
    this.linear2 = new Linear({ inFeatures: dimFeedforward, outFeatures: dModel, generator });
    this.drop = new Dropout({ p: dropout, generator });
  }

  protected norm(): LayerNorm {
    return new LayerNorm({ normalizedShape: this.config.dModel, eps: this.config.layerNormEps });
  }

  /** Dropout in training calls. */
  protected dropout(x: Tensor, training: boolean): Tensor {
    return this.drop.forward(x, { training });
  }

  /** linear2(dropout(act(linear1(x)))), dropped out. */
  protected feedForward(x: Tensor, training: boolean): Tensor {
    const act = this.config.activation === 'gelu' ? gelu : relu;
    return this.dropout(this.linear2.forward(this.dropout(act(this.linear1.forward(x)), training)), training);
  }

  /**
   * The residual wiring: with normFirst x + block(norm(x)) for each block,
   * otherwise norm(x + block(x)).
   */
  protected residual(x: Tensor, blocks: readonly ((y: Tensor) => Tensor)[], norms: readonly LayerNorm[]): Tensor {
    let h = x;
    blocks.forEach((block, i) => {
      h = this.config.normFirst ? add(h, block(norms[i].forward(h))) : norms[i].forward(add(h, block(h)));
    });
    return h;
  }

  /** Expects [batch, time, dModel] (or time-major) input. */
  protected checkSequence(name: string, t: Tensor): Tensor {
    const x = checkTensor(name, t);
    if (x.rank !== 3 || x.shape[2] !== this.config.dModel) {
      const bt = this.config.batchFirst ? 'batch, time' : 'time, batch';
      throw new ShapeError(`Expected ${name} of shape [${bt}, ${this.config.dModel}] for ${this.toString()} but received ${formatShape(x.shape)}`);
    }
    return x;
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): TransformerLayerConfig {
    return { ...this.config };
  }

  /**
   * `residual` in an ONNX graph on a batch-major value: each block's
   * nodes, the Add and the LayerNormalization, in the order normFirst says.
   * Dropout is a training-time op and has no nodes.
   * @internal
   */
  residualOnnx(g: OnnxGraph, x: string, blocks: readonly ((y: string) => string)[], norms: readonly LayerNorm[], opset: number): string {
    checkOnnxBatchFirst(this, this.config.batchFirst);
    if (opset < 17) throw onnxError(`ONNX has LayerNormalization from opset 17; ${this.toString()} cannot be exported at opset ${opset}`);
    const norm = (i: number, y: string): string => lowerLayer(norms[i], { name: y, timeMajor: false }, { graph: g, lengths: '', opset }).name;
    let h = x;
    blocks.forEach((block, i) => {
      h = this.config.normFirst ? g.op('Add', [h, block(norm(i, h))]) : norm(i, g.op('Add', [h, block(h)]));
    });
    return h;
  }

  /** `feedForward` in an ONNX graph: linear2(act(linear1(y))), GELU in its exact Erf form. @internal */
  feedForwardOnnx(g: OnnxGraph, y: string): string {
    const hidden = linearOnnx(g, y, this.linear1);
    return linearOnnx(g, this.config.activation === 'gelu' ? geluOnnx(g, hidden) : g.op('Relu', [hidden]), this.linear2);
  }

  protected describe(name: string): string {
    const c = this.config;
    return `${name}(dModel=${c.dModel}, nhead=${c.nhead}, dimFeedforward=${c.dimFeedforward}, dropout=${c.dropout}, activation=${c.activation}${c.normFirst ? ', normFirst=true' : ''}${c.batchFirst ? '' : ', batchFirst=false'})`;
  }
}

/** Per-call options of `TransformerEncoderLayer.forward` and `TransformerEncoder.forward`. */
export interface TransformerEncoderCallOptions {
  /** Mask over (query, key) pairs, [T, T] or [batch·nhead, T, T]: a float tensor added to the scores or nested booleans (true = not allowed). @default none */
  mask?: AttentionMaskValue | null;
  /** Padding keys per sequence, [batch, T] (float added, or booleans true = padding). @default none */
  srcKeyPaddingMask?: AttentionMaskValue | null;
  /** Valid steps per sequence: later keys are ignored (the fast form of srcKeyPaddingMask). @default all */
  lengths?: Lengths | null;
  /** Causal self-attention (step t sees steps ≤ t). @default false */
  isCausal?: boolean;
  /** The call's mode (dropout in training). @default the layer's `training` flag */
  training?: boolean;
}

/** The keys of TransformerEncoderCallOptions, for checkOptions. */
export const TRANSFORMER_ENCODER_CALL_OPTION_KEYS = [
  ...optionKeys<TransformerEncoderCallOptions>({ mask: true, srcKeyPaddingMask: true, lengths: true, isCausal: true, training: true }),
  ...CALL_CONTEXT_KEYS,
];

/**
 * Self-attention and a feed-forward block, each with dropout, a residual
 * connection and a LayerNorm. Padded positions (beyond `lengths`) are
 * computed like PyTorch computes them; they never influence real ones.
 */
export class TransformerEncoderLayer extends TransformerLayerBase {
  /** The normalization around the self-attention (`norm1`). */
  readonly norm1: LayerNorm;
  /** The normalization around the feed-forward network (`norm2`). */
  readonly norm2: LayerNorm;

  /**
   * @param opts - {@link TransformerLayerOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   */
  constructor(opts: TransformerLayerOptions) {
    super(opts);
    this.norm1 = this.norm();
    this.norm2 = this.norm();
  }

  override children(): [string, Module][] {
    return [['self_attn', this.selfAttn], ['linear1', this.linear1], ['linear2', this.linear2], ['norm1', this.norm1], ['norm2', this.norm2]];
  }

  /**
   * src [batch, time, dModel] → same shape.
   * @param src - The sequences, [batch, time, dModel] ([time, batch, dModel] when not batchFirst).
   * @param opts - {@link TransformerEncoderCallOptions}.
   */
  forward(src: Tensor, opts?: TransformerEncoderCallOptions): Tensor {
    const o = checkOptions('options', opts, TRANSFORMER_ENCODER_CALL_OPTION_KEYS);
    const x = this.checkSequence('src', src);
    const training = this.modeOf(o.training);
    const attend = (y: Tensor): Tensor =>
      this.dropout(
        this.selfAttn.forward(y, { attnMask: o.mask, keyPaddingMask: o.srcKeyPaddingMask, lengths: o.lengths, isCausal: o.isCausal, needWeights: false, training }).output,
        training,
      );
    return this.residual(x, [attend, (y) => this.feedForward(y, training)], [this.norm1, this.norm2]);
  }

  /**
   * This layer in an ONNX graph on a batch-major x [B, T, dModel], its self-attention masked by `masks`.
   * @internal
   */
  toOnnx(g: OnnxGraph, x: string, masks: OnnxAttentionMasks, opset: number): string {
    const attend = (y: string): string => multiHeadAttentionOnnx(this.selfAttn, g, y, y, y, masks, opset).output;
    return this.residualOnnx(g, x, [attend, (y) => this.feedForwardOnnx(g, y)], [this.norm1, this.norm2], opset);
  }

  /**
   * Builds the layer from `toConfig()`'s output (fresh weights).
   * @param config - The layer's config.
   */
  static fromConfig(config: TransformerLayerConfig): TransformerEncoderLayer {
    return new TransformerEncoderLayer(config);
  }

  toString(): string {
    return this.describe('TransformerEncoderLayer');
  }
}

/**
 * How many layers a {@link TransformerEncoder} or {@link TransformerDecoder} stacks, and its final
 * normalization.
 */
export interface TransformerStackOptions {
  /** How many copies of the layer. */
  numLayers: number;
  /** A final LayerNorm after the last layer (`norm.*`), as pre-norm stacks use. @default false */
  norm?: boolean;
}

/** The keys of TransformerStackOptions, for checkOptions. */
export const TRANSFORMER_STACK_OPTION_KEYS = optionKeys<TransformerStackOptions>({ numLayers: true, norm: true });

/** The serializable options of a stack: its layers' options plus numLayers and norm. */
export type TransformerStackConfig = TransformerLayerConfig & Required<TransformerStackOptions>;

/** The options of a {@link TransformerEncoder} stack: {@link TransformerStackOptions} and its attention's direction. */
export interface TransformerEncoderOptions extends TransformerStackOptions {
  /**
   * Causal self-attention by default (step t sees steps ≤ t), as a
   * language model needs: calls without `isCausal`, and every call a
   * model makes, are causal. @default false
   */
  causal?: boolean;
}

/** The keys of TransformerEncoderOptions, for checkOptions. */
export const TRANSFORMER_ENCODER_OPTION_KEYS = optionKeys<TransformerEncoderOptions>({ numLayers: true, norm: true, causal: true });

/** The serializable options of a {@link TransformerEncoder}: the stack's plus `causal`. */
export type TransformerEncoderConfig = TransformerStackConfig & Required<Pick<TransformerEncoderOptions, 'causal'>>;

/**
 * `numLayers` layers built like the first (fresh weights each: PyTorch
 * copies the first layer's) and an optional final LayerNorm, under
 * PyTorch's names `layers.0.…` and `norm`.
 */
export abstract class TransformerStack<L extends TransformerLayerBase> extends Module {
  /** The stacked layers, in calling order. */
  readonly layers: L[];
  /** The final normalization, or null. */
  readonly norm: LayerNorm | null;

  protected constructor(private readonly name: string, layer: L | TransformerLayerOptions, opts: TransformerStackOptions, make: (o: TransformerLayerOptions) => L) {
    super();
    const o = checkOptions('options', opts, TRANSFORMER_STACK_OPTION_KEYS);
    const numLayers = checkInteger('numLayers', o.numLayers, 1);
    const first = layer instanceof TransformerLayerBase ? layer : make(layer);
    this.layers = [first];
    for (let i = 1; i < numLayers; i++) this.layers.push(make(first.toConfig()));
    this.norm = checkBoolean('norm', o.norm ?? false) ? new LayerNorm({ normalizedShape: first.config.dModel, eps: first.config.layerNormEps }) : null;
  }

  override children(): [string, Module][] {
    const out: [string, Module][] = this.layers.map((l, i) => [`layers.${i}`, l]);
    if (this.norm) out.push(['norm', this.norm]);
    return out;
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): TransformerStackConfig {
    return { ...this.layers[0].toConfig(), numLayers: this.layers.length, norm: this.norm !== null };
  }

  toString(): string {
    return `${this.name}(numLayers=${this.layers.length}, layer=${this.layers[0].toString()}${this.norm ? ', norm=true' : ''})`;
  }
}

/** Splits a stack's config into the layer's options and the stack's. */
export function splitStackConfig(config: TransformerStackConfig): [TransformerLayerOptions, TransformerStackOptions] {
  const { numLayers, norm, ...layer } = config;
  return [layer, { numLayers, norm }];
}

/**
 * A stack of encoder layers (PyTorch's `nn.TransformerEncoder`):
 * `new TransformerEncoder(layerOrOptions, { numLayers, norm })`. Each layer
 * starts from fresh weights (PyTorch copies the first layer's).
 */
export class TransformerEncoder extends TransformerStack<TransformerEncoderLayer> {
  /** Whether calls without `isCausal` (every call a model makes) are causal. */
  readonly causal: boolean;

  /**
   * @param layer - A layer to copy `numLayers` times (fresh weights), or the layers' options.
   * @param opts - {@link TransformerEncoderOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   * @example
   * ```ts
   * const encoder = new eddy.TransformerEncoder({ dModel: 64, nhead: 4 }, { numLayers: 2 });
   * const y = encoder.forward(x, { lengths }); // [batch, time, 64]
   * // A language model's stack: causal in every call, inside sequential() and graphs too.
   * const causal = new eddy.TransformerEncoder({ dModel: 64, nhead: 4 }, { numLayers: 2, causal: true });
   * ```
   */
  constructor(layer: TransformerEncoderLayer | TransformerLayerOptions, opts: TransformerEncoderOptions) {
    const { causal, ...stack } = checkOptions('options', opts, TRANSFORMER_ENCODER_OPTION_KEYS) as TransformerEncoderOptions;
    super('TransformerEncoder', layer, stack, (o) => new TransformerEncoderLayer(o));
    this.causal = checkBoolean('causal', causal ?? false);
  }

  /**
   * src [batch, time, dModel] through every layer (same options each), then the final norm.
   * @param src - The sequences, [batch, time, dModel] ([time, batch, dModel] when not batchFirst).
   * @param opts - {@link TransformerEncoderCallOptions}; `isCausal` defaults to the stack's `causal`.
   */
  forward(src: Tensor, opts?: TransformerEncoderCallOptions): Tensor {
    const o = checkOptions('options', opts, TRANSFORMER_ENCODER_CALL_OPTION_KEYS);
    const call = { ...o, isCausal: o.isCausal ?? this.causal };
    let x = src;
    for (const layer of this.layers) x = layer.forward(x, call);
    return this.norm ? this.norm.forward(x) : x;
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  override toConfig(): TransformerEncoderConfig {
    return { ...super.toConfig(), causal: this.causal };
  }

  /**
   * Builds the encoder from `toConfig()`'s output (fresh weights).
   * @param config - The encoder's config (files written before `causal` existed load as non-causal).
   */
  static fromConfig(config: TransformerEncoderConfig): TransformerEncoder {
    const { causal, ...rest } = config;
    const [layer, stack] = splitStackConfig(rest);
    return new TransformerEncoder(layer, { ...stack, causal });
  }

  /** The stack as `TransformerEncoder(numLayers=…, layer=…)`, with `causal=true` when it is causal. */
  override toString(): string {
    return this.causal ? super.toString().replace(/\)$/, ', causal=true)') : super.toString();
  }
}

/** The final norm of a stack in an ONNX graph, when it has one. */
export function stackNormOnnx(norm: LayerNorm | null, g: OnnxGraph, x: string, opset: number): string {
  return norm ? lowerLayer(norm, { name: x, timeMajor: false }, { graph: g, lengths: '', opset }).name : x;
}

/** A model's call of an encoder layer or stack in ONNX: self-attention masked by the call's lengths (and causal as the stack says). */
function lowerEncoder(layers: (l: Module) => { layers: TransformerEncoderLayer[]; norm: LayerNorm | null; causal: boolean }): OnnxLowering<Module> {
  return (layer, x, ctx): OnnxValue => {
    const { layers: stack, norm, causal } = layers(layer);
    const opset = ctx.opset ?? 17;
    let h = batchMajor(x, ctx.graph).name;
    for (const l of stack) h = l.toOnnx(ctx.graph, h, { keyLengths: ctx.lengths, causal }, opset);
    return { name: stackNormOnnx(norm, ctx.graph, h, opset), timeMajor: false };
  };
}

/** Weights of one layer from its config: attention 4·d², feed-forward 2·d·ff (biases and gains left out). */
export function transformerLayerBound(c: ConfigObject, attentions: number): number {
  const d = positive(c.dModel);
  return attentions * 4 * d * d + 2 * d * (positive(c.dimFeedforward) || 2048);
}

registerLayer('TransformerEncoderLayer', {
  layerClass: TransformerEncoderLayer,
  fromConfig: (c) => TransformerEncoderLayer.fromConfig(c as never),
  parameterBound: (c) => transformerLayerBound(c, 1),
  perStep: false,
  onnx: lowerEncoder((l) => ({ layers: [l as TransformerEncoderLayer], norm: null, causal: false })),
});
registerLayer('TransformerEncoder', {
  layerClass: TransformerEncoder,
  fromConfig: (c) => TransformerEncoder.fromConfig(c as never),
  parameterBound: (c) => positive(c.numLayers) * transformerLayerBound(c, 1),
  perStep: false,
  onnx: lowerEncoder((l) => l as TransformerEncoder),
});
