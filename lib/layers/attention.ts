/**
 * Attention over RNN outputs: additive (Bahdanau) and dot / general
 * (Luong). Each returns the context vectors and the attention weights, so
 * users can plot what the model looked at. Padded keys (from `lengths`) are
 * masked with −∞ before the softmax and so get a weight of exactly 0.
 */
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError } from '../errors';
import { CALL_CONTEXT_KEYS, Module } from '../nn/module';
import { mul } from '../ops/arithmetic';
import { additiveScore } from '../ops/additive-score';
import { bmm } from '../ops/bmm';
import { checkLengths, Lengths } from '../ops/lengths';
import { softmax } from '../ops/softmax';
import { reshape } from '../ops/views';
import { Generator } from '../random';
import { checkTensor, denseData, Tensor } from '../tensor/tensor';
import { checkBoolean, checkGenerator, checkInteger, checkOptions, fail, formatShape, optionKeys } from '../validate';
import { Linear, linearOnnx as project } from './linear';
import { registerLayer } from '../nn/registry';
import { positive } from '../nn/registry';
import { batchMajor, onnxAttribute, onnxError, OnnxGraph, OnnxLowering, ONNX_FLOAT, stepMask } from '../nn/onnx-lowering';

/** Per-call options of an attention layer. */
export interface AttentionCallOptions {
  /** Valid keys per sequence (1 ≤ L_b ≤ keys' time); later keys get weight 0. @default all keys are valid */
  lengths?: Lengths;
  /** The call's mode, passed by containers with every call; attention has no training-only behaviour. @default the layer's `training` flag */
  training?: boolean;
}

/** The keys of AttentionCallOptions, for checkOptions. */
export const ATTENTION_CALL_OPTION_KEYS = optionKeys<AttentionCallOptions>({ lengths: true, training: true });

/** What an attention layer's `forward` returns. */
export interface AttentionOutput {
  /** Weighted sums of the values: [batch, queryTime, valueSize], or [batch, valueSize] for a 2-D query. */
  context: Tensor;
  /** Softmax over the keys: [batch, queryTime, keyTime], or [batch, keyTime] for a 2-D query; rows sum to 1. */
  weights: Tensor;
}

/** The options of {@link AdditiveAttention}. */
export interface AdditiveAttentionOptions {
  /** Features of each query vector. */
  querySize: number;
  /** Features of each key vector. */
  keySize: number;
  /** Width of the hidden layer inside the score. */
  hiddenSize: number;
  /** Add a learned bias (`key_proj.bias`) inside the tanh. @default true */
  bias?: boolean;
  /** Random source for the initial weights. @default the global generator */
  generator?: Generator;
}

/** The keys of AdditiveAttentionOptions, for checkOptions. */
export const ADDITIVE_ATTENTION_OPTION_KEYS = optionKeys<AdditiveAttentionOptions>({ querySize: true, keySize: true, hiddenSize: true, bias: true, generator: true });

/** The options of {@link GeneralAttention}. */
export interface GeneralAttentionOptions {
  /** Features of each query vector. */
  querySize: number;
  /** Features of each key vector. */
  keySize: number;
  /** Random source for the initial weights. @default the global generator */
  generator?: Generator;
}

/** The keys of GeneralAttentionOptions, for checkOptions. */
export const GENERAL_ATTENTION_OPTION_KEYS = optionKeys<GeneralAttentionOptions>({ querySize: true, keySize: true, generator: true });

/** The options of {@link DotAttention}. */
export interface DotAttentionOptions {
  /** Divide scores by √(features), as in scaled dot-product attention; Luong's dot score is unscaled. @default false */
  scale?: boolean;
}

/** The keys of DotAttentionOptions, for checkOptions. */
export const DOT_ATTENTION_OPTION_KEYS = optionKeys<DotAttentionOptions>({ scale: true });

/** The serializable options of the attention layers (no generator: weights travel separately). */
export type AdditiveAttentionConfig = Required<Omit<AdditiveAttentionOptions, 'generator'>>;
/** The serializable options of a {@link GeneralAttention} layer. */
export type GeneralAttentionConfig = Required<Omit<GeneralAttentionOptions, 'generator'>>;
/** The serializable options of a {@link DotAttention} layer. */
export type DotAttentionConfig = Required<DotAttentionOptions>;

/** The shared part: checks, masking, softmax over keys and the weighted sum of values. */
abstract class Attention extends Module {
  /**
   * Attends from query [batch, queryTime, querySize] (or [batch, querySize]
   * for a single step) over keys [batch, keyTime, keySize]; values
   * [batch, keyTime, valueSize] default to the keys.
   * @param query - [batch, queryTime, querySize], or [batch, querySize].
   * @param keys - [batch, keyTime, keySize].
   * @param values - [batch, keyTime, valueSize]; the keys when omitted.
   * @param opts - {@link AttentionCallOptions}.
   * @throws {@link ShapeError} when the shapes or lengths do not fit.
   */
  forward(query: Tensor, keys: Tensor, values?: Tensor, opts?: AttentionCallOptions): AttentionOutput;
  /**
   * Attends over keys that are also the values.
   * @param query - [batch, queryTime, querySize], or [batch, querySize].
   * @param keys - [batch, keyTime, keySize], also the values.
   * @param opts - {@link AttentionCallOptions}.
   */
  forward(query: Tensor, keys: Tensor, opts?: AttentionCallOptions): AttentionOutput;
  forward(query: Tensor, keys: Tensor, valuesOrOpts?: Tensor | AttentionCallOptions, opts?: AttentionCallOptions): AttentionOutput {
    const optsGiven = !(valuesOrOpts instanceof Tensor) && valuesOrOpts !== undefined && valuesOrOpts !== null;
    if (optsGiven && opts !== undefined) fail('Tensor', 'values', valuesOrOpts);
    const o = checkOptions('options', optsGiven ? (valuesOrOpts as AttentionCallOptions) : opts, [...ATTENTION_CALL_OPTION_KEYS, ...CALL_CONTEXT_KEYS]);
    const values = optsGiven ? undefined : ((valuesOrOpts ?? undefined) as Tensor | undefined);

    const q = checkTensor('query', query);
    const qSize = this.querySize ?? q.shape[q.rank - 1];
    if ((q.rank !== 2 && q.rank !== 3) || q.shape[q.rank - 1] !== qSize) {
      const f = this.querySize ?? 'features';
      throw new ShapeError(`Expected query of shape [batch, ${f}] or [batch, time, ${f}] for ${this.toString()} but received ${formatShape(q.shape)}`);
    }
    const B = q.shape[0];
    const k = checkTensor('keys', keys);
    const kSize = this.keySize ?? qSize;
    if (k.rank !== 3 || k.shape[0] !== B || k.shape[2] !== kSize) {
      throw new ShapeError(`Expected keys of shape [${B}, time, ${kSize}] for ${this.toString()} but received ${formatShape(k.shape)}`);
    }
    const Tk = k.shape[1];
    const v = values === undefined ? k : checkTensor('values', values);
    if (v.rank !== 3 || v.shape[0] !== B || v.shape[1] !== Tk) {
      throw new ShapeError(`Expected values of shape [${B}, ${Tk}, features] for ${this.toString()} but received ${formatShape(v.shape)}`);
    }
    const lengths = checkLengths(o.lengths, B, Tk);

    const q3 = q.rank === 3 ? q : reshape(q, [B, 1, qSize]);
    let scores = this.score(q3, k);
    if (lengths) scores = maskKeys(scores, lengths);
    const weights = softmax(scores, -1);
    const context = bmm(weights, v);
    if (q.rank === 3) return { context, weights };
    return { context: reshape(context, [B, v.shape[2]]), weights: reshape(weights, [B, Tk]) };
  }

  /** The query features this layer takes, or null for any (matching the keys). */
  abstract get querySize(): number | null;
  /** The key features this layer takes, or null for the query's. */
  abstract get keySize(): number | null;
  /** Unnormalized scores [batch, queryTime, keyTime]. */
  protected abstract score(query: Tensor, keys: Tensor): Tensor;
}

/** scores[b, i, t] for t ≥ lengths[b] set to −∞; their gradient is 0. */
function maskKeys(scores: Tensor, lengths: Int32Array): Tensor {
  const [B, Tq, Tk] = scores.shape;
  const fill = (data: Float32Array, value: number): Float32Array => {
    for (let b = 0; b < B; b++) for (let i = 0; i < Tq; i++) data.fill(value, (b * Tq + i) * Tk + lengths[b], (b * Tq + i + 1) * Tk);
    return data;
  };
  const y = new Tensor(fill(scores.toFloat32Array(), -Infinity), scores.shape);
  recordSingleOutput('maskKeys', [scores], y, (g) => [new Tensor(fill(denseData(g).slice(), 0), scores.shape)]);
  return y;
}


/**
 * Bahdanau's additive attention: score(q, k) = vᵀ tanh(W_q q + W_k k + b),
 * with `query_proj.weight` W_q [hiddenSize, querySize], `key_proj.weight`
 * W_k [hiddenSize, keySize], `key_proj.bias` b and `v.weight` [1, hiddenSize].
 * One bias suffices: a second inside the tanh would be redundant, and one on
 * the score would cancel in the softmax.
 */
export class AdditiveAttention extends Attention {
  /** W_q, the query projection (`query_proj`). */
  readonly queryProj: Linear;
  /** W_k and b, the key projection (`key_proj`). */
  readonly keyProj: Linear;
  /** v, the score vector (`v`). */
  readonly v: Linear;
  private readonly sizes: { querySize: number; keySize: number; hiddenSize: number };

  /**
   * @param opts - {@link AdditiveAttentionOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   * @example
   * ```ts
   * const attn = new eddy.AdditiveAttention({ querySize: 64, keySize: 64, hiddenSize: 32 });
   * const { context, weights } = attn.forward(query, keys, values, { lengths });
   * ```
   */
  constructor(opts: AdditiveAttentionOptions) {
    super();
    const o = checkOptions('options', opts, ADDITIVE_ATTENTION_OPTION_KEYS);
    const querySize = checkInteger('querySize', o.querySize, 1);
    const keySize = checkInteger('keySize', o.keySize, 1);
    const hiddenSize = checkInteger('hiddenSize', o.hiddenSize, 1);
    const bias = checkBoolean('bias', o.bias ?? true);
    const generator = checkGenerator('generator', o.generator);
    this.sizes = { querySize, keySize, hiddenSize };
    this.queryProj = new Linear({ inFeatures: querySize, outFeatures: hiddenSize, bias: false, generator });
    this.keyProj = new Linear({ inFeatures: keySize, outFeatures: hiddenSize, bias, generator });
    this.v = new Linear({ inFeatures: hiddenSize, outFeatures: 1, bias: false, generator });
  }

  override children(): [string, Module][] {
    return [['query_proj', this.queryProj], ['key_proj', this.keyProj], ['v', this.v]];
  }

  get querySize(): number {
    return this.sizes.querySize;
  }

  get keySize(): number {
    return this.sizes.keySize;
  }

  /** Width of the hidden layer inside the score. */
  get hiddenSize(): number {
    return this.sizes.hiddenSize;
  }

  protected score(query: Tensor, keys: Tensor): Tensor {
    // vᵀ tanh(W_q q + W_k k + b) for every (query, key) pair, fused natively.
    const v = reshape(this.v.weight.data, [this.sizes.hiddenSize]);
    return additiveScore(this.queryProj.forward(query), this.keyProj.forward(keys), v);
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): AdditiveAttentionConfig {
    return { ...this.sizes, bias: this.keyProj.bias !== null };
  }

  /**
   * Builds the layer from `toConfig()`'s output (fresh weights).
   * @param config - The layer's config.
   */
  static fromConfig(config: AdditiveAttentionConfig): AdditiveAttention {
    return new AdditiveAttention(config);
  }

  toString(): string {
    const { querySize, keySize, hiddenSize } = this.sizes;
    return `AdditiveAttention(querySize=${querySize}, keySize=${keySize}, hiddenSize=${hiddenSize}${this.keyProj.bias ? '' : ', bias=false'})`;
  }
}

/** Luong's dot score: score(q, k) = qᵀk (÷ √features with `scale`); no parameters. */
export class DotAttention extends Attention {
  /** Whether scores are divided by √(features). */
  readonly scale: boolean;

  /**
   * @param opts - {@link DotAttentionOptions}.
   */
  constructor(opts: DotAttentionOptions = {}) {
    super();
    this.scale = checkBoolean('scale', checkOptions('options', opts, DOT_ATTENTION_OPTION_KEYS).scale ?? false);
  }

  get querySize(): null {
    return null;
  }

  get keySize(): null {
    return null;
  }

  protected score(query: Tensor, keys: Tensor): Tensor {
    const s = bmm(query, keys.transpose(1, 2));
    return this.scale ? mul(s, 1 / Math.sqrt(keys.shape[2])) : s;
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): DotAttentionConfig {
    return { scale: this.scale };
  }

  /**
   * Builds the layer from `toConfig()`'s output.
   * @param config - The layer's config.
   */
  static fromConfig(config: DotAttentionConfig): DotAttention {
    return new DotAttention(config);
  }

  toString(): string {
    return `DotAttention(${this.scale ? 'scale=true' : ''})`;
  }
}

/**
 * Luong's general score: score(q, k) = qᵀ W k, computed as (P q)ᵀ k with
 * `query_proj.weight` P = Wᵀ [keySize, querySize] (OpenNMT's `linear_in`),
 * so the keys are used as they are.
 */
export class GeneralAttention extends Attention {
  /** P, the query projection (`query_proj`). */
  readonly queryProj: Linear;
  private readonly sizes: { querySize: number; keySize: number };

  /**
   * @param opts - {@link GeneralAttentionOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   */
  constructor(opts: GeneralAttentionOptions) {
    super();
    const o = checkOptions('options', opts, GENERAL_ATTENTION_OPTION_KEYS);
    const querySize = checkInteger('querySize', o.querySize, 1);
    const keySize = checkInteger('keySize', o.keySize, 1);
    this.sizes = { querySize, keySize };
    this.queryProj = new Linear({ inFeatures: querySize, outFeatures: keySize, bias: false, generator: checkGenerator('generator', o.generator) });
  }

  override children(): [string, Module][] {
    return [['query_proj', this.queryProj]];
  }

  get querySize(): number {
    return this.sizes.querySize;
  }

  get keySize(): number {
    return this.sizes.keySize;
  }

  protected score(query: Tensor, keys: Tensor): Tensor {
    return bmm(this.queryProj.forward(query), keys.transpose(1, 2));
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): GeneralAttentionConfig {
    return { ...this.sizes };
  }

  /**
   * Builds the layer from `toConfig()`'s output (fresh weights).
   * @param config - The layer's config.
   */
  static fromConfig(config: GeneralAttentionConfig): GeneralAttention {
    return new GeneralAttention(config);
  }

  toString(): string {
    return `GeneralAttention(querySize=${this.sizes.querySize}, keySize=${this.sizes.keySize})`;
  }
}

/**
 * ONNX for an attention call on [batch, queryTime, ·] queries: the layer's
 * scores, padded keys set to −∞ (a mask from the keys' lengths), Softmax
 * over the keys, MatMul with the values. The weights are the result's
 * `weights` part.
 */
function lowerAttention<M extends Attention>(score: (layer: M, g: OnnxGraph, query: string, keys: string) => string): OnnxLowering<M> {
  return (layer, x, ctx) => {
    const g = ctx.graph;
    const [query, keys, values] = (ctx.inputs ?? [x]).map((v) => batchMajor(v, g).name);
    if (keys === undefined) throw onnxError(`Export needs the query and the keys as inputs of ${layer.toString()}`);
    let scores = score(layer, g, query, keys);
    if (ctx.lengths) scores = g.op('Where', [g.op('Unsqueeze', [stepMask(g, keys, ctx.lengths), g.int64s('axes', [1])]), scores, g.scalar('minus_inf', -Infinity, 'float')]);
    const weights = g.op('Softmax', [scores], [onnxAttribute.int('axis', -1)]);
    return { name: g.op('MatMul', [weights, values ?? keys]), timeMajor: false, parts: { weights: { name: weights, timeMajor: false } } };
  };
}

const keysT = (g: OnnxGraph, keys: string): string => g.op('Transpose', [keys], [onnxAttribute.ints('perm', [0, 2, 1])]);

const lowerDot = lowerAttention<DotAttention>((layer, g, q, k) => {
  const s = g.op('MatMul', [q, keysT(g, k)]);
  if (!layer.scale) return s;
  const features = g.op('Cast', [g.op('Gather', [g.op('Shape', [k]), g.scalar('feature_axis', 2, 'int64')])], [onnxAttribute.int('to', ONNX_FLOAT)]);
  return g.op('Div', [s, g.op('Sqrt', [features])]);
});
const lowerGeneral = lowerAttention<GeneralAttention>((layer, g, q, k) => g.op('MatMul', [project(g, q, layer.queryProj), keysT(g, k)]));
// vᵀ tanh(W_q q + W_k k + b) for every (query, key) pair: [B, Tq, 1, H] + [B, 1, Tk, H] → [B, Tq, Tk].
const lowerAdditive = lowerAttention<AdditiveAttention>((layer, g, q, k) => {
  const sum = g.op('Add', [g.op('Unsqueeze', [project(g, q, layer.queryProj), g.int64s('axes', [2])]), g.op('Unsqueeze', [project(g, k, layer.keyProj), g.int64s('axes', [1])])]);
  return g.op('Squeeze', [project(g, g.op('Tanh', [sum]), layer.v), g.int64s('axes', [3])]);
});

// The keys' lengths mask the scores; context and weights run along the query's time axis.
const attention = { perStep: false, lengths: (_layer: Module, inputs: readonly (Int32Array | undefined)[]) => ({ call: inputs[1], output: () => inputs[0] }) };
registerLayer<AdditiveAttention>('AdditiveAttention', { ...attention, layerClass: AdditiveAttention, fromConfig: (c) => AdditiveAttention.fromConfig(c as never), parameterBound: (c) => (positive(c.querySize) + positive(c.keySize) + 1) * positive(c.hiddenSize), onnx: lowerAdditive });
registerLayer<DotAttention>('DotAttention', { ...attention, layerClass: DotAttention, fromConfig: (c) => DotAttention.fromConfig(c as never), parameterBound: () => 0, onnx: lowerDot });
registerLayer<GeneralAttention>('GeneralAttention', { ...attention, layerClass: GeneralAttention, fromConfig: (c) => GeneralAttention.fromConfig(c as never), parameterBound: (c) => positive(c.querySize) * positive(c.keySize), onnx: lowerGeneral });
