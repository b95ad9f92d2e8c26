/**
 * The rolling z-score: the non-learned baseline of anomaly detection. Each
 * sample is scored by how many standard deviations it lies from the mean of
 * the samples just before it.
 */
import { checkInteger, checkOptions, fail, optionKeys } from '../validate';

/** The options of {@link rollingZScore}. */
export interface RollingZScoreOptions {
  /** Trailing samples the mean and standard deviation are taken over. @default 256 */
  window?: number;
}

/** The keys of RollingZScoreOptions, for checkOptions. */
export const ROLLING_Z_SCORE_OPTION_KEYS = optionKeys<RollingZScoreOptions>({ window: true });

/**
 * |x[t] − mean| / std over the `window` samples before t (population std);
 * the first `window` samples score 0. A flat window (std 0) scores any
 * departure from it as Infinity and a repeat of its value as 0.
 * @param signal - One number per sample.
 * @param options - {@link RollingZScoreOptions}.
 */
export function rollingZScore(signal: Float32Array | readonly number[], options?: RollingZScoreOptions): Float32Array {
  if (!(signal instanceof Float32Array) && !(signal instanceof Float64Array) && !Array.isArray(signal)) fail('a Float32Array or an array of numbers', 'signal', signal);
  const opts = checkOptions('options', options, ROLLING_Z_SCORE_OPTION_KEYS);
  const window = checkInteger('options.window', opts.window ?? 256, 2);
  const out = new Float32Array(signal.length);
  // Sums over the window, relative to its first value so the variance does not cancel catastrophically.
  let sum = 0;
  let sumSq = 0;
  const ref = signal.length > 0 ? signal[0] : 0;
  for (let t = 0; t < signal.length; t++) {
    if (t >= window) {
      const mean = sum / window;
      const std = Math.sqrt(Math.max(0, sumSq / window - mean * mean));
      const d = Math.abs(signal[t] - ref - mean);
      out[t] = std > 0 ? d / std : d > 0 ? Infinity : 0;
      const old = signal[t - window] - ref;
      sum -= old;
      sumSq -= old * old;
    }
    const v = signal[t] - ref;
    sum += v;
    sumSq += v * v;
  }
  return out;
}
