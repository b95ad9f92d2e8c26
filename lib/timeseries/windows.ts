/**
 * Sliding windows over a series: inputs of `inputSteps` rows and the
 * `horizon` rows that follow as targets — Keras'
 * `timeseries_dataset_from_array` with multi-step horizons, as tensors
 * that `model.fit({ x, y })` takes.
 */
import { ShapeError } from '../errors';
import { Generator, globalGenerator } from '../random';
import { Tensor } from '../tensor/tensor';
import { checkBoolean, checkInteger, checkOneOf, checkOptions, optionKeys } from '../validate';
import { applyMissing, MISSING_POLICIES, MissingPolicy } from './missing';
import { checkColumns, readSeries, Series } from './series';

/** The options of {@link windows}. */
export interface WindowOptions {
  /** Time steps in each input window. */
  inputSteps: number;
  /** Time steps to predict after each window. @default 1 */
  horizon?: number;
  /** Steps between the starts of consecutive windows. @default 1 */
  stride?: number;
  /** Columns to predict (indices into each row). @default every column */
  targets?: number[];
  /** Put the windows in random order. @default false */
  shuffle?: boolean;
  /** Seed for the shuffle. @default the global generator (`eddy.manualSeed`) */
  seed?: number;
  /** Missing values (NaN, null): see `MissingPolicy`. @default 'error' */
  missing?: MissingPolicy;
  /** y as [N, horizon · targets] (for a model ending in a Linear layer) instead of [N, horizon, targets]. @default false */
  flatten?: boolean;
}

/** The keys of WindowOptions, for checkOptions. */
export const WINDOW_OPTION_KEYS = optionKeys<WindowOptions>({ inputSteps: true, horizon: true, stride: true, targets: true, shuffle: true, seed: true, missing: true, flatten: true });

/** What {@link windows} returns: inputs, targets and where each window starts. */
export interface Windows {
  /** Inputs [N, inputSteps, features]. */
  x: Tensor;
  /** Targets [N, horizon, targets] ([N, horizon · targets] with `flatten`). */
  y: Tensor;
  /** The row of the series where each window's input starts. */
  starts: Int32Array;
}

/**
 * Cuts `series` into windows: window i covers rows s … s + inputSteps − 1
 * (s = i · stride) as input and the `horizon` rows after them as targets,
 * for every s where all of those rows exist.
 *
 * ```ts
 * const { x, y } = eddy.timeseries.windows([1, 2, 3, 4, 5], { inputSteps: 3 });
 * // x [2, 3, 1]: [1, 2, 3], [2, 3, 4]; y [2, 1, 1]: [4], [5]
 * ```
 * @param series - The series: number[] (one feature) or rows of features.
 * @param opts - {@link WindowOptions}.
 * @throws {@link ShapeError} when the series is too short for one window.
 * @throws {@link ValidationError} when an option is malformed.
 */
export function windows(series: Series, opts: WindowOptions): Windows {
  const o = checkOptions('options', opts, WINDOW_OPTION_KEYS);
  const inputSteps = checkInteger('inputSteps', o.inputSteps, 1);
  const horizon = checkInteger('horizon', o.horizon ?? 1, 1);
  const stride = checkInteger('stride', o.stride ?? 1, 1);
  const shuffle = checkBoolean('shuffle', o.shuffle ?? false);
  const flatten = checkBoolean('flatten', o.flatten ?? false);
  const generator = o.seed === undefined ? globalGenerator : new Generator(checkInteger('seed', o.seed, 0, Number.MAX_SAFE_INTEGER));
  const missing = checkOneOf('missing', o.missing ?? 'error', MISSING_POLICIES);
  const read = readSeries('series', series);
  const targets = checkColumns('targets', o.targets, read.cols);
  const m = applyMissing(read, missing, { locate: (r, c) => (read.univariate ? `row ${r} of series` : `row ${r}, column ${c} of series`) }).matrix;

  const span = inputSteps + horizon;
  if (m.rows < span) {
    throw new ShapeError(`Expected a series of at least inputSteps + horizon = ${span} rows for windows but received ${m.rows}`);
  }
  const n = Math.floor((m.rows - span) / stride) + 1;
  const starts = Int32Array.from({ length: n }, (_, i) => i * stride);
  if (shuffle) generator.shuffle(starts);
  const F = m.cols;
  const T = targets.length;
  const x = new Float32Array(n * inputSteps * F);
  const y = new Float32Array(n * horizon * T);
  for (let i = 0; i < n; i++) {
    const s = starts[i];
    x.set(m.values.subarray(s * F, (s + inputSteps) * F), i * inputSteps * F);
    for (let h = 0; h < horizon; h++) {
      const row = (s + inputSteps + h) * F;
      for (let t = 0; t < T; t++) y[(i * horizon + h) * T + t] = m.values[row + targets[t]];
    }
  }
  return {
    x: new Tensor(x, [n, inputSteps, F]),
    y: new Tensor(y, flatten ? [n, horizon * T] : [n, horizon, T]),
    starts,
  };
}
