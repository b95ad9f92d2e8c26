/**
 * Scaled dot-product attention as one native op (PyTorch's
 * `F.scaled_dot_product_attention`): softmax(s·QKᵀ + mask)·V per batch
 * entry and head, with an online softmax, so the [Tq, Tk] scores exist
 * only when the weights are asked for. Queries, keys and values are
 * [B, heads, T, D] tensors in any layout whose feature axis is contiguous
 * (the head split of a [B, T, heads·D] projection is a view, not a copy).
 */
import { record } from '../autograd/tape';
import { ShapeError } from '../errors';
import { binding, SdpaCall } from '../native';
import { checkTensor, denseData, Tensor } from '../tensor/tensor';
import { checkBoolean, checkInteger, checkNumber, checkOptions, fail, formatShape, optionKeys } from '../validate';
import { checkLengths } from './lengths';

/** The options of {@link scaledDotProductAttention}. */
export interface ScaledDotProductAttentionOptions {
  /** Valid keys per sequence (1 ≤ L_b ≤ Tk); later keys get weight 0 and no gradient. @default all keys */
  keyLengths?: Int32Array | readonly number[] | null;
  /**
   * Additive mask (0 to keep, −∞ to mask) of shape [Tq, Tk], or
   * [B·heads, Tq, Tk] / [B, heads, Tq, Tk] per head. It gets no gradient.
   * @default none
   */
  attnMask?: Tensor | null;
  /** Mask key j for query i when j > i + causalOffset. @default false */
  isCausal?: boolean;
  /** Keys that precede the first query (cached keys in step-by-step decoding). @default 0 */
  causalOffset?: number;
  /** The score scale s. @default 1/√D */
  scale?: number;
  /** Probability of dropping each attention weight (apply only in training). @default 0 */
  dropout?: number;
  /** Seed of the dropout pattern (an integer below 2^53). @default 0 */
  seed?: number;
  /** Also return the softmax weights [B, heads, Tq, Tk] (before dropout). @default false */
  needWeights?: boolean;
}

/** The keys of ScaledDotProductAttentionOptions, for checkOptions. */
export const SDPA_OPTION_KEYS = optionKeys<ScaledDotProductAttentionOptions>({
  keyLengths: true, attnMask: true, isCausal: true, causalOffset: true, scale: true, dropout: true, seed: true, needWeights: true,
});

/** What {@link scaledDotProductAttention} returns. */
export interface ScaledDotProductAttentionResult {
  /** [B, heads, Tq, Dv], a view of [B, Tq, heads, Dv] storage (so merging the heads back is free). */
  output: Tensor;
  /** [B, heads, Tq, Tk] when asked for, else null. */
  weights: Tensor | null;
}

/** A tensor whose last stride is 1, as the kernel reads it: storage from its first element and 3 strides. */
function headOperand(name: string, t: Tensor): Tensor {
  const x = checkTensor(name, t);
  if (x.rank !== 4) throw new ShapeError(`Expected ${name} of shape [batch, heads, time, features] for scaledDotProductAttention but received ${formatShape(x.shape)}`);
  return x.strides[3] === 1 || x.shape[3] === 1 ? x : x.contiguous();
}

/** Where a view starts and how it strides, for the binding. */
function viewFields(prefix: string, t: Tensor, data: Float32Array | Float64Array = t.data): Record<string, number | Float32Array | Float64Array> {
  return {
    [prefix]: data.subarray(t.offset),
    [`${prefix}Sb`]: t.strides[0],
    [`${prefix}Sh`]: t.strides[1],
    [`${prefix}St`]: t.strides[2],
  };
}

/**
 * softmax(scale·q·kᵀ + mask)·v. q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv].
 * @param query - [B, H, Tq, D].
 * @param key - [B, H, Tk, D].
 * @param value - [B, H, Tk, Dv].
 * @param options - {@link ScaledDotProductAttentionOptions}.
 * @throws {@link ShapeError} when the shapes do not fit.
 */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, options: ScaledDotProductAttentionOptions = {}): ScaledDotProductAttentionResult {
  const o = checkOptions('options', options, SDPA_OPTION_KEYS);
  const q = headOperand('query', query), k = headOperand('key', key), v = headOperand('value', value);
  const [B, H, Tq, D] = q.shape;
  const [, , Tk] = k.shape;
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== D) {
    throw new ShapeError(`Expected key of shape [${B}, ${H}, time, ${D}] for scaledDotProductAttention but received ${formatShape(k.shape)}`);
  }
  if (v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== Tk) {
    throw new ShapeError(`Expected value of shape [${B}, ${H}, ${Tk}, features] for scaledDotProductAttention but received ${formatShape(v.shape)}`);
  }
  const Dv = v.shape[3];
  const lengths = Tk === 0 ? null : checkLengths(o.keyLengths, B, Tk);
  let mask: Float32Array | null = null;
  let maskPerHead = false;
  if (o.attnMask !== undefined && o.attnMask !== null) {
    const m = checkTensor('attnMask', o.attnMask);
    const tail = m.shape.slice(-2);
    const lead = m.shape.slice(0, -2).reduce((a, d) => a * d, 1);
    const okLead = m.rank === 2 || (m.rank === 3 && m.shape[0] === B * H) || (m.rank === 4 && m.shape[0] === B && m.shape[1] === H);
    if (!okLead || tail[0] !== Tq || tail[1] !== Tk) {
      throw new ShapeError(`Expected attnMask of shape [${Tq}, ${Tk}] or [${B * H}, ${Tq}, ${Tk}] for scaledDotProductAttention but received ${formatShape(m.shape)}`);
    }
    mask = denseData(m);
    maskPerHead = lead > 1 || m.rank > 2;
  }
  const dropout = checkNumber('dropout', o.dropout ?? 0, { min: 0, max: 1 });
  if (dropout === 1) fail('a number in [0, 1)', 'dropout', dropout);
  const call: SdpaCall = {
    ...(viewFields('q', q) as object), ...(viewFields('k', k) as object), ...(viewFields('v', v) as object),
    // The output is stored [B, Tq, H, Dv]: head h of row t at (t·H + h)·Dv.
    outSb: Tq * H * Dv, outSh: Dv, outSt: H * Dv,
    lengths, mask, maskPerHead, B, H, Tq, Tk, D, Dv,
    scale: checkNumber('scale', o.scale ?? 1 / Math.sqrt(D)),
    causal: checkBoolean('isCausal', o.isCausal ?? false),
    causalOffset: checkInteger('causalOffset', o.causalOffset ?? 0, 0),
    dropout,
    seed: checkInteger('seed', o.seed ?? 0, 0, Number.MAX_SAFE_INTEGER),
  } as SdpaCall;
  const outData = new Float32Array(B * Tq * H * Dv);
  const lse = new Float32Array(B * H * Tq);
  const needWeights = checkBoolean('needWeights', o.needWeights ?? false);
  const weightsData = needWeights ? new Float32Array(B * H * Tq * Tk) : null;
  binding.sdpaForward({ ...call, out: outData, lse, weights: weightsData });
  const output = new Tensor(outData, [B, H, Tq, Dv], [Tq * H * Dv, Dv, H * Dv, 1]);
  const weights = weightsData && new Tensor(weightsData, [B, H, Tq, Tk]);
  // Gradients in the operands' own layouts (storage extents from their first elements).
  const like = (t: Tensor): Tensor | null => {
    if (!t.requiresGrad) return null;
    const extent = t.size === 0 ? 0 : t.shape.reduce((a, d, i) => a + (d - 1) * t.strides[i], 1);
    return new Tensor(new Float32Array(extent), t.shape, t.strides, 0);
  };
  const backwardCall = ([gOut, gW]: (Tensor | null)[]) => {
    const dq = like(q), dk = like(k), dv = like(v);
    const args = {
      ...call, out: outData, lse, weights: weightsData,
      dout: gOut ? denseData(gOut) : new Float32Array(B * H * Tq * Dv),
      dweights: gW && weightsData ? denseData(gW) : null,
      dq: dq && dq.data, dk: dk && dk.data, dv: dv && dv.data,
    };
    return { args, grads: [dq, dk, dv] };
  };
  record('scaledDotProductAttention', [q, k, v], weights ? [output, weights] : [output], (g) => {
    const { args, grads } = backwardCall(g);
    binding.sdpaBackward(args);
    return grads;
  }, {
    backwardAsync: async (g) => {
      const { args, grads } = backwardCall(g);
      await binding.sdpaBackwardAsync(args);
      return grads;
    },
  });
  return { output, weights };
}
