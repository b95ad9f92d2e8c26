/**
 * Transformer decoder layers and their stack, PyTorch's
 * `nn.TransformerDecoderLayer` / `nn.TransformerDecoder` (`self_attn.*`,
 * `multihead_attn.*`, `linear1`, `linear2`, `norm1..3`), plus incremental
 * decoding: `TransformerDecoder.step` takes one new target position and a
 * cache of every layer's projected keys and values, so generation costs one
 * position per step instead of re-running the prefix.
 */
import { noGrad } from '../autograd/grad-mode';
import { ShapeError, ValidationError } from '../errors';
import { CALL_CONTEXT_KEYS, Module } from '../nn/module';
import { positive, registerLayer } from '../nn/registry';
import { checkLengths, Lengths } from '../ops/lengths';
import { stack } from '../ops/join';
import { reshape } from '../ops/views';
import type { GraphCallContext } from './recurrent';
import { checkTensor, Tensor } from '../tensor/tensor';
import { checkOptions, describe, formatShape, optionKeys } from '../validate';
import { AttentionMaskValue } from './attention-masks';
import { checkRowIndices, gatherRows, KeyValueCache } from './kv-cache';
import { batchMajor, onnxError, OnnxGraph, OnnxLowering, OnnxLoweringContext } from '../nn/onnx-lowering';
import { LayerNorm } from './layer-norm';
import { MultiHeadAttention, multiHeadAttentionOnnx, OnnxAttentionMasks } from './multi-head-attention';
import {
  splitStackConfig, stackNormOnnx, TransformerLayerBase, TransformerLayerConfig, TransformerLayerOptions, transformerLayerBound,
  TransformerStack, TransformerStackConfig, TransformerStackOptions,
} from './transformer';

/** Per-call options of `TransformerDecoderLayer.forward` and `TransformerDecoder.forward`. */
export interface TransformerDecoderCallOptions {
  /** Mask over (target, target) pairs, [T, T] or [batch·nhead, T, T] (float added, or booleans true = not allowed). @default none */
  tgtMask?: AttentionMaskValue | null;
  /** Mask over (target, memory) pairs, [T, S] or [batch·nhead, T, S]. @default none */
  memoryMask?: AttentionMaskValue | null;
  /** Padding target positions, [batch, T]. @default none */
  tgtKeyPaddingMask?: AttentionMaskValue | null;
  /** Padding memory positions, [batch, S]. @default none */
  memoryKeyPaddingMask?: AttentionMaskValue | null;
  /** Valid target steps per sequence (the fast form of tgtKeyPaddingMask); what containers pass as `lengths`. @default all */
  lengths?: Lengths | null;
  /** Valid memory steps per sequence (the fast form of memoryKeyPaddingMask). @default all */
  memoryLengths?: Lengths | null;
  /** Causal self-attention over the target (what training a generator needs). @default false (as PyTorch) */
  tgtIsCausal?: boolean;
  /** Causal attention over the memory. @default false */
  memoryIsCausal?: boolean;
  /** The call's mode (dropout in training). @default the layer's `training` flag */
  training?: boolean;
}

/** The keys of TransformerDecoderCallOptions, for checkOptions. */
export const TRANSFORMER_DECODER_CALL_OPTION_KEYS = [
  ...optionKeys<TransformerDecoderCallOptions>({
    tgtMask: true, memoryMask: true, tgtKeyPaddingMask: true, memoryKeyPaddingMask: true, lengths: true, memoryLengths: true,
    tgtIsCausal: true, memoryIsCausal: true, training: true,
  }),
  ...CALL_CONTEXT_KEYS,
];

/** One layer's part of a decoding cache. */
interface LayerCache {
  self: KeyValueCache;
  /** The memory's keys and values, projected once. */
  cross: { k: Tensor; v: Tensor };
}

/**
 * The state of step-by-step decoding with a `TransformerDecoder`: every
 * layer's cached self-attention keys and values and its projected memory.
 * Create it with `decoder.createCache(memory)`; `step` appends to it.
 */
export class TransformerDecoderCache {
  /** @internal */
  constructor(
    /** @internal */ readonly layers: LayerCache[],
    /** Valid memory steps per sequence, or null for all. */
    readonly memoryLengths: Int32Array | null,
  ) {}

  /** Batch rows (sequences or beams). */
  get batch(): number {
    return this.layers[0].self.batch;
  }

  /** Target positions decoded so far. */
  get length(): number {
    return this.layers[0].self.length;
  }

  /**
   * A cache holding rows `indices` of this one, in that order (rows may
   * repeat): beam search reorders or expands its beams with it.
   * @param indices - Rows of this cache, in the order wanted.
   * @throws {@link ValidationError} when an index is out of range.
   */
  select(indices: Int32Array | readonly number[]): TransformerDecoderCache {
    const rows = checkRowIndices(indices, this.batch);
    const layers = this.layers.map((l) => ({ self: l.self.select(rows), cross: { k: gatherRows(l.cross.k, rows), v: gatherRows(l.cross.v, rows) } }));
    return new TransformerDecoderCache(layers, this.memoryLengths && Int32Array.from(rows, (r) => this.memoryLengths![r]));
  }
}

/**
 * Self-attention over the target, attention over the encoder's memory and
 * a feed-forward block, each with dropout, a residual connection and a
 * LayerNorm (before the block with normFirst, after the sum otherwise).
 */
export class TransformerDecoderLayer extends TransformerLayerBase {
  /** The attention over the memory (`multihead_attn`). */
  readonly multiheadAttn: MultiHeadAttention;
  /** The normalization around the self-attention (`norm1`). */
  readonly norm1: LayerNorm;
  /** The normalization around the attention over the memory (`norm2`). */
  readonly norm2: LayerNorm;
  /** The normalization around the feed-forward network (`norm3`). */
  readonly norm3: LayerNorm;

  /**
   * @param opts - {@link TransformerLayerOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   */
  constructor(opts: TransformerLayerOptions) {
    super(opts);
    const { dModel, nhead, dropout, batchFirst } = this.config;
    this.multiheadAttn = new MultiHeadAttention({ embedDim: dModel, numHeads: nhead, dropout, batchFirst, generator: this.generator });
    this.norm1 = this.norm();
    this.norm2 = this.norm();
    this.norm3 = this.norm();
  }

  override children(): [string, Module][] {
    return [
      ['self_attn', this.selfAttn], ['multihead_attn', this.multiheadAttn], ['linear1', this.linear1], ['linear2', this.linear2],
      ['norm1', this.norm1], ['norm2', this.norm2], ['norm3', this.norm3],
    ];
  }

  /**
   * tgt [batch, T, dModel] attending over memory [batch, S, dModel] → [batch, T, dModel].
   * @param tgt - The target sequences, [batch, time, dModel] ([time, batch, dModel] when not
   *   batchFirst).
   * @param memory - The encoder's output, laid out like `tgt`.
   * @param opts - {@link TransformerDecoderCallOptions}.
   */
  forward(tgt: Tensor, memory: Tensor, opts?: TransformerDecoderCallOptions): Tensor {
    const o = checkOptions('options', opts, TRANSFORMER_DECODER_CALL_OPTION_KEYS);
    const x = this.checkSequence('tgt', tgt);
    const mem = this.checkSequence('memory', memory);
    const training = this.modeOf(o.training);
    const attendSelf = (y: Tensor): Tensor =>
      this.dropout(
        this.selfAttn.forward(y, { attnMask: o.tgtMask, keyPaddingMask: o.tgtKeyPaddingMask, lengths: o.lengths, isCausal: o.tgtIsCausal, needWeights: false, training }).output,
        training,
      );
    const attendMemory = (y: Tensor): Tensor =>
      this.dropout(
        this.multiheadAttn.forward(y, mem, mem, {
          attnMask: o.memoryMask, keyPaddingMask: o.memoryKeyPaddingMask, lengths: o.memoryLengths, isCausal: o.memoryIsCausal, needWeights: false, training,
        }).output,
        training,
      );
    return this.residual(x, [attendSelf, attendMemory, (y) => this.feedForward(y, training)], [this.norm1, this.norm2, this.norm3]);
  }

  /**
   * This layer's empty cache for batch-first memory [B, S, dModel].
   * @param memory - The encoder's output, [B, S, dModel].
   */
  createCache(memory: Tensor): LayerCache {
    const B = memory.shape[0];
    return { self: new KeyValueCache(B, this.config.nhead, this.config.dModel / this.config.nhead), cross: this.multiheadAttn.projectKeyValue(memory, memory) };
  }

  /**
   * One new position x [B, 1, dModel] (inference: no dropout).
   * @param x - The new position, [B, 1, dModel].
   * @param cache - This layer's cache, appended to.
   * @param memoryLengths - Valid memory positions per sequence, or null for all.
   */
  step(x: Tensor, cache: LayerCache, memoryLengths: Int32Array | null): Tensor {
    const attendSelf = (y: Tensor): Tensor => {
      const { k, v } = this.selfAttn.projectKeyValue(y, y);
      cache.self.append(k, v);
      return this.selfAttn.attendProjected(y, cache.self.k, cache.self.v);
    };
    const attendMemory = (y: Tensor): Tensor => this.multiheadAttn.attendProjected(y, cache.cross.k, cache.cross.v, { keyLengths: memoryLengths });
    return this.residual(x, [attendSelf, attendMemory, (y) => this.feedForward(y, false)], [this.norm1, this.norm2, this.norm3]);
  }

  /**
   * This layer in an ONNX graph on batch-major tgt [B, T, dModel] and memory [B, S, dModel], each
   * attention masked as given.
   * @internal
   */
  toOnnx(g: OnnxGraph, tgt: string, memory: string, masks: { self: OnnxAttentionMasks; memory: OnnxAttentionMasks }, opset: number): string {
    const attendSelf = (y: string): string => multiHeadAttentionOnnx(this.selfAttn, g, y, y, y, masks.self, opset).output;
    const attendMemory = (y: string): string => multiHeadAttentionOnnx(this.multiheadAttn, g, y, memory, memory, masks.memory, opset).output;
    return this.residualOnnx(g, tgt, [attendSelf, attendMemory, (y) => this.feedForwardOnnx(g, y)], [this.norm1, this.norm2, this.norm3], opset);
  }

  /**
   * Builds the layer from `toConfig()`'s output (fresh weights).
   * @param config - The layer's config.
   */
  static fromConfig(config: TransformerLayerConfig): TransformerDecoderLayer {
    return new TransformerDecoderLayer(config);
  }

  toString(): string {
    return this.describe('TransformerDecoderLayer');
  }
}

/** Options of `TransformerDecoder.createCache`. */
export interface TransformerDecoderCacheOptions {
  /** Valid memory steps per sequence. @default all */
  memoryLengths?: Lengths | null;
}

/**
 * A stack of decoder layers (PyTorch's `nn.TransformerDecoder`):
 * `new TransformerDecoder(layerOrOptions, { numLayers, norm })`.
 *
 * Step-by-step generation:
 * ```ts
 * const cache = decoder.createCache(memory, { memoryLengths });
 * for (let t = 0; t < maxLen; t++) {
 *   const y = decoder.step(embed(lastTokens, t), cache); // [B, dModel]
 *   // … pick next tokens from a head on y; for beam search,
 *   // cache = cache.select(beamRows) before the next step.
 * }
 * ```
 * Each step equals the last position of `forward` with `tgtIsCausal` on
 * the whole prefix.
 */
export class TransformerDecoder extends TransformerStack<TransformerDecoderLayer> {
  /**
   * @param layer - A layer to copy `numLayers` times (fresh weights), or the layers' options.
   * @param opts - {@link TransformerStackOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   */
  constructor(layer: TransformerDecoderLayer | TransformerLayerOptions, opts: TransformerStackOptions) {
    super('TransformerDecoder', layer, opts, (o) => new TransformerDecoderLayer(o));
  }

  /**
   * tgt [batch, T, dModel] over memory [batch, S, dModel] through every layer, then the final norm.
   * @param tgt - The target sequences, [batch, time, dModel] ([time, batch, dModel] when not
   *   batchFirst).
   * @param memory - The encoder's output, laid out like `tgt`.
   * @param opts - {@link TransformerDecoderCallOptions}.
   */
  forward(tgt: Tensor, memory: Tensor, opts?: TransformerDecoderCallOptions): Tensor {
    const o = checkOptions('options', opts, TRANSFORMER_DECODER_CALL_OPTION_KEYS);
    let x = tgt;
    for (const layer of this.layers) x = layer.forward(x, memory, o);
    return this.norm ? this.norm.forward(x) : x;
  }

  /** Models carry this layer's decoding cache between calls (see `graphCall`). */
  readonly usesStepCache = true;

  /**
   * How models call the stack: graph inputs (target, memory). The target's
   * lengths mask its padding, the memory's own lengths (those its graph
   * input carries) mask the memory, and self-attention is causal, as a
   * decoder reading the target shifted right needs (Keras' decoder does the
   * same). When the model call carries states (`forward(x, { states })` or
   * `{ caches }`), the stack decodes the target position by position from
   * the cache the previous call left — the prefix is not run again — and
   * leaves the extended cache.
   * @param inputs - The target [batch, time, features] and the memory [batch, sourceTime, features].
   * @param ctx - The container's call context (the target's lengths, mode, state carrier).
   * @param inputLengths - The lengths each graph input carries (the memory's mask its padding), undefined where none.
   */
  graphCall(inputs: Tensor[], ctx: GraphCallContext, inputLengths?: readonly (Int32Array | undefined)[]): Tensor {
    if (inputs.length !== 2) throw new ValidationError(`Expected the target and the memory as inputs of ${this.toString()} but received ${inputs.length}`);
    const [tgt, memory] = inputs;
    const memoryLengths = inputLengths?.[1] ?? null;
    const carrier = ctx.carrier;
    if (!carrier?.finalCache) return this.forward(tgt, memory, { lengths: ctx.lengths ?? null, memoryLengths, tgtIsCausal: true, training: ctx.training });
    const given = carrier.initialCache?.(this);
    if (given !== undefined && !(given instanceof TransformerDecoderCache)) throw new ValidationError(`Expected a cache from ${this.toString()} but received ${describe(given)}`);
    const cache = given ?? this.createCache(memory, { memoryLengths });
    const axis = this.layers[0].config.batchFirst ? 1 : 0;
    const steps = Array.from({ length: tgt.shape[axis] }, (_, t) => this.step(tgt.select(axis, t).contiguous(), cache));
    carrier.finalCache(this, cache);
    return stack(steps, axis);
  }

  /**
   * An empty decoding cache for `memory` (laid out as the layers' batchFirst says); projects the
   * memory once per layer.
   * @param memory - The encoder's output, [B, S, dModel] ([S, B, dModel] when not batchFirst).
   * @param opts - {@link TransformerDecoderCacheOptions}.
   */
  createCache(memory: Tensor, opts?: TransformerDecoderCacheOptions): TransformerDecoderCache {
    const o = checkOptions('options', opts, optionKeys<TransformerDecoderCacheOptions>({ memoryLengths: true }));
    const c = this.layers[0].config;
    const m = checkTensor('memory', memory);
    if (m.rank !== 3 || m.shape[2] !== c.dModel) {
      throw new ShapeError(`Expected memory of shape [${c.batchFirst ? 'batch, time' : 'time, batch'}, ${c.dModel}] for ${this.toString()} but received ${formatShape(m.shape)}`);
    }
    const mem = c.batchFirst ? m : m.transpose(0, 1).contiguous();
    const lengths = checkLengths(o.memoryLengths, mem.shape[0], mem.shape[1]);
    return noGrad(() => new TransformerDecoderCache(this.layers.map((l) => l.createCache(mem)), lengths));
  }

  /**
   * Decodes one position: `tgt` [batch, dModel] is the newest target
   * position's input (embedding plus positional encoding); returns the
   * stack's output for it, [batch, dModel], and appends its keys and values
   * to `cache`. Inference only: runs without recording gradients or dropout.
   * @param tgt - The new position of every sequence.
   * @param cache - The decoding cache, appended to.
   */
  step(tgt: Tensor, cache: TransformerDecoderCache): Tensor {
    const x = checkTensor('tgt', tgt);
    if (!(cache instanceof TransformerDecoderCache) || cache.layers.length !== this.layers.length) {
      throw new ValidationError(`Expected a cache from this decoder's createCache() for cache but received ${describe(cache)}`);
    }
    const { dModel } = this.layers[0].config;
    if (x.rank !== 2 || x.shape[0] !== cache.batch || x.shape[1] !== dModel) {
      throw new ShapeError(`Expected tgt of shape [${cache.batch}, ${dModel}] for ${this.toString()}.step but received ${formatShape(x.shape)}`);
    }
    return noGrad(() => {
      let h = reshape(x, [cache.batch, 1, dModel]);
      this.layers.forEach((layer, i) => {
        h = layer.step(h, cache.layers[i], cache.memoryLengths);
      });
      if (this.norm) h = this.norm.forward(h);
      return reshape(h, [cache.batch, dModel]);
    });
  }

  /**
   * Builds the decoder from `toConfig()`'s output (fresh weights).
   * @param config - The decoder's config.
   */
  static fromConfig(config: TransformerStackConfig): TransformerDecoder {
    const [layer, stack] = splitStackConfig(config);
    return new TransformerDecoder(layer, stack);
  }
}

/** The target and the memory of a decoder call in ONNX, batch-major. */
function decoderInputs(layer: Module, ctx: OnnxLoweringContext): [string, string] {
  const inputs = ctx.inputs ?? [];
  if (inputs.length !== 2) throw onnxError(`Export needs the target and the memory as inputs of ${layer.toString()}`);
  return [batchMajor(inputs[0], ctx.graph).name, batchMajor(inputs[1], ctx.graph).name];
}

/**
 * A layer called by a model (`forward(tgt, memory, { lengths })`): the
 * target's lengths mask its self-attention, the memory is not masked.
 */
const lowerDecoderLayer: OnnxLowering<TransformerDecoderLayer> = (layer, _x, ctx) => {
  const [tgt, memory] = decoderInputs(layer, ctx);
  const masks = { self: { keyLengths: ctx.lengths, causal: false }, memory: { keyLengths: '', causal: false } };
  return { name: layer.toOnnx(ctx.graph, tgt, memory, masks, ctx.opset ?? 17), timeMajor: false };
};

/**
 * The stack as `graphCall` runs it on a whole target: causal
 * self-attention masked by the target's lengths, the memory masked by its
 * own input's lengths, then the final norm.
 */
const lowerDecoder: OnnxLowering<TransformerDecoder> = (layer, _x, ctx) => {
  const [tgt, memory] = decoderInputs(layer, ctx);
  const opset = ctx.opset ?? 17;
  const masks = { self: { keyLengths: ctx.lengths, causal: true }, memory: { keyLengths: ctx.inputLengths?.[1] ?? '', causal: false } };
  let h = tgt;
  for (const l of layer.layers) h = l.toOnnx(ctx.graph, h, memory, masks, opset);
  return { name: stackNormOnnx(layer.norm, ctx.graph, h, opset), timeMajor: false };
};

registerLayer<TransformerDecoderLayer>('TransformerDecoderLayer', {
  layerClass: TransformerDecoderLayer,
  fromConfig: (c) => TransformerDecoderLayer.fromConfig(c as never),
  parameterBound: (c) => transformerLayerBound(c, 2),
  perStep: false,
  onnx: lowerDecoderLayer,
});
registerLayer<TransformerDecoder>('TransformerDecoder', {
  layerClass: TransformerDecoder,
  fromConfig: (c) => TransformerDecoder.fromConfig(c as never),
  parameterBound: (c) => positive(c.numLayers) * transformerLayerBound(c, 2),
  perStep: false,
  onnx: lowerDecoder,
});
