/**
 * Recursive multi-step forecasting with a model trained on windows: the
 * model sees the last `inputSteps` rows, its predictions are appended to
 * the window, and it runs again until the requested number of steps exists.
 */
import { ShapeError, ValidationError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkOneOf, checkOptions, describe, fail, optionKeys } from '../validate';
import { applyMissing, MISSING_POLICIES, MissingPolicy } from './missing';
import { Scaler } from './scaler';
import { checkColumns, readSeries, Series } from './series';

/**
 * What can forecast: an eddy Model (anything with `predict(x)`), or a
 * function from inputs [batch, inputSteps, features] to outputs. Outputs
 * hold h steps of the target columns per row: [batch, h, targets],
 * [batch, h · targets] or [batch, targets] (h = 1).
 */
export type ForecastModel =
  | {
      /**
       * The outputs for a batch of input windows.
       * @param x - Input windows, [batch, inputSteps, features].
       * @param opts - `batchSize`, rows per forward pass.
       */
      predict(x: Tensor, opts?: { /** Rows per forward pass. */ batchSize?: number }): Promise<Tensor>;
    }
  | ((x: Tensor) => Tensor | Promise<Tensor>);

/** The options of {@link Forecaster} and {@link forecast}. */
export interface ForecasterOptions {
  /** Rows of history the model takes (its training windows' inputSteps). */
  inputSteps: number;
  /**
   * The fitted scaler of the model's training data: inputs are scaled with
   * it and predictions come back in original units. @default none (the model works in original units)
   */
  scaler?: Scaler;
  /** The columns the model predicts (the windows' `targets`). Forecasting past the model's own horizon needs every column. @default every column */
  targets?: number[];
  /** Missing values in the history: see `MissingPolicy`. @default 'error' */
  missing?: MissingPolicy;
}

/** The keys of ForecasterOptions, for checkOptions. */
export const FORECASTER_OPTION_KEYS = optionKeys<ForecasterOptions>({ inputSteps: true, scaler: true, targets: true, missing: true });

export function checkForecastModel(model: unknown): ForecastModel {
  const ok = typeof model === 'function' || (model !== null && typeof model === 'object' && typeof (model as { predict?: unknown }).predict === 'function');
  if (!ok) fail('a model with predict(x) or a function of x', 'model', model);
  return model as ForecastModel;
}

async function run(model: ForecastModel, x: Tensor): Promise<Tensor> {
  const out = typeof model === 'function' ? await model(x) : await model.predict(x, { batchSize: x.shape[0] });
  if (!(out instanceof Tensor)) throw new ValidationError(`Expected the model to return a Tensor but received ${describe(out)}`);
  return out;
}

/**
 * Forecasts `steps` rows after each of B windows. `windows` holds
 * [B, inputSteps, F] scaled inputs; the result [B, steps, targets] is
 * scaled too. The model runs ⌈steps / h⌉ times for a model predicting h
 * steps per call.
 */
export async function forecastWindows(model: ForecastModel, windows: Float32Array, B: number, inputSteps: number, F: number, targets: readonly number[], steps: number): Promise<Float32Array> {
  const T = targets.length;
  const out = new Float32Array(B * steps * T);
  let x = windows;
  for (let done = 0; done < steps; ) {
    const pred = await run(model, new Tensor(x, [B, inputSteps, F]));
    const perRow = pred.size / B;
    if (pred.shape[0] !== B || perRow < T || perRow % T !== 0) {
      throw new ShapeError(`Expected model outputs of shape [${B}, h, ${T}] or [${B}, h · ${T}] (h steps of ${T} target${T === 1 ? '' : 's'}) for forecasting but received [${pred.shape.join(', ')}]`);
    }
    const h = perRow / T;
    const p = pred.toFloat32Array();
    const take = Math.min(h, steps - done);
    for (let b = 0; b < B; b++) out.set(p.subarray(b * perRow, b * perRow + take * T), (b * steps + done) * T);
    done += take;
    if (done >= steps) break;
    if (T !== F) {
      throw new ValidationError(
        `Expected a model predicting every feature (${F}) to forecast ${steps} steps recursively but received one predicting ${T} of them ${h} step${h === 1 ? '' : 's'} at a time; train it with horizon ≥ ${steps} or on every column`,
      );
    }
    // Slide: keep the last inputSteps rows of (window ++ h predicted rows).
    const next = new Float32Array(B * inputSteps * F);
    for (let b = 0; b < B; b++) {
      const rows: Float32Array[] = [];
      for (let r = 0; r < inputSteps; r++) rows.push(x.subarray((b * inputSteps + r) * F, (b * inputSteps + r + 1) * F));
      for (let k = 0; k < h; k++) {
        const row = new Float32Array(F);
        for (let t = 0; t < T; t++) row[targets[t]] = p[b * perRow + k * T + t];
        rows.push(row);
      }
      const tail = rows.slice(rows.length - inputSteps);
      tail.forEach((row, r) => next.set(row, (b * inputSteps + r) * F));
    }
    x = next;
  }
  return out;
}

/**
 * A trained window model with what it needs to forecast in original units.
 *
 * ```ts
 * const f = new eddy.timeseries.Forecaster(model, { inputSteps: 52, scaler });
 * const next26 = await f.forecast(history, 26);   // number[] for a univariate history
 * ```
 */
export class Forecaster {
  /** The trained model. */
  readonly model: ForecastModel;
  /** Rows of history the model takes. */
  readonly inputSteps: number;
  /** The fitted scaler of the model's training data, or null. */
  readonly scaler: Scaler | null;
  /** The columns the model predicts (undefined: every column). */
  readonly targets: number[] | undefined;
  /** How missing values in the history are handled. */
  readonly missing: MissingPolicy;

  /**
   * @param model - A model with `predict`, or a function from windows to predictions.
   * @param opts - {@link ForecasterOptions}.
   * @throws {@link ValidationError} when the model or an option is malformed.
   */
  constructor(model: ForecastModel, opts: ForecasterOptions) {
    this.model = checkForecastModel(model);
    const o = checkOptions('options', opts, FORECASTER_OPTION_KEYS);
    this.inputSteps = checkInteger('inputSteps', o.inputSteps, 1);
    if (o.scaler !== undefined && !(o.scaler instanceof Scaler)) fail('a fitted StandardScaler or MinMaxScaler', 'scaler', o.scaler);
    if (o.scaler && !o.scaler.fitted) throw new ValidationError(`Expected a fitted ${o.scaler.constructor.name} for scaler but received an unfitted one; fit it on the training split first`);
    this.scaler = o.scaler ?? null;
    // Checked against the history's width in forecast().
    if (o.targets !== undefined && !Array.isArray(o.targets)) fail('array of column indices', 'targets', o.targets);
    this.targets = o.targets?.slice();
    this.missing = checkOneOf('missing', o.missing ?? 'error', MISSING_POLICIES);
  }

  /**
   * The next `steps` values after `history` (original units, at least
   * `inputSteps` rows): number[] for a univariate series, else one row of
   * the target columns per step.
   * @param history - The series up to now, in original units.
   * @param steps - How many steps to forecast.
   * @throws {@link ShapeError} when the history is shorter than `inputSteps` or the model's outputs have
   *   the wrong shape.
   */
  async forecast(history: Series, steps: number): Promise<number[] | number[][]> {
    const n = checkInteger('steps', steps, 1);
    const read = readSeries('history', history);
    const m = applyMissing(read, this.missing, { locate: (r, c) => (read.univariate ? `row ${r} of history` : `row ${r}, column ${c} of history`) }).matrix;
    const F = m.cols;
    const targets = checkColumns('targets', this.targets, F);
    if (m.rows < this.inputSteps) throw new ShapeError(`Expected a history of at least inputSteps = ${this.inputSteps} rows for forecast but received ${m.rows}`);
    const window = Float32Array.from(m.values.subarray((m.rows - this.inputSteps) * F));
    this.scaler?.applyInPlace(window, this.scaler.resolveColumns({}, F, 'forecast'), false);
    const out = await forecastWindows(this.model, window, 1, this.inputSteps, F, targets, n);
    this.scaler?.applyInPlace(out, this.scaler.resolveColumns({ columns: targets }, targets.length, 'forecast'), true);
    const T = targets.length;
    if (read.univariate) return Array.from(out);
    return Array.from({ length: n }, (_, k) => Array.from(out.subarray(k * T, (k + 1) * T)));
  }
}

/**
 * `new Forecaster(model, opts).forecast(history, steps)`.
 * @param model - A model with `predict`, or a function from windows to predictions.
 * @param history - The series up to now, in original units.
 * @param steps - How many steps to forecast.
 * @param opts - {@link ForecasterOptions}.
 */
export function forecast(model: ForecastModel, history: Series, steps: number, opts: ForecasterOptions): Promise<number[] | number[][]> {
  return new Forecaster(model, opts).forecast(history, steps);
}
