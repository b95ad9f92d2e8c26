/**
 * Regression losses with PyTorch's definitions, defaults and gradients
 * (for input and target): mse (`F.mse_loss`), mae (`F.l1_loss`), huber
 * (`F.huber_loss`). Input and target must have the same shape (PyTorch
 * would broadcast them with a warning, which is almost always a bug).
 */
import { Tensor } from '../tensor/tensor';
import { checkOptions, fail, optionKeys } from '../validate';
import { checkInputAndTarget, elementwiseLoss } from './elementwise';
import { Reduction, checkReduction } from './reduction';

/** The options of {@link mse} and {@link mae}. */
export interface RegressionLossOptions {
  /** 'mean' over all elements, 'sum', or 'none' (one loss per element, shaped like input). @default 'mean' */
  reduction?: Reduction;
}

/** The keys of RegressionLossOptions, for checkOptions. */
export const REGRESSION_LOSS_OPTION_KEYS = optionKeys<RegressionLossOptions>({ reduction: true });

/** The options of {@link huber}. */
export interface HuberOptions extends RegressionLossOptions {
  /** Where the loss turns from quadratic to linear; must be positive. @default 1 */
  delta?: number;
}

/** The keys of HuberOptions, for checkOptions. */
export const HUBER_OPTION_KEYS = optionKeys<HuberOptions>({ delta: true, reduction: true });

/**
 * Mean squared error: (x - y)².
 * @param input - The predictions.
 * @param target - The targets, shaped like `input`.
 * @param opts - {@link RegressionLossOptions}.
 * @throws {@link ShapeError} when the shapes differ.
 */
export function mse(input: Tensor, target: Tensor, opts?: RegressionLossOptions): Tensor {
  const [x, y] = checkInputAndTarget('mse', input, target);
  const reduction = checkReduction(checkOptions('opts', opts, REGRESSION_LOSS_OPTION_KEYS).reduction);
  return elementwiseLoss('mse', x, y, reduction, {
    loss: (a, b) => (a - b) * (a - b),
    dInput: (a, b) => 2 * (a - b),
    dTarget: (a, b) => 2 * (b - a),
  });
}

/**
 * Mean absolute error (L1): |x - y|; the gradient at x = y is 0, as in PyTorch.
 * @param input - The predictions.
 * @param target - The targets, shaped like `input`.
 * @param opts - {@link RegressionLossOptions}.
 * @throws {@link ShapeError} when the shapes differ.
 */
export function mae(input: Tensor, target: Tensor, opts?: RegressionLossOptions): Tensor {
  const [x, y] = checkInputAndTarget('mae', input, target);
  const reduction = checkReduction(checkOptions('opts', opts, REGRESSION_LOSS_OPTION_KEYS).reduction);
  return elementwiseLoss('mae', x, y, reduction, {
    loss: (a, b) => Math.abs(a - b),
    dInput: (a, b) => Math.sign(a - b),
    dTarget: (a, b) => Math.sign(b - a),
  });
}

/**
 * Huber loss: ½d² where |d| < delta, else delta·(|d| - ½delta), with d = x - y.
 * @param input - The predictions.
 * @param target - The targets, shaped like `input`.
 * @param opts - {@link HuberOptions}.
 * @throws {@link ShapeError} when the shapes differ.
 */
export function huber(input: Tensor, target: Tensor, opts?: HuberOptions): Tensor {
  const [x, y] = checkInputAndTarget('huber', input, target);
  const options = checkOptions('opts', opts, HUBER_OPTION_KEYS);
  const reduction = checkReduction(options.reduction);
  const delta = options.delta ?? 1;
  if (typeof delta !== 'number' || !Number.isFinite(delta) || delta <= 0) fail('positive number', 'opts.delta', delta);
  // The derivative d clamped to [-delta, delta]; both pieces agree at |d| = delta.
  const slope = (d: number): number => (d < -delta ? -delta : d > delta ? delta : d);
  return elementwiseLoss('huber', x, y, reduction, {
    loss: (a, b) => {
      const d = Math.abs(a - b);
      return d < delta ? 0.5 * d * d : delta * (d - 0.5 * delta);
    },
    dInput: (a, b) => slope(a - b),
    dTarget: (a, b) => slope(b - a),
  });
}
