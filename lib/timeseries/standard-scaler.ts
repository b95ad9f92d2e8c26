/** Standardization per feature: (v − mean) / std, sklearn's StandardScaler. */
import { Scaler, columnStats, jsonNumbers, jsonObject } from './scaler';
import { SeriesMatrix } from './series';

/** A fitted {@link StandardScaler} as plain JSON (`toJSON()`). */
export interface StandardScalerJSON {
  /** Identifies the scaler class. */
  type: 'StandardScaler';
  /** Per-feature mean of the fitted data. */
  mean: number[];
  /** Per-feature standard deviation of the fitted data. */
  std: number[];
}

/**
 * Scales each feature to mean 0 and standard deviation 1 over the fitted
 * data (population std; a constant feature is only shifted, as in sklearn).
 *
 * ```ts
 * const scaler = new eddy.timeseries.StandardScaler().fit(train);
 * const scaled = scaler.transform(train);
 * const stored = JSON.stringify(scaler);          // keep with the model
 * eddy.timeseries.StandardScaler.fromJSON(JSON.parse(stored));
 * ```
 */
export class StandardScaler extends Scaler {
  private meanValues: Float64Array = new Float64Array(0);
  private stdValues: Float64Array = new Float64Array(0);

  /** Per-feature means of the fitted data. */
  get mean(): number[] {
    return Array.from(this.meanValues);
  }

  /** Per-feature standard deviations of the fitted data. */
  get std(): number[] {
    return Array.from(this.stdValues);
  }

  protected fitColumns(m: SeriesMatrix): void {
    const { mean, std } = columnStats(m);
    this.setParams(mean, std);
  }

  private setParams(mean: Float64Array, std: Float64Array): void {
    this.meanValues = mean;
    this.stdValues = std;
    const a = std.map((s) => (s > 0 ? 1 / s : 1));
    this.setAffine(mean, a, new Float64Array(mean.length));
  }

  /** The fitted scaler as plain JSON, for `fromJSON`. */
  toJSON(): StandardScalerJSON {
    return { type: 'StandardScaler', mean: this.mean, std: this.std };
  }

  /**
   * Rebuilds a fitted scaler from `toJSON()`'s output; malformed input gives a FormatError.
   * @param json - The output of `toJSON()` (parsed).
   * @throws {@link FormatError} when `json` is malformed.
   */
  static fromJSON(json: unknown): StandardScaler {
    const o = jsonObject(json, 'StandardScaler');
    const mean = jsonNumbers(o, 'mean', 'json');
    const std = jsonNumbers(o, 'std', 'json', mean.length);
    const s = new StandardScaler();
    s.setParams(mean, std.map(Math.abs));
    return s;
  }

  override toString(): string {
    return `StandardScaler(${this.fitted ? `${this.features} features` : 'unfitted'})`;
  }
}
