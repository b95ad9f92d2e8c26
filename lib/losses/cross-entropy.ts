/**
 * Cross-entropy from logits, PyTorch's `F.cross_entropy` with the class
 * axis last ([N, C] or [batch, time, C]), plus `lengths` masks for padded
 * sequence batches.
 *
 * Every row's loss is Σ_c a_c·(lse - z_c), with lse = log Σ_c e^{z_c}
 * (computed after subtracting the row maximum, so it never overflows) and
 * coefficients a:
 *   class index y:   a_c = (1 - ε)·w_y·[c = y] + (ε/C)·w_c
 *   probabilities t: a_c = w_c·((1 - ε)·t_c + ε/C)
 * so the gradient for the logits is scale·(Σa·softmax(z) - a), and for
 * probability targets (1 - ε)·w_c·(lse - z_c)·scale. 'mean' divides by
 * Σ w_y over counted rows for class indices (PyTorch's weighted mean, also
 * with label smoothing) and by the number of counted rows for
 * probabilities. A row does not count when its target is ignoreIndex or
 * it lies past its sequence's length; it gets loss 0 and no gradient.
 *
 * Class-index targets take the fused native pass (native/softmax_xent.cc):
 * one pass over the logits gives each row's loss and, when the logits need
 * a gradient, its softmax, from which the backward is one more pass.
 */
import { isGradEnabled } from '../autograd/grad-mode';
import { recordSingleOutput } from '../autograd/tape';
import { binding } from '../native';
import { ShapeError, ValidationError } from '../errors';
import { Tensor, checkTensor, denseData, unfilledFloats } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOptions, describe, fail, formatShape, optionKeys } from '../validate';
import { ClassIndices, SequenceLengths, checkSequenceLengths, lengthMask, readClassTargets, readIntegerEntries } from './class-targets';
import { Reduction, checkReduction, itemGradients, reduceLoss } from './reduction';

/** The options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Rows whose class-index target equals this are skipped: no loss, no gradient, not counted by 'mean'. @default -100 */
  ignoreIndex?: number;
  /** ε in [0, 1]: mixes the target with the uniform distribution, (1 - ε)·target + ε/C. @default 0 */
  labelSmoothing?: number;
  /** 'mean' (weighted, see above), 'sum', or 'none' (one loss per row, shaped like logits without the class axis). @default 'mean' */
  reduction?: Reduction;
  /** One weight per class (length C), as PyTorch's `weight`; not differentiated. @default all ones */
  weight?: Tensor | ArrayLike<number>;
  /**
   * For logits [batch, time, C]: each sequence's length; steps past it
   * count as ignored (their targets may hold anything). The result equals
   * PyTorch's on the real steps alone. @default all steps count
   */
  lengths?: SequenceLengths;
}

/** The keys of CrossEntropyOptions, for checkOptions. */
export const CROSS_ENTROPY_OPTION_KEYS = optionKeys<CrossEntropyOptions>({ ignoreIndex: true, labelSmoothing: true, reduction: true, weight: true, lengths: true });

function checkClassWeight(value: unknown, classes: number): Float32Array | null {
  if (value === undefined) return null;
  let w: Float32Array;
  if (value instanceof Tensor) {
    if (value.rank !== 1 || value.size !== classes) {
      throw new ShapeError(`Expected opts.weight of shape [${classes}] (one per class) for crossEntropy but received ${formatShape(value.shape)}`);
    }
    w = denseData(value);
  } else if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    const arr = value as ArrayLike<number>;
    if (arr.length !== classes) throw new ShapeError(`Expected opts.weight of length ${classes} (one per class) for crossEntropy but received ${describe(value)}`);
    w = Float32Array.from(arr);
  } else {
    fail('Tensor or array of numbers', 'opts.weight', value);
  }
  for (let c = 0; c < classes; c++) if (!Number.isFinite(w[c])) fail('finite numbers', `opts.weight[${c}]`, w[c]);
  return w;
}

/**
 * Cross-entropy of `logits` ([N, C] or [batch, time, C]) against class
 * indices (shaped like logits without the class axis; see `ClassIndices`)
 * or class probabilities (a Tensor shaped like logits, differentiable).
 * @param logits - Raw scores, [N, C] or [batch, time, C].
 * @param target - Class indices, or class probabilities shaped like `logits`.
 * @param opts - {@link CrossEntropyOptions}.
 * @throws {@link ShapeError} when `target`, `weight` or `lengths` does not match `logits`.
 * @throws {@link ValidationError} when a class index is out of range or an option is malformed.
 * @example
 * ```ts
 * const loss = eddy.losses.crossEntropy(logits, labels, { lengths, labelSmoothing: 0.1 });
 * eddy.backward([loss]);
 * ```
 */
export function crossEntropy(logits: Tensor, target: ClassIndices, opts?: CrossEntropyOptions): Tensor {
  const z = checkTensor('logits', logits);
  if ((z.rank !== 2 && z.rank !== 3) || z.shape[z.rank - 1] < 1) {
    throw new ShapeError(`Expected logits of shape [batch, classes] or [batch, time, classes] with at least one class for crossEntropy but received ${formatShape(z.shape)}`);
  }
  const C = z.shape[z.rank - 1];
  const rowsShape = z.shape.slice(0, -1);
  const R = z.size / C;
  const options = checkOptions('opts', opts, CROSS_ENTROPY_OPTION_KEYS);
  const reduction = checkReduction(options.reduction);
  const ignoreIndex = options.ignoreIndex === undefined ? -100 : checkInteger('opts.ignoreIndex', options.ignoreIndex);
  const eps = options.labelSmoothing === undefined ? 0 : checkNumber('opts.labelSmoothing', options.labelSmoothing, { min: 0, max: 1 });
  const w = checkClassWeight(options.weight, C);
  let counted: Uint8Array | null = null;
  if (options.lengths !== undefined) {
    if (z.rank !== 3) throw new ValidationError(`Expected logits of shape [batch, time, classes] with opts.lengths for crossEntropy but received ${formatShape(z.shape)}`);
    counted = lengthMask(checkSequenceLengths(options.lengths, z.shape[0], z.shape[1], 'opts.lengths'), z.shape[1]);
  }

  const probTarget = target instanceof Tensor && target.rank === z.rank ? target : null;
  const expected = `of shape ${formatShape(rowsShape)} (class indices) or ${formatShape(z.shape)} (class probabilities)`;
  const context = `crossEntropy with logits ${formatShape(z.shape)}`;
  if (probTarget && formatShape(probTarget.shape) !== formatShape(z.shape)) {
    throw new ShapeError(`Expected target ${expected} for ${context} but received ${formatShape(probTarget.shape)}`);
  }
  const classes = probTarget ? null : readClassTargets(readIntegerEntries('target', target, rowsShape, expected, context), C, ignoreIndex, counted);
  const probs = probTarget ? denseData(probTarget) : null;
  if (probs) {
    // Probabilities: a negative or non-finite one would give a meaningless (even negative) loss.
    const bad = probs.findIndex((p) => !(p >= 0 && p <= 1));
    if (bad >= 0) throw new ValidationError(`Expected class probabilities in [0, 1] for target of ${context} but received ${probs[bad]} at flat index ${bad}`);
  }
  if (classes) return classIndexCrossEntropy(z, classes, w, eps, reduction, rowsShape);
  const weights = w ?? new Float32Array(C).fill(1);

  // Row r's coefficients are a = u + k·onehot(y): for class indices u_c = (ε/C)·w_c
  // (the same for every row) and k = (1 - ε)·w_y; for probabilities u is the whole of a.
  const uniform = new Float64Array(C);
  let uniformSum = 0;
  for (let c = 0; c < C; c++) uniformSum += uniform[c] = (eps / C) * weights[c];
  const u = classes ? uniform : new Float64Array(C);
  const spread = classes === null || eps > 0;
  /** Sets u for row r (probability targets) and returns Σ_c a_c. */
  const coefficients = (r: number): number => {
    if (classes) return uniformSum + (1 - eps) * weights[classes[r]];
    let s = 0;
    for (let c = 0; c < C; c++) s += u[c] = weights[c] * ((1 - eps) * (probs as Float32Array)[r * C + c] + eps / C);
    return s;
  };
  const rowCounts = (r: number): boolean => (classes ? classes[r] >= 0 : counted === null || counted[r] === 1);

  const zs = denseData(z);
  const lse = new Float64Array(R);
  const losses = new Float64Array(R);
  let divisor = 0;
  for (let r = 0; r < R; r++) {
    if (!rowCounts(r)) continue;
    const base = r * C;
    let m = -Infinity;
    for (let c = 0; c < C; c++) if (zs[base + c] > m) m = zs[base + c];
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(zs[base + c] - m);
    const l = (lse[r] = m + Math.log(s));
    coefficients(r);
    let v = 0;
    // Skipping zero coefficients: 0·(lse - z) is 0 even where z = -Infinity.
    if (spread) for (let c = 0; c < C; c++) if (u[c] !== 0) v += u[c] * (l - zs[base + c]);
    if (classes) {
      const y = classes[r];
      v += (1 - eps) * weights[y] * (l - zs[base + y]);
      divisor += weights[y];
    } else {
      divisor += 1;
    }
    losses[r] = v;
  }
  const out = reduceLoss(losses, rowsShape, reduction, divisor);

  recordSingleOutput('crossEntropy', probTarget ? [z, probTarget] : [z], out, (g) => {
    const scale = itemGradients(g, R, reduction, divisor);
    const gz = z.requiresGrad ? new Float32Array(z.size) : null;
    const gt = probTarget?.requiresGrad ? new Float32Array(z.size) : null;
    for (let r = 0; r < R; r++) {
      if (!rowCounts(r)) continue;
      const base = r * C;
      const sum = coefficients(r);
      const k = scale[r];
      const l = lse[r];
      if (gz) {
        for (let c = 0; c < C; c++) gz[base + c] = k * (sum * Math.exp(zs[base + c] - l) - u[c]);
        if (classes) gz[base + classes[r]] -= k * (1 - eps) * weights[classes[r]];
      }
      if (gt) for (let c = 0; c < C; c++) gt[base + c] = k * (1 - eps) * weights[c] * (l - zs[base + c]);
    }
    const gradLogits = gz && new Tensor(gz, z.shape);
    return probTarget ? [gradLogits, gt && new Tensor(gt, z.shape)] : [gradLogits];
  });
  return out;
}

/**
 * Cross-entropy against class indices (−1 where a row does not count) in
 * the fused native pass; 'mean' divides by Σ w_y over counted rows.
 */
function classIndexCrossEntropy(z: Tensor, classes: Int32Array, w: Float32Array | null, eps: number, reduction: Reduction, rowsShape: number[]): Tensor {
  const C = z.shape[z.rank - 1];
  const R = classes.length;
  const losses = new Float64Array(R);
  // The kernel writes every element of probs and of the gradient.
  const probs = z.requiresGrad && isGradEnabled() ? unfilledFloats(z.size) : null;
  binding.softmaxXentForward(denseData(z), classes, w, eps, R, C, losses, probs);
  let divisor = 0;
  for (let r = 0; r < R; r++) if (classes[r] >= 0) divisor += w ? w[classes[r]] : 1;
  const out = reduceLoss(losses, rowsShape, reduction, divisor);
  if (probs) {
    recordSingleOutput('crossEntropy', [z], out, (g) => {
      const gz = unfilledFloats(z.size);
      binding.softmaxXentBackward(gz, probs, classes, w, eps, itemGradients(g, R, reduction, divisor), R, C);
      return [new Tensor(gz, z.shape)];
    });
  }
  return out;
}
