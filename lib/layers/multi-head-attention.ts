/**
 * Multi-head attention (Vaswani et al.), PyTorch's `nn.MultiheadAttention`
 * with its parameter names and layouts, so state dicts load both ways:
 * `in_proj_weight` [3E, E] and `in_proj_bias` [3E] (or `q_proj_weight`,
 * `k_proj_weight`, `v_proj_weight` when kdim or vdim differ from E), then
 * `out_proj.weight` and `out_proj.bias`. The attention itself is the fused
 * native kernel of `ops/scaled-dot-product-attention.ts`.
 */
import { ShapeError } from '../errors';
import { CALL_CONTEXT_KEYS, Module } from '../nn/module';
import { Parameter } from '../nn/parameter';
import { positive, registerLayer } from '../nn/registry';
import { add } from '../ops/arithmetic';
import { Lengths } from '../ops/lengths';
import { matmul } from '../ops/matmul';
import { scaledDotProductAttention } from '../ops/scaled-dot-product-attention';
import { reshape } from '../ops/views';
import { Generator } from '../random';
import { checkTensor, Tensor } from '../tensor/tensor';
import { checkBoolean, checkGenerator, checkInteger, checkNumber, checkOptions, fail, formatShape, optionKeys } from '../validate';
import { Linear, linearOnnx } from './linear';
import { attentionMasks, AttentionMaskValue } from './attention-masks';
import { axisSize, batchMajor, checkOnnxBatchFirst, onnxAttribute, OnnxGraph, OnnxLowering, reduceOnnx, stepMask } from '../nn/onnx-lowering';

/** The options of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionOptions {
  /** Model width E (query features and output features). */
  embedDim: number;
  /** Number of heads; must divide embedDim. */
  numHeads: number;
  /** Probability of dropping an attention weight in training. @default 0 */
  dropout?: number;
  /** Learn the input and output projection biases. @default true */
  bias?: boolean;
  /** Key features. @default embedDim */
  kdim?: number;
  /** Value features. @default embedDim */
  vdim?: number;
  /** Inputs and output are [batch, time, features]; false for [time, batch, features]. @default true */
  batchFirst?: boolean;
  /** Random source for the initial weights and dropout. @default the global generator */
  generator?: Generator;
}

/** The keys of MultiHeadAttentionOptions, for checkOptions. */
export const MULTI_HEAD_ATTENTION_OPTION_KEYS = optionKeys<MultiHeadAttentionOptions>({
  embedDim: true, numHeads: true, dropout: true, bias: true, kdim: true, vdim: true, batchFirst: true, generator: true,
});

/** The serializable options of a MultiHeadAttention (no generator). */
export type MultiHeadAttentionConfig = Required<Omit<MultiHeadAttentionOptions, 'generator'>>;

/** Per-call options of `MultiHeadAttention.forward`. */
export interface MultiHeadAttentionCallOptions {
  /**
   * Keys to ignore, per sequence: a [batch, keyTime] tensor added to the
   * scores (0 or −∞, PyTorch's float mask) or nested booleans (true =
   * padding, PyTorch's bool mask). Trailing padding runs as `lengths`.
   * @default none
   */
  keyPaddingMask?: AttentionMaskValue | null;
  /** Valid keys per sequence (the fast form of a key padding mask). @default all keys */
  lengths?: Lengths | null;
  /**
   * A mask over (query, key) pairs: [queryTime, keyTime] or
   * [batch·heads, queryTime, keyTime], a float tensor added to the scores
   * or nested booleans (true = not allowed). @default none
   */
  attnMask?: AttentionMaskValue | null;
  /** Hide later keys from each query (key j from query i when j > i). @default false */
  isCausal?: boolean;
  /** Also return the attention weights. @default true (as PyTorch) */
  needWeights?: boolean;
  /** Average the returned weights over heads ([batch, queryTime, keyTime]); false keeps [batch, heads, queryTime, keyTime]. @default true */
  averageAttnWeights?: boolean;
  /** The call's mode (dropout in training). @default the layer's `training` flag */
  training?: boolean;
}

/** The keys of MultiHeadAttentionCallOptions, for checkOptions. */
export const MULTI_HEAD_ATTENTION_CALL_OPTION_KEYS = [
  ...optionKeys<MultiHeadAttentionCallOptions>({
    keyPaddingMask: true, lengths: true, attnMask: true, isCausal: true, needWeights: true, averageAttnWeights: true, training: true,
  }),
  ...CALL_CONTEXT_KEYS,
];

/** What {@link MultiHeadAttention.forward} returns. */
export interface MultiHeadAttentionOutput {
  /** [batch, queryTime, embedDim] ([queryTime, batch, embedDim] when not batchFirst). */
  output: Tensor;
  /** The softmax weights (before dropout) when needWeights, else undefined. */
  weights?: Tensor;
}

/** Heads of one projected input: [B, T, H·D] (or [T, B, H·D]) as a [B, H, T, D] view. */
function splitHeads(x: Tensor, heads: number, batchFirst: boolean): Tensor {
  const [a, b, e] = x.shape;
  const split = reshape(x, [a, b, heads, e / heads]);
  return (batchFirst ? split : split.transpose(0, 1)).transpose(1, 2);
}

/**
 * `output, weights = attention(query, key, value)` over `numHeads` heads:
 * each head attends with its own slice of the projections, the heads are
 * concatenated and projected by `out_proj`. Called with the query alone it
 * is self-attention; with query and key, the key is also the value.
 */
export class MultiHeadAttention extends Module {
  /** Model width E. */
  readonly embedDim: number;
  /** Number of heads. */
  readonly numHeads: number;
  /** Features per head, E / numHeads. */
  readonly headDim: number;
  /** Key features. */
  readonly kdim: number;
  /** Value features. */
  readonly vdim: number;
  /** Probability of dropping an attention weight in training. */
  readonly dropout: number;
  /** Whether inputs and output are [batch, time, features]. */
  readonly batchFirst: boolean;
  /** [3E, E] when kdim = vdim = E, else null. */
  readonly inProjWeight: Parameter | null;
  /** The query projection [E, E] when kdim or vdim differs from E, else null. */
  readonly qProjWeight: Parameter | null;
  /** The key projection [E, kdim] when kdim or vdim differs from E, else null. */
  readonly kProjWeight: Parameter | null;
  /** The value projection [E, vdim] when kdim or vdim differs from E, else null. */
  readonly vProjWeight: Parameter | null;
  /** [3E], or null without bias. */
  readonly inProjBias: Parameter | null;
  /** The output projection (`out_proj`). */
  readonly outProj: Linear;
  private readonly generator: Generator;

  /**
   * @param opts - {@link MultiHeadAttentionOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed (numHeads must divide
   *   embedDim).
   * @example
   * ```ts
   * const mha = new eddy.MultiHeadAttention({ embedDim: 64, numHeads: 4 });
   * const { output } = mha.forward(x, { isCausal: true }); // self-attention over [batch, time, 64]
   * ```
   */
  constructor(opts: MultiHeadAttentionOptions) {
    super();
    const o = checkOptions('options', opts, MULTI_HEAD_ATTENTION_OPTION_KEYS);
    this.embedDim = checkInteger('embedDim', o.embedDim, 1);
    this.numHeads = checkInteger('numHeads', o.numHeads, 1);
    if (this.embedDim % this.numHeads !== 0) fail(`a divisor of embedDim (${this.embedDim})`, 'numHeads', this.numHeads);
    this.headDim = this.embedDim / this.numHeads;
    this.kdim = checkInteger('kdim', o.kdim ?? this.embedDim, 1);
    this.vdim = checkInteger('vdim', o.vdim ?? this.embedDim, 1);
    this.dropout = checkNumber('dropout', o.dropout ?? 0, { min: 0, max: 1 });
    if (this.dropout === 1) fail('a number in [0, 1)', 'dropout', this.dropout);
    const bias = checkBoolean('bias', o.bias ?? true);
    this.batchFirst = checkBoolean('batchFirst', o.batchFirst ?? true);
    this.generator = checkGenerator('generator', o.generator);
    const E = this.embedDim;
    // PyTorch's initialization: Xavier-uniform projections, zero biases.
    const xavier = (rows: number, cols: number, fanOut = rows): Parameter => {
      const p = Parameter.zeros([rows, cols]);
      const bound = Math.sqrt(6 / (cols + fanOut));
      this.generator.uniform(p.data.data, -bound, bound);
      return p;
    };
    const packed = this.kdim === E && this.vdim === E;
    this.inProjWeight = packed ? xavier(3 * E, E) : null;
    this.qProjWeight = packed ? null : xavier(E, E);
    this.kProjWeight = packed ? null : xavier(E, this.kdim);
    this.vProjWeight = packed ? null : xavier(E, this.vdim);
    this.inProjBias = bias ? Parameter.zeros([3 * E]) : null;
    this.outProj = new Linear({ inFeatures: E, outFeatures: E, bias, generator: this.generator });
    if (this.outProj.bias) this.outProj.bias.data.data.fill(0);
  }

  protected override ownParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = this.inProjWeight
      ? [['in_proj_weight', this.inProjWeight]]
      : [['q_proj_weight', this.qProjWeight!], ['k_proj_weight', this.kProjWeight!], ['v_proj_weight', this.vProjWeight!]];
    if (this.inProjBias) out.push(['in_proj_bias', this.inProjBias]);
    return out;
  }

  override children(): [string, Module][] {
    return [['out_proj', this.outProj]];
  }

  /**
   * x [.., in] · W_iᵀ + b_i for projection i (0 query, 1 key, 2 value).
   * @param x - The input, features last.
   * @param i - Which projection: 0 query, 1 key, 2 value.
   */
  project(x: Tensor, i: 0 | 1 | 2): Tensor {
    const E = this.embedDim;
    const w = this.inProjWeight ? this.inProjWeight.data.slice(0, i * E, (i + 1) * E) : [this.qProjWeight, this.kProjWeight, this.vProjWeight][i]!.data;
    const inFeatures = w.shape[1];
    let y = matmul(reshape(x, [-1, inFeatures]), w.T);
    if (this.inProjBias) y = add(y, this.inProjBias.data.slice(0, i * E, (i + 1) * E));
    return reshape(y, [...x.shape.slice(0, -1), E]);
  }

  /**
   * Attends from `query` over `key`/`value`: query [B, Tq, E], key
   * [B, Tk, kdim], value [B, Tk, vdim] (time-major when not batchFirst;
   * [Tq, E], [Tk, kdim], [Tk, vdim] for one unbatched sequence).
   * `forward(x)` is self-attention, `forward(q, kv)` uses kv as both key and
   * value. Returns `{ output, weights }`.
   * @param query - The queries.
   * @param key - The keys (or the call options, for self-attention).
   * @param value - The values (or the call options, when they are the keys).
   * @param opts - {@link MultiHeadAttentionCallOptions}.
   * @throws {@link ShapeError} when the shapes do not fit.
   */
  forward(query: Tensor, key?: Tensor | MultiHeadAttentionCallOptions, value?: Tensor | MultiHeadAttentionCallOptions, opts?: MultiHeadAttentionCallOptions): MultiHeadAttentionOutput {
    const args = [key, value, opts];
    const optsAt = args.findIndex((a) => a !== undefined && !(a instanceof Tensor));
    if (optsAt !== -1 && args.slice(optsAt + 1).some((a) => a !== undefined)) fail('Tensor', optsAt === 0 ? 'key' : 'value', args[optsAt]);
    const o = checkOptions('options', (optsAt === -1 ? undefined : args[optsAt]) as MultiHeadAttentionCallOptions | undefined, MULTI_HEAD_ATTENTION_CALL_OPTION_KEYS);
    const q = checkTensor('query', query);
    const k = key instanceof Tensor ? checkTensor('key', key) : q;
    const v = value instanceof Tensor ? checkTensor('value', value) : k;
    if (q.rank === 2 && k.rank === 2 && v.rank === 2) return this.forwardUnbatched(q, k, v, o);
    const { B, Tq, Tk } = this.checkShapes(q, k, v);
    const needWeights = checkBoolean('needWeights', o.needWeights ?? true);
    const average = checkBoolean('averageAttnWeights', o.averageAttnWeights ?? true);
    const masks = attentionMasks({ B, H: this.numHeads, Tq, Tk, lengths: o.lengths, keyPaddingMask: o.keyPaddingMask, attnMask: o.attnMask });
    const dropout = this.modeOf(o.training) ? this.dropout : 0;
    const { output, weights } = scaledDotProductAttention(
      splitHeads(this.project(q, 0), this.numHeads, this.batchFirst),
      splitHeads(this.project(k, 1), this.numHeads, this.batchFirst),
      splitHeads(this.project(v, 2), this.numHeads, this.batchFirst),
      {
        ...masks,
        isCausal: checkBoolean('isCausal', o.isCausal ?? false),
        dropout,
        seed: dropout > 0 ? Math.floor(this.generator.next() * 2 ** 53) : 0,
        needWeights,
      },
    );
    // [B, H, Tq, D] is a view of [B, Tq, H, D] storage: merging heads is free.
    let y = this.outProj.forward(reshape(output.transpose(1, 2), [B, Tq, this.embedDim]));
    if (!this.batchFirst) y = y.transpose(0, 1);
    if (!weights) return { output: y };
    return { output: y, weights: average ? weights.mean(1) : weights };
  }

  /** PyTorch's unbatched form: [T, features] in, [Tq, E] out (weights without the batch axis). */
  private forwardUnbatched(q: Tensor, k: Tensor, v: Tensor, o: MultiHeadAttentionCallOptions): MultiHeadAttentionOutput {
    const lift = (t: Tensor): Tensor => reshape(t, this.batchFirst ? [1, ...t.shape] : [t.shape[0], 1, t.shape[1]]);
    const { output, weights } = this.forward(lift(q), lift(k), lift(v), o);
    const out = reshape(output, [q.shape[0], this.embedDim]);
    return weights ? { output: out, weights: reshape(weights, weights.shape.slice(1)) } : { output: out };
  }

  /**
   * Keys and values projected and split into heads, [B, heads, T, headDim]
   * each, from batch-first key [B, T, kdim] and value [B, T, vdim]: what a
   * decoder computes once from the encoder's memory and reuses every step.
   * @param key - Batch-first keys [B, T, kdim].
   * @param value - Batch-first values [B, T, vdim].
   */
  projectKeyValue(
    key: Tensor,
    value: Tensor,
  ): {
    /** The projected keys. */
    k: Tensor;
    /** The projected values. */
    v: Tensor;
  } {
    return { k: splitHeads(this.project(key, 1), this.numHeads, true), v: splitHeads(this.project(value, 2), this.numHeads, true) };
  }

  /**
   * Attention of batch-first queries [B, Tq, E] over keys and values
   * already projected into heads ([B, heads, Tk, headDim], any layout with
   * contiguous features, e.g. views of a growing cache). Inference only
   * (no dropout, no weights); `causalOffset` counts the cached keys before
   * the first query when `isCausal`.
   * @param query - Batch-first queries [B, Tq, E].
   * @param k - Projected keys [B, heads, Tk, headDim].
   * @param v - Projected values [B, heads, Tk, headDim].
   * @param opts - `keyLengths` (valid keys per sequence), `isCausal` and `causalOffset`.
   */
  attendProjected(query: Tensor, k: Tensor, v: Tensor, opts: { keyLengths?: Int32Array | null; isCausal?: boolean; causalOffset?: number } = {}): Tensor {
    const q = checkTensor('query', query);
    const [B, Tq] = q.shape;
    const { output } = scaledDotProductAttention(splitHeads(this.project(q, 0), this.numHeads, true), k, v, opts);
    return this.outProj.forward(reshape(output.transpose(1, 2), [B, Tq, this.embedDim]));
  }

  private checkShapes(q: Tensor, k: Tensor, v: Tensor): { B: number; Tq: number; Tk: number } {
    const bt = this.batchFirst ? 'batch, time' : 'time, batch';
    const bAxis = this.batchFirst ? 0 : 1, tAxis = 1 - bAxis;
    if (q.rank !== 3 || q.shape[2] !== this.embedDim) {
      throw new ShapeError(`Expected query of shape [${bt}, ${this.embedDim}] for ${this.toString()} but received ${formatShape(q.shape)}`);
    }
    const B = q.shape[bAxis];
    const expect = (name: string, t: Tensor, features: number, time: number | null): void => {
      if (t.rank !== 3 || t.shape[bAxis] !== B || t.shape[2] !== features || (time !== null && t.shape[tAxis] !== time)) {
        const dims = this.batchFirst ? `${B}, ${time ?? 'time'}` : `${time ?? 'time'}, ${B}`;
        throw new ShapeError(`Expected ${name} of shape [${dims}, ${features}] for ${this.toString()} but received ${formatShape(t.shape)}`);
      }
    };
    expect('key', k, this.kdim, null);
    const Tk = k.shape[tAxis];
    expect('value', v, this.vdim, Tk);
    return { B, Tq: q.shape[tAxis], Tk };
  }

  /** The constructor options, defaults applied, for `eddy.layerToConfig`. */
  toConfig(): MultiHeadAttentionConfig {
    return {
      embedDim: this.embedDim, numHeads: this.numHeads, dropout: this.dropout, bias: this.inProjBias !== null,
      kdim: this.kdim, vdim: this.vdim, batchFirst: this.batchFirst,
    };
  }

  /**
   * Builds the layer from `toConfig()`'s output (fresh weights).
   * @param config - The layer's config.
   */
  static fromConfig(config: MultiHeadAttentionConfig): MultiHeadAttention {
    return new MultiHeadAttention(config);
  }

  toString(): string {
    const extra = [
      this.kdim !== this.embedDim ? `, kdim=${this.kdim}` : '',
      this.vdim !== this.embedDim ? `, vdim=${this.vdim}` : '',
      this.dropout ? `, dropout=${this.dropout}` : '',
      this.inProjBias ? '' : ', bias=false',
      this.batchFirst ? '' : ', batchFirst=false',
    ].join('');
    return `MultiHeadAttention(embedDim=${this.embedDim}, numHeads=${this.numHeads}${extra})`;
  }
}

/** What an exported attention call masks: the keys beyond their lengths ('' for none), and later keys when causal. */
export interface OnnxAttentionMasks {
  /** The int32 [batch] valid keys per sequence, or '' for all. */
  keyLengths: string;
  /** Hide key j from query i when j > i. */
  causal: boolean;
}

/**
 * One call of `layer` in an ONNX graph on batch-major query [B, Tq, E],
 * key [B, Tk, kdim] and value [B, Tk, vdim]: the projections as MatMul
 * (+ Add), heads split by Reshape/Transpose, softmax(QKᵀ/√D) with masked
 * scores at −∞ (so their weight is exactly 0, as in the fused kernel),
 * heads merged and `out_proj`. Returns the output and a function that adds
 * the head-averaged weights [B, Tq, Tk] when a graph uses them.
 */
export function multiHeadAttentionOnnx(
  layer: MultiHeadAttention, g: OnnxGraph, query: string, key: string, value: string, masks: OnnxAttentionMasks, opset = 17,
): { output: string; weights: () => string } {
  checkOnnxBatchFirst(layer, layer.batchFirst);
  const E = layer.embedDim;
  const project = (x: string, i: 0 | 1 | 2, perm: number[]): string => {
    const w = layer.inProjWeight ? layer.inProjWeight.data.slice(0, i * E, (i + 1) * E) : [layer.qProjWeight, layer.kProjWeight, layer.vProjWeight][i]!.data;
    let y = g.op('MatMul', [x, g.floats('in_proj_t', [w.shape[1], E], w.T.toFloat32Array())]);
    if (layer.inProjBias) y = g.op('Add', [y, g.floats('in_proj_bias', [E], layer.inProjBias.data.slice(0, i * E, (i + 1) * E).toFloat32Array())]);
    // [B, T, E] → [B, T, heads, D] → heads first (keys also transposed for QKᵀ).
    return g.op('Transpose', [g.op('Reshape', [y, g.int64s('heads', [0, 0, layer.numHeads, layer.headDim])])], [onnxAttribute.ints('perm', perm)]);
  };
  const q = project(query, 0, [0, 2, 1, 3]);
  const kT = project(key, 1, [0, 2, 3, 1]);
  const v = project(value, 2, [0, 2, 1, 3]);
  let scores = g.op('Mul', [g.op('MatMul', [q, kT]), g.scalar('scale', 1 / Math.sqrt(layer.headDim), 'float')]);
  let allowed = '';
  if (masks.keyLengths) allowed = g.op('Unsqueeze', [stepMask(g, key, masks.keyLengths), g.int64s('axes', [1, 2])]);
  if (masks.causal) {
    // Top-left aligned, as the kernel's isCausal: key j ≤ query i, [Tq, Tk].
    const range = (x: string): string => g.op('Range', [g.scalar('zero', 0, 'int64'), axisSize(g, x, 1), g.scalar('one', 1, 'int64')]);
    const causal = g.op('LessOrEqual', [range(key), g.op('Unsqueeze', [range(query), g.int64s('axes', [1])])]);
    allowed = allowed ? g.op('And', [allowed, causal]) : causal;
  }
  if (allowed) scores = g.op('Where', [allowed, scores, g.scalar('minus_inf', -Infinity, 'float')]);
  const weights = g.op('Softmax', [scores], [onnxAttribute.int('axis', -1)]);
  const heads = g.op('Transpose', [g.op('MatMul', [weights, v])], [onnxAttribute.ints('perm', [0, 2, 1, 3])]);
  const output = linearOnnx(g, g.op('Reshape', [heads, g.int64s('merged', [0, 0, E])]), layer.outProj);
  return { output, weights: () => reduceOnnx(g, 'ReduceMean', weights, [1], opset) };
}

/**
 * How models call the layer, in ONNX: self-attention on one input, or
 * attention of the first over the second (keys and values) or over the
 * second (keys) and third (values); the keys' lengths mask them. The
 * result's `weights` part is the head-averaged softmax, as forward returns
 * it by default.
 */
const lowerMultiHeadAttention: OnnxLowering<MultiHeadAttention> = (layer, x, ctx) => {
  const g = ctx.graph;
  const [query, key, value] = (ctx.inputs ?? [x]).map((v) => batchMajor(v, g).name);
  const { output, weights } = multiHeadAttentionOnnx(layer, g, query, key ?? query, value ?? key ?? query, { keyLengths: ctx.lengths, causal: false }, ctx.opset);
  let averaged: string | undefined;
  return {
    name: output,
    timeMajor: false,
    parts: {
      // Added only when a graph reads them.
      get weights() {
        averaged ??= weights();
        return { name: averaged, timeMajor: false };
      },
    },
  };
};

registerLayer<MultiHeadAttention>('MultiHeadAttention', {
  layerClass: MultiHeadAttention,
  fromConfig: (c) => MultiHeadAttention.fromConfig(c as never),
  parameterBound: (c) => positive(c.embedDim) * (positive(c.embedDim) * 2 + (positive(c.kdim) || positive(c.embedDim)) + (positive(c.vdim) || positive(c.embedDim))),
  perStep: false,
  // The keys' lengths mask the scores (the query's, for self-attention); the output runs along the query's time axis.
  lengths: (_layer, inputs) => ({ call: inputs.length > 1 ? inputs[1] : inputs[0], output: () => inputs[0] }),
  onnx: lowerMultiHeadAttention,
});
