/**
 * Per-utterance mean and variance normalisation (CMVN): each feature of an
 * utterance is shifted to mean 0 and, by default, scaled to variance 1
 * over that utterance's frames, so loudness and channel differences
 * between recordings do not reach the model.
 */
import { ShapeError } from '../errors';
import { Tensor, checkTensor, denseData } from '../tensor/tensor';
import { checkBoolean, checkNumber, checkOptions, formatShape, optionKeys } from '../validate';

/** Options of `normalizeUtterance`. */
export interface NormalizeOptions {
  /** Divide by the standard deviation as well as subtracting the mean. @default true */
  variance?: boolean;
  /** Added to the variance before the square root, so constant features stay finite. @default 1e-5 */
  epsilon?: number;
}

/** The keys of NormalizeOptions, for checkOptions. */
export const NORMALIZE_OPTION_KEYS = optionKeys<NormalizeOptions>({ variance: true, epsilon: true });

/**
 * Normalises a feature matrix [frames, features] per feature; returns a new Tensor.
 * @param features - Feature matrix [frames, features].
 * @param opts - Whether to scale to unit variance, and the variance floor.
 * @throws ShapeError if `features` is not 2-D; ValidationError for an invalid option.
 */
export function normalizeUtterance(features: Tensor, opts?: NormalizeOptions): Tensor {
  const x = checkTensor('features', features);
  if (x.rank !== 2) throw new ShapeError(`Expected features of shape [frames, features] for normalizeUtterance but received ${formatShape(x.shape)}`);
  const o = checkOptions('opts', opts, NORMALIZE_OPTION_KEYS);
  const scale = o.variance === undefined ? true : checkBoolean('opts.variance', o.variance);
  const epsilon = o.epsilon === undefined ? 1e-5 : checkNumber('opts.epsilon', o.epsilon, { min: 0 });
  const [T, F] = x.shape;
  const data = denseData(x);
  const out = new Float32Array(T * F);
  for (let f = 0; f < F; f++) {
    let mean = 0;
    for (let t = 0; t < T; t++) mean += data[t * F + f];
    mean /= Math.max(1, T);
    let variance = 0;
    for (let t = 0; t < T; t++) variance += (data[t * F + f] - mean) ** 2;
    variance /= Math.max(1, T);
    const inv = scale ? 1 / Math.sqrt(variance + epsilon) : 1;
    for (let t = 0; t < T; t++) out[t * F + f] = (data[t * F + f] - mean) * inv;
  }
  return new Tensor(out, [T, F]);
}
