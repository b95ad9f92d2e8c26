/**
 * The common part of the scalers: a per-feature affine map (v − shift)·a + b fitted
 * on training data, applied to series or tensors (features on the last
 * axis), inverted to bring predictions back to original units.
 */
import { FormatError, ShapeError, ValidationError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { checkOptions, describe, fail, optionKeys } from '../validate';
import { checkColumns, readSeries, Series, SeriesMatrix, toSeries } from './series';

/** The options of `transform` and `inverseTransform`. */
export interface TransformOptions {
  /**
   * The fitted features the data's columns are, e.g. the `targets` of a
   * forecast model predicting a subset of the features. @default every fitted feature, in order
   */
  columns?: number[];
}

/** The keys of TransformOptions, for checkOptions. */
export const TRANSFORM_OPTION_KEYS = optionKeys<TransformOptions>({ columns: true });

/**
 * A per-feature affine map fitted on training data: the base of {@link StandardScaler} and {@link
 * MinMaxScaler}.
 */
export abstract class Scaler {
  /** Per fitted feature: scaled = (value − shift) · a + b. Empty until fitted. */
  protected shift: Float64Array = new Float64Array(0);
  protected a: Float64Array = new Float64Array(0);
  protected b: Float64Array = new Float64Array(0);

  /** Whether `fit` (or `fromJSON`) has set the parameters. */
  get fitted(): boolean {
    return this.a.length > 0;
  }

  /** Number of features the scaler was fitted on. */
  get features(): number {
    return this.a.length;
  }

  /**
   * Learns the per-feature parameters from `series` (NaN and null are ignored). Fit on the training
   * split only.
   * @param series - The training rows.
   * @throws {@link ValidationError} when the series is empty or malformed.
   */
  fit(series: Series): this {
    const m = readSeries('series', series);
    if (m.rows === 0) fail('a series with at least one row', 'series', series);
    this.fitColumns(m);
    return this;
  }

  /**
   * `fit(series)` then `transform(series)`.
   * @param series - The training rows.
   */
  fitTransform(series: Series): number[] | number[][] {
    return this.fit(series).transform(series);
  }

  /**
   * Scales `data` (a series, or a Tensor with features on its last axis); returns the same form.
   * @param data - A series.
   * @param opts - {@link TransformOptions}.
   * @throws {@link ValidationError} when the scaler is not fitted.
   * @throws {@link ShapeError} when the data's width does not match.
   */
  transform(data: Series, opts?: TransformOptions): number[] | number[][];
  /**
   * Scales a tensor with features on its last axis.
   * @param data - A tensor with features on its last axis.
   * @param opts - {@link TransformOptions}.
   */
  transform(data: Tensor, opts?: TransformOptions): Tensor;
  transform(data: Series | Tensor, opts?: TransformOptions): number[] | number[][] | Tensor {
    return this.map(data, opts, 'transform', false);
  }

  /**
   * Undoes `transform`: predictions back in original units.
   * @param data - A scaled series.
   * @param opts - {@link TransformOptions}.
   * @throws {@link ValidationError} when the scaler is not fitted.
   * @throws {@link ShapeError} when the data's width does not match.
   */
  inverseTransform(data: Series, opts?: TransformOptions): number[] | number[][];
  /**
   * Undoes `transform` on a tensor with features on its last axis.
   * @param data - A scaled tensor with features on its last axis.
   * @param opts - {@link TransformOptions}.
   */
  inverseTransform(data: Tensor, opts?: TransformOptions): Tensor;
  inverseTransform(data: Series | Tensor, opts?: TransformOptions): number[] | number[][] | Tensor {
    return this.map(data, opts, 'inverseTransform', true);
  }

  /**
   * Applies the map (or its inverse) to a flat row-major buffer whose rows hold `columns`; in
   * place.
   * @param values - Row-major values, one fitted feature per column.
   * @param columns - The fitted feature of each column.
   * @param inverse - Apply the inverse map.
   */
  applyInPlace(values: Float32Array | Float64Array, columns: readonly number[], inverse: boolean): void {
    const k = columns.length;
    for (let i = 0; i < values.length; i++) {
      const c = columns[i % k];
      values[i] = inverse ? (values[i] - this.b[c]) / this.a[c] + this.shift[c] : (values[i] - this.shift[c]) * this.a[c] + this.b[c];
    }
  }

  /**
   * Checks `opts.columns` against the fitted features and the data's width.
   * @param opts - {@link TransformOptions}.
   * @param width - The data's number of columns.
   * @param what - The data's name in messages.
   * @throws {@link ValidationError} when the scaler is not fitted.
   * @throws {@link ShapeError} when the columns do not fit the data.
   */
  resolveColumns(opts: TransformOptions | undefined, width: number, what: string): number[] {
    if (!this.fitted) throw new ValidationError(`Expected a fitted ${this.constructor.name} for ${what} but received an unfitted one; call fit(trainingSeries) first`);
    const o = checkOptions('options', opts, TRANSFORM_OPTION_KEYS);
    const columns = checkColumns('columns', o.columns, this.features);
    if (columns.length !== width) {
      const expected = o.columns ? `opts.columns (${columns.length})` : `the ${this.constructor.name} was fitted on`;
      throw new ShapeError(`Expected data with ${columns.length} feature${columns.length === 1 ? '' : 's'} (what ${expected}) for ${what} but received ${width}`);
    }
    return columns;
  }

  private map(data: Series | Tensor, opts: TransformOptions | undefined, what: string, inverse: boolean): number[] | number[][] | Tensor {
    if (data instanceof Tensor) {
      if (data.rank === 0) throw new ShapeError(`Expected a Tensor with features on its last axis for ${what} but received a scalar`);
      const columns = this.resolveColumns(opts, data.shape[data.rank - 1], what);
      const out = data.toFloat32Array().slice();
      this.applyInPlace(out, columns, inverse);
      return new Tensor(out, data.shape);
    }
    const m: SeriesMatrix = readSeries('data', data);
    const columns = this.resolveColumns(opts, m.cols, what);
    this.applyInPlace(m.values, columns, inverse);
    return toSeries(m);
  }

  protected setAffine(shift: Float64Array, a: Float64Array, b: Float64Array): void {
    this.shift = shift;
    this.a = a;
    this.b = b;
  }

  protected abstract fitColumns(m: SeriesMatrix): void;

  /** The fitted parameters as plain JSON, to store with a model. */
  abstract toJSON(): object;
}

/** Per-column statistics over the non-missing values; every column must have one. */
export function columnStats(m: SeriesMatrix): { mean: Float64Array; std: Float64Array; min: Float64Array; max: Float64Array } {
  const { rows, cols, values } = m;
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  const min = new Float64Array(cols).fill(Infinity);
  const max = new Float64Array(cols).fill(-Infinity);
  for (let c = 0; c < cols; c++) {
    let n = 0;
    let s = 0;
    for (let r = 0; r < rows; r++) {
      const v = values[r * cols + c];
      if (Number.isNaN(v)) continue;
      n++;
      s += v;
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
    }
    if (n === 0) throw new ValidationError(`Expected at least one value in column ${c} of series to fit a scaler but every value is missing`);
    mean[c] = s / n;
    let q = 0;
    for (let r = 0; r < rows; r++) {
      const v = values[r * cols + c];
      if (!Number.isNaN(v)) q += (v - mean[c]) * (v - mean[c]);
    }
    std[c] = Math.sqrt(q / n);
  }
  return { mean, std, min, max };
}

/** Reads a non-empty array of finite numbers from a scaler's JSON. */
export function jsonNumbers(json: Record<string, unknown>, key: string, owner: string, length?: number): Float64Array {
  const v = json[key];
  if (!Array.isArray(v) || v.length === 0 || (length !== undefined && v.length !== length) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new FormatError(
      `Expected ${length === undefined ? 'a non-empty array of' : `an array of ${length}`} finite numbers for ${owner}.${key} but received ${describe(v)}`,
    );
  }
  return Float64Array.from(v as number[]);
}

/** Checks that `json` is an object with `type` equal to `type`. */
export function jsonObject(json: unknown, type: string): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new FormatError(`Expected a ${type} JSON object for json but received ${describe(json)}`);
  const o = json as Record<string, unknown>;
  if (o.type !== type) throw new FormatError(`Expected type "${type}" for json.type but received ${describe(o.type)}`);
  return o;
}
