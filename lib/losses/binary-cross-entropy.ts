/**
 * Binary cross-entropy from logits, PyTorch's `F.binary_cross_entropy_with_logits`:
 *
 *   loss = (1 - y)·x - (1 + (p - 1)·y)·log σ(x)
 *
 * with p the positive-class weight. log σ(x) = min(x, 0) - log1p(e^-|x|)
 * never overflows, so large logits of either sign are safe.
 */
import { ShapeError } from '../errors';
import { Tensor, denseData } from '../tensor/tensor';
import { checkOptions, describe, fail, formatShape, optionKeys } from '../validate';
import { checkInputAndTarget, elementwiseLoss } from './elementwise';
import { Reduction, checkReduction } from './reduction';

/** The options of {@link binaryCrossEntropyWithLogits}. */
export interface BinaryCrossEntropyOptions {
  /**
   * Weight of the positive term, one per class along the last axis of
   * input (a Tensor, array or Float32Array of that length), or one number
   * for all. Not differentiated. @default 1
   */
  posWeight?: Tensor | ArrayLike<number> | number;
  /** 'mean' over all elements, 'sum', or 'none' (shaped like logits). @default 'mean' */
  reduction?: Reduction;
}

/** The keys of BinaryCrossEntropyOptions, for checkOptions. */
export const BINARY_CROSS_ENTROPY_OPTION_KEYS = optionKeys<BinaryCrossEntropyOptions>({ posWeight: true, reduction: true });

function logSigmoid(x: number): number {
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

/** σ(-x) = 1 - σ(x), without cancellation. */
function sigmoidOfNegative(x: number): number {
  if (x >= 0) {
    const e = Math.exp(-x);
    return e / (1 + e);
  }
  return 1 / (1 + Math.exp(x));
}

/** posWeight as one value per class of the last axis (length `classes`), or null for all ones. */
function checkPosWeight(value: unknown, inputShape: readonly number[]): Float32Array | null {
  if (value === undefined) return null;
  const classes = inputShape.length === 0 ? 1 : inputShape[inputShape.length - 1];
  let w: Float32Array;
  if (typeof value === 'number') {
    w = new Float32Array(classes).fill(value);
  } else if (value instanceof Tensor) {
    if (value.size !== classes || value.rank > 1) {
      throw new ShapeError(`Expected opts.posWeight of shape [${classes}] (the last dimension of logits ${formatShape(inputShape)}) for binaryCrossEntropyWithLogits but received ${formatShape(value.shape)}`);
    }
    w = denseData(value);
  } else if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    const arr = value as ArrayLike<number>;
    if (arr.length !== classes) {
      throw new ShapeError(`Expected opts.posWeight of length ${classes} (the last dimension of logits ${formatShape(inputShape)}) for binaryCrossEntropyWithLogits but received ${describe(value)}`);
    }
    w = Float32Array.from(arr);
  } else {
    fail('Tensor, array of numbers or number', 'opts.posWeight', value);
  }
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) fail('finite numbers', `opts.posWeight[${i}]`, w[i]);
  return w;
}

/**
 * Binary cross-entropy of `logits` against `target` probabilities (same
 * shape), differentiable in both.
 * @param logits - Raw scores (before the sigmoid), any shape.
 * @param target - Probabilities in [0, 1], shaped like `logits`.
 * @param opts - {@link BinaryCrossEntropyOptions}.
 * @throws {@link ShapeError} when `target` or `posWeight` does not match `logits`.
 * @throws {@link ValidationError} when an option is malformed.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, opts?: BinaryCrossEntropyOptions): Tensor {
  const [x, y] = checkInputAndTarget('binaryCrossEntropyWithLogits', logits, target, 'logits');
  const options = checkOptions('opts', opts, BINARY_CROSS_ENTROPY_OPTION_KEYS);
  const reduction = checkReduction(options.reduction);
  const posWeight = checkPosWeight(options.posWeight, x.shape);
  const classes = posWeight === null ? 1 : posWeight.length;
  const p = (i: number): number => (posWeight === null ? 1 : posWeight[i % classes]);
  return elementwiseLoss('binaryCrossEntropyWithLogits', x, y, reduction, {
    loss: (a, b, i) => (1 - b) * a - (1 + (p(i) - 1) * b) * logSigmoid(a),
    // d/dx: (1 - y) - (1 + (p - 1)·y)·σ(-x)
    dInput: (a, b, i) => 1 - b - (1 + (p(i) - 1) * b) * sigmoidOfNegative(a),
    // d/dy: -x - (p - 1)·log σ(x)
    dTarget: (a, _b, i) => -a - (p(i) - 1) * logSigmoid(a),
  });
}
