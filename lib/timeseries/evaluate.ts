/**
 * Walk-forward evaluation of a forecaster on the held-out tail of a series,
 * next to the naive and seasonal-naive baselines, so a user sees whether
 * the model is worth having.
 */
import { ShapeError, ValidationError } from '../errors';
import * as metrics from '../metrics';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkOneOf, checkOptions, fail, optionKeys } from '../validate';
import { checkForecastModel, ForecastModel, forecastWindows } from './forecaster';
import { applyMissing, MISSING_POLICIES, MissingPolicy } from './missing';
import { Scaler } from './scaler';
import { checkColumns, readSeries, Series, sliceRows, toSeries } from './series';
import { windows } from './windows';

/** What `fitModel` receives: training windows (scaled) and the training series they came from. */
export interface ForecastTrainingData {
  /** Inputs [N, inputSteps, features] from the training rows, scaled. */
  x: Tensor;
  /** Targets [N, horizon, targets], scaled. */
  y: Tensor;
  /** The training rows themselves (filled and scaled), to cut other windows from. */
  series: number[] | number[][];
  /** Rows of history per window. */
  inputSteps: number;
  /** Steps predicted after each window. */
  horizon: number;
  /** The columns predicted. */
  targets: number[];
}

/** The options of {@link evaluateForecast}. */
export interface EvaluateForecastOptions {
  /** The whole series; its last `testSize` rows are held out. */
  series: Series;
  /**
   * A trained model (give its fitted `scaler` too)…
   * @default none (give `fitModel`)
   */
  model?: ForecastModel;
  /**
   * …or a function that trains one on the training rows (called once).
   * @default none (give `model`)
   * @param train - {@link ForecastTrainingData}.
   */
  fitModel?: (train: ForecastTrainingData) => ForecastModel | Promise<ForecastModel>;
  /** Rows of history the model takes. */
  inputSteps: number;
  /** Steps forecast from every origin (recursively when the model predicts fewer per call). @default 1 */
  horizon?: number;
  /** Rows at the end that are forecast and never trained on. */
  testSize: number;
  /**
   * Period of the seasonal-naive baseline (52 for weekly data with a yearly cycle); without it that
   * baseline is skipped.
   * @default none
   */
  season?: number;
  /** Columns to forecast. @default every column */
  targets?: number[];
  /** Scaling for the model: an unfitted scaler is fitted on the training rows, a fitted one used as it is. @default none */
  scaler?: Scaler;
  /** Missing values: filled (or dropped) for the model's inputs, but a missing actual value is never scored. @default 'error' */
  missing?: MissingPolicy;
  /** Rows between consecutive forecast origins in the test tail. @default 1 */
  stride?: number;
}

/** The keys of EvaluateForecastOptions, for checkOptions. */
export const EVALUATE_FORECAST_OPTION_KEYS = optionKeys<EvaluateForecastOptions>({ series: true, model: true, fitModel: true, inputSteps: true, horizon: true, testSize: true, season: true, targets: true, scaler: true, missing: true, stride: true });

/** Error measures of one forecaster over the scored values, in original units. */
export interface ForecastScores {
  /** Mean absolute error. */
  mae: number;
  /** Root mean squared error. */
  rmse: number;
  /** Percent. */
  mape: number;
}

/** What {@link evaluateForecast} resolves with: the model's scores beside the baselines'. */
export interface ForecastEvaluation {
  /** The model's scores. */
  model: ForecastScores;
  /** Every step forecast as the last value before the origin. */
  naive: ForecastScores;
  /** Every step forecast as the value one season earlier; present when `season` was given. */
  seasonalNaive?: ForecastScores;
  /** Forecast origins (rows of the series where a forecast starts). */
  origins: number[];
  /** Number of (origin, step, target) values scored. */
  scored: number;
  /** The model used (the one `fitModel` returned, or `model`) and the fitted scaler. */
  fittedModel: ForecastModel;
  /** The fitted scaler, or null without one. */
  scaler: Scaler | null;
  /** A small table of the scores, for printing. */
  report: string;
}

function scores(pred: number[], actual: number[]): ForecastScores {
  return { mae: metrics.mae(pred, actual), rmse: metrics.rmse(pred, actual), mape: metrics.mape(pred, actual) };
}

function formatReport(rows: [string, ForecastScores | undefined][]): string {
  const kept = rows.filter((r): r is [string, ForecastScores] => r[1] !== undefined);
  const width = Math.max(6, ...kept.map(([name]) => name.length));
  const cells = (a: string, b: string, c: string, d: string): string => `${a.padEnd(width)}  ${b.padStart(10)}  ${c.padStart(10)}  ${d.padStart(8)}`;
  return [cells('method', 'MAE', 'RMSE', 'MAPE %'), ...kept.map(([name, s]) => cells(name, s.mae.toPrecision(4), s.rmse.toPrecision(4), s.mape.toPrecision(3)))].join('\n');
}

/**
 * Trains (or takes) a model on all but the last `testSize` rows, then from
 * every origin t in the tail forecasts rows t … t + horizon − 1 from the
 * actual rows before t (walk-forward: later origins see the earlier test
 * rows, never their own future), and scores the model, the naive forecast
 * and the seasonal-naive forecast on the same values in original units.
 *
 * ```ts
 * const result = await eddy.timeseries.evaluateForecast({
 *   series: co2, inputSteps: 52, horizon: 4, testSize: 104, season: 52,
 *   scaler: new eddy.timeseries.StandardScaler(), missing: 'interpolate',
 *   fitModel: async ({ x, y }) => { const m = makeModel(); await m.fit({ x, y }, { loss: 'mse', epochs: 5 }); return m; },
 * });
 * console.log(result.report);
 * ```
 * @param opts - {@link EvaluateForecastOptions}.
 * @throws {@link ValidationError} when an option is malformed.
 * @throws {@link ShapeError} when the series is too short for the windows before the test tail.
 */
export async function evaluateForecast(opts: EvaluateForecastOptions): Promise<ForecastEvaluation> {
  const o = checkOptions('options', opts, EVALUATE_FORECAST_OPTION_KEYS);
  if ((o.model === undefined) === (o.fitModel === undefined)) throw new ValidationError('Expected exactly one of model and fitModel for evaluateForecast but received ' + (o.model === undefined ? 'neither' : 'both'));
  if (o.fitModel !== undefined && typeof o.fitModel !== 'function') fail('function', 'fitModel', o.fitModel);
  const inputSteps = checkInteger('inputSteps', o.inputSteps, 1);
  const horizon = checkInteger('horizon', o.horizon ?? 1, 1);
  const stride = checkInteger('stride', o.stride ?? 1, 1);
  const missing = checkOneOf('missing', o.missing ?? 'error', MISSING_POLICIES);
  const season = o.season === undefined ? undefined : checkInteger('season', o.season, 1);
  if (o.scaler !== undefined && !(o.scaler instanceof Scaler)) fail('a StandardScaler or MinMaxScaler', 'scaler', o.scaler);

  const raw = readSeries('series', o.series);
  const { matrix: m, rowIndex } = applyMissing(raw, missing, { locate: (r, c) => (raw.univariate ? `row ${r} of series` : `row ${r}, column ${c} of series`) });
  const F = m.cols;
  const targets = checkColumns('targets', o.targets, F);
  const T = targets.length;
  const testSize = checkInteger('testSize', o.testSize, horizon, Math.max(horizon, m.rows - 1));
  const trainEnd = m.rows - testSize;
  const need = Math.max(inputSteps + horizon, season ?? 0);
  if (trainEnd < need) {
    throw new ShapeError(`Expected at least ${need} training rows (inputSteps + horizon${season ? ', and one season' : ''}) before the test tail for evaluateForecast but received ${trainEnd} (${m.rows} rows, testSize ${testSize})`);
  }

  const scaler = o.scaler ?? null;
  if (scaler && !scaler.fitted) scaler.fit(toSeries(sliceRows(m, 0, trainEnd)) as Series);
  const scaled = Float32Array.from(m.values);
  scaler?.applyInPlace(scaled, scaler.resolveColumns({}, F, 'evaluateForecast'), false);

  let model: ForecastModel;
  if (o.fitModel) {
    const trainRows = { ...m, values: Float64Array.from(scaled.subarray(0, trainEnd * F)), rows: trainEnd };
    const train = toSeries(trainRows);
    const w = windows(train as Series, { inputSteps, horizon, targets });
    model = checkForecastModel(await o.fitModel({ x: w.x, y: w.y, series: train, inputSteps, horizon, targets }));
  } else {
    model = checkForecastModel(o.model);
  }

  const origins: number[] = [];
  for (let t = trainEnd; t + horizon <= m.rows; t += stride) origins.push(t);
  const B = origins.length;
  const x = new Float32Array(B * inputSteps * F);
  origins.forEach((t, b) => x.set(scaled.subarray((t - inputSteps) * F, t * F), b * inputSteps * F));
  const pred = await forecastWindows(model, x, B, inputSteps, F, targets, horizon);
  scaler?.applyInPlace(pred, scaler.resolveColumns({ columns: targets }, T, 'evaluateForecast'), true);

  const actual: number[] = [];
  const byModel: number[] = [];
  const naive: number[] = [];
  const seasonal: number[] = [];
  const at = (row: number, col: number): number => m.values[row * F + col];
  origins.forEach((t, b) => {
    for (let k = 0; k < horizon; k++) {
      for (let j = 0; j < T; j++) {
        const col = targets[j];
        if (Number.isNaN(raw.values[rowIndex[t + k] * F + col])) continue; // filled, not observed
        actual.push(at(t + k, col));
        byModel.push(pred[(b * horizon + k) * T + j]);
        naive.push(at(t - 1, col));
        if (season) seasonal.push(at(t + k - season * (Math.floor(k / season) + 1), col));
      }
    }
  });
  const result: ForecastEvaluation = {
    model: scores(byModel, actual),
    naive: scores(naive, actual),
    seasonalNaive: season ? scores(seasonal, actual) : undefined,
    origins,
    scored: actual.length,
    fittedModel: model,
    scaler,
    report: '',
  };
  result.report = formatReport([
    ['model', result.model],
    ['naive', result.naive],
    [`seasonal naive${season ? ` (${season})` : ''}`, result.seasonalNaive],
  ]);
  return result;
}
