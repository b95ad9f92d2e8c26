/** Min-max scaling per feature into a range, sklearn's MinMaxScaler. */
import { FormatError } from '../errors';
import { checkNumber, checkOptions, fail, optionKeys } from '../validate';
import { Scaler, columnStats, jsonNumbers, jsonObject } from './scaler';
import { SeriesMatrix } from './series';

/** The options of {@link MinMaxScaler}. */
export interface MinMaxScalerOptions {
  /** The range the fitted minimum and maximum map to. @default [0, 1] */
  featureRange?: [number, number];
}

/** The keys of MinMaxScalerOptions, for checkOptions. */
export const MIN_MAX_SCALER_OPTION_KEYS = optionKeys<MinMaxScalerOptions>({ featureRange: true });

/** A fitted {@link MinMaxScaler} as plain JSON (`toJSON()`). */
export interface MinMaxScalerJSON {
  /** Identifies the scaler class. */
  type: 'MinMaxScaler';
  /** The range the fitted minimum and maximum map to. */
  featureRange: [number, number];
  /** Per-feature minimum of the fitted data. */
  min: number[];
  /** Per-feature maximum of the fitted data. */
  max: number[];
}

/**
 * Maps each feature's fitted [min, max] onto `featureRange` (a constant
 * feature maps to the range's low end). Values outside the fitted range
 * land outside `featureRange`: fit on the training split, and expect test
 * values of a trending series to go beyond 1.
 */
export class MinMaxScaler extends Scaler {
  /** The range the fitted minimum and maximum map to. */
  readonly featureRange: [number, number];
  private minValues: Float64Array = new Float64Array(0);
  private maxValues: Float64Array = new Float64Array(0);

  /**
   * @param opts - {@link MinMaxScalerOptions}.
   * @throws {@link ValidationError} when the range is malformed.
   */
  constructor(opts: MinMaxScalerOptions = {}) {
    super();
    const o = checkOptions('options', opts, MIN_MAX_SCALER_OPTION_KEYS);
    const range = o.featureRange ?? [0, 1];
    if (!Array.isArray(range) || range.length !== 2) fail('[low, high]', 'featureRange', range);
    const [lo, hi] = [checkNumber('featureRange[0]', range[0]), checkNumber('featureRange[1]', range[1])];
    if (!(lo < hi)) fail('[low, high] with low < high', 'featureRange', range);
    this.featureRange = [lo, hi];
  }

  /** Per-feature minimum of the fitted data. */
  get min(): number[] {
    return Array.from(this.minValues);
  }

  /** Per-feature maximum of the fitted data. */
  get max(): number[] {
    return Array.from(this.maxValues);
  }

  protected fitColumns(m: SeriesMatrix): void {
    const { min, max } = columnStats(m);
    this.setParams(min, max);
  }

  private setParams(min: Float64Array, max: Float64Array): void {
    this.minValues = min;
    this.maxValues = max;
    const [lo, hi] = this.featureRange;
    const a = min.map((mn, i) => (max[i] > mn ? (hi - lo) / (max[i] - mn) : 1));
    this.setAffine(min, a, new Float64Array(min.length).fill(lo));
  }

  /** The fitted scaler as plain JSON, for `fromJSON`. */
  toJSON(): MinMaxScalerJSON {
    return { type: 'MinMaxScaler', featureRange: [...this.featureRange], min: this.min, max: this.max };
  }

  /**
   * Rebuilds a fitted scaler from `toJSON()`'s output; malformed input gives a FormatError.
   * @param json - The output of `toJSON()` (parsed).
   * @throws {@link FormatError} when `json` is malformed.
   */
  static fromJSON(json: unknown): MinMaxScaler {
    const o = jsonObject(json, 'MinMaxScaler');
    const range = jsonNumbers(o, 'featureRange', 'json', 2);
    if (!(range[0] < range[1])) throw new FormatError(`Expected [low, high] with low < high for json.featureRange but received [${range.join(', ')}]`);
    const min = jsonNumbers(o, 'min', 'json');
    const max = jsonNumbers(o, 'max', 'json', min.length);
    for (let i = 0; i < min.length; i++) if (max[i] < min[i]) throw new FormatError(`Expected json.max[${i}] >= json.min[${i}] but received ${max[i]} < ${min[i]}`);
    const s = new MinMaxScaler({ featureRange: [range[0], range[1]] });
    s.setParams(min, max);
    return s;
  }

  override toString(): string {
    return `MinMaxScaler(${this.fitted ? `${this.features} features, ` : 'unfitted, '}featureRange=[${this.featureRange.join(', ')}])`;
  }
}
