/**
 * What the default forecaster's network sees and predicts: every value
 * measured from the last observed value (the level), in units of the
 * series' typical one-step change. The network then predicts changes, not
 * levels, so a trend or a level it never saw in training costs nothing, and
 * an output of zero is the naive forecast.
 *
 * For a forecast origin t (the first row to predict) with level ℓ = y[t−1]:
 *   absolute scaling: z(v) = (v − ℓ) / s,       s = mean |y[i] − y[i−1]|
 *   relative scaling: z(v) = (v / ℓ − 1) / s,   s = mean |y[i] / y[i−1] − 1|
 * (relative suits series whose swings grow with their level, such as
 * airline passengers; it needs positive values). Features, in order:
 *   z(y[t−L]) … z(y[t−2])                      the L − 1 lags before the level
 *   z(y[t+k−m·(⌊k/m⌋+1)]) for k = 0 … H−1      the seasonal-naive forecast of each step (season m ≥ 2)
 *   z(y[t−1−m])                                the level one season earlier
 * and the targets are z(y[t]) … z(y[t+H−1]).
 */
import { ValidationError } from '../errors';

/** How changes are measured: in the series' units ('absolute') or relative to the level ('relative', for positive series). */
export type Scaling = 'absolute' | 'relative';

/** The shape of a lag network's inputs and targets, and how it scales changes. */
export interface LagFeatures {
  /** Lags L (rows of history in the window). */
  inputSteps: number;
  /** Seasonal period m, 0 for none. */
  season: number;
  /** Steps H predicted per origin. */
  horizon: number;
  /** How changes are measured. */
  scaling: Scaling;
  /** Typical one-step change s (see the file comment). */
  scale: number;
}

/** Width of the feature vector. */
export function featureWidth(f: LagFeatures): number {
  return f.inputSteps - 1 + (f.season >= 2 ? f.horizon + 1 : 0);
}

/** Rows of history an origin needs. */
export function historyNeeded(f: LagFeatures): number {
  return Math.max(f.inputSteps, f.season >= 2 ? f.season + 1 : 0);
}

/** The typical one-step change of `y` under `scaling` (1 for a constant series). */
export function typicalChange(y: Float64Array, scaling: Scaling): number {
  let s = 0;
  for (let i = 1; i < y.length; i++) s += Math.abs(scaling === 'relative' ? y[i] / y[i - 1] - 1 : y[i] - y[i - 1]);
  s /= Math.max(1, y.length - 1);
  return s > 0 && Number.isFinite(s) ? s : 1;
}

/** The size of one unit of z at level ℓ, in the series' units. */
export function unitAt(f: LagFeatures, level: number): number {
  return f.scaling === 'relative' ? f.scale * level : f.scale;
}

/** z(v) at level ℓ. */
export function toChange(f: LagFeatures, level: number, v: number): number {
  return f.scaling === 'relative' ? (v / level - 1) / f.scale : (v - level) / f.scale;
}

/** The value whose z at level ℓ is `z`. */
export function fromChange(f: LagFeatures, level: number, z: number): number {
  return f.scaling === 'relative' ? level * (1 + f.scale * z) : level + f.scale * z;
}

/**
 * Writes the features of origin t (rows before t of `y` are history) into
 * `out` at `offset` and returns the level ℓ.
 */
export function encodeOrigin(f: LagFeatures, y: ArrayLike<number>, t: number, out: Float32Array, offset: number): number {
  const level = y[t - 1];
  if (f.scaling === 'relative' && !(level > 0)) {
    throw new ValidationError(`Expected positive values at the end of the history for a forecaster with relative scaling but received ${level} at row ${t - 1}`);
  }
  let j = offset;
  for (let r = t - f.inputSteps; r < t - 1; r++) out[j++] = toChange(f, level, y[r]);
  const m = f.season;
  if (m >= 2) {
    for (let k = 0; k < f.horizon; k++) out[j++] = toChange(f, level, y[t + k - m * (Math.floor(k / m) + 1)]);
    out[j++] = toChange(f, level, y[t - 1 - m]);
  }
  return level;
}
