/**
 * Regression metrics as plain numbers, accumulated in float64: mae, rmse,
 * mape. Predictions and targets are Tensors of one shape, or arrays of one
 * length.
 */
import { ShapeError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { describe, fail, formatShape } from '../validate';

/** Predictions or targets: a Tensor, or an array (or typed array) of numbers. */
type Values = Tensor | ArrayLike<number>;

function read(name: string, value: unknown): ArrayLike<number> {
  if (value instanceof Tensor) return value.toFloat32Array();
  if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array))) {
    return value as ArrayLike<number>;
  }
  fail('Tensor or array of numbers', name, value);
}

function pairs(what: string, predictions: unknown, targets: unknown): [ArrayLike<number>, ArrayLike<number>] {
  const p = read('predictions', predictions);
  const t = read('targets', targets);
  if (predictions instanceof Tensor && targets instanceof Tensor) {
    if (formatShape(predictions.shape) !== formatShape(targets.shape)) {
      throw new ShapeError(`Expected targets of shape ${formatShape(predictions.shape)} (the shape of predictions) for ${what} but received ${formatShape(targets.shape)}`);
    }
  } else if (p.length !== t.length) {
    throw new ShapeError(`Expected targets with ${p.length} values (one per prediction) for ${what} but received ${targets instanceof Tensor ? formatShape(targets.shape) : describe(targets)}`);
  }
  return [p, t];
}

/**
 * Mean absolute error; NaN for no values.
 * @param predictions - The predicted values.
 * @param targets - The true values, as many as predictions (the same shape for tensors).
 * @throws {@link ShapeError} when the sizes differ.
 */
export function mae(predictions: Values, targets: Values): number {
  const [p, t] = pairs('mae', predictions, targets);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i] - t[i]);
  return s / p.length;
}

/**
 * Root mean squared error; NaN for no values.
 * @param predictions - The predicted values.
 * @param targets - The true values, as many as predictions (the same shape for tensors).
 * @throws {@link ShapeError} when the sizes differ.
 */
export function rmse(predictions: Values, targets: Values): number {
  const [p, t] = pairs('rmse', predictions, targets);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (p[i] - t[i]) * (p[i] - t[i]);
  return Math.sqrt(s / p.length);
}

/**
 * Mean absolute percentage error, in percent: 100 · mean |p - t| / |t| over
 * the targets that are not zero (a zero target has no relative error, and
 * skipping it beats dividing by an epsilon, which would let one such value
 * dominate). NaN when every target is zero.
 * @param predictions - The predicted values.
 * @param targets - The true values, as many as predictions (the same shape for tensors).
 * @throws {@link ShapeError} when the sizes differ.
 */
export function mape(predictions: Values, targets: Values): number {
  const [p, t] = pairs('mape', predictions, targets);
  let s = 0;
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    if (t[i] === 0) continue;
    s += Math.abs((p[i] - t[i]) / t[i]);
    n++;
  }
  return (100 * s) / n;
}
