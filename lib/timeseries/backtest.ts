/**
 * Walk-forward evaluation of the default forecaster: trained on all but the
 * last `testSize` rows, it forecasts every held-out row one step ahead and
 * every block of `horizon` rows from each origin in the tail, always from
 * the actual rows before the origin, next to the naive and seasonal-naive
 * forecasts of the same values.
 */
import * as metrics from '../metrics';
import { checkInteger, checkOneOf, checkOptions, fail, optionKeys } from '../validate';
import { unitAt } from './lag-features';
import { MISSING_POLICIES, MissingPolicy } from './missing';
import { FIT_FORECASTER_OPTION_KEYS, fitForecaster, FitForecasterOptions, ForecasterTraining, readUnivariate, SeriesForecaster } from './series-forecaster';
import type { Series } from './series';
import type { GraphModel } from '../model/functional';

/** Options of `backtest`: those of `fitForecaster` plus the size of the held-out tail. */
export interface BacktestOptions extends FitForecasterOptions {
  /** Rows at the end that are forecast and never trained on. */
  testSize: number;
}

/** The keys of BacktestOptions, for checkOptions. */
export const BACKTEST_OPTION_KEYS: readonly string[] = Object.freeze([...FIT_FORECASTER_OPTION_KEYS, ...optionKeys<Pick<BacktestOptions, 'testSize'>>({ testSize: true })]);

/** Point-forecast errors of one forecast against the actual values. */
export interface BacktestScores {
  /** Mean absolute error, in the series' units. */
  mae: number;
  /** Root mean squared error, in the series' units. */
  rmse: number;
  /** Percent, over the non-zero actual values. */
  mape: number;
  /** MAE over the in-sample MAE of the seasonal-naive forecast (naive without a season) on the training rows. */
  mase: number;
}

/** The scores of one part of a backtest (one step ahead, or every step of each block). */
export interface BacktestPart {
  /** The forecaster's scores. */
  model: BacktestScores;
  /** The naive forecast's scores (the last actual value repeated). */
  naive: BacktestScores;
  /** Present with a season. */
  seasonalNaive?: BacktestScores;
  /** Share of the actual values inside each prediction interval. */
  coverage: {
    /** The interval's nominal coverage, such as 0.95. */
    level: number;
    /** Share of actual values inside it. */
    rate: number;
  }[];
  /** Values scored (missing actual values are not). */
  scored: number;
}

/** What `backtest` returns: the scores, the forecasts of the held-out rows and the trained forecaster. */
export interface BacktestResult {
  /** Scores of the one-step-ahead forecasts. */
  oneStep: BacktestPart;
  /** Every step of every block of `horizon` rows. */
  multiStep: BacktestPart;
  /** Steps of each block of the multi-step part. */
  horizon: number;
  /** First held-out row. */
  trainRows: number;
  /** One-step forecasts of the held-out rows, with their intervals. */
  forecasts: {
    /** The point forecast of each held-out row. */
    mean: number[];
    /** One interval per level, bounds per held-out row. */
    intervals: {
      /** Coverage, such as 0.95. */
      level: number;
      /** Lower bound of each row. */
      lower: number[];
      /** Upper bound of each row. */
      upper: number[];
    }[];
  };
  /** The forecaster trained on the rows before the tail. */
  forecaster: SeriesForecaster;
  /** The network, to save with `forecaster.toJSON()` as metadata. */
  model: GraphModel;
  /** What training chose and measured. */
  training: ForecasterTraining;
  /** A small table of the scores, for printing. */
  report: string;
}

function scores(pred: number[], actual: number[], scale: number): BacktestScores {
  const mae = metrics.mae(pred, actual);
  return { mae, rmse: metrics.rmse(pred, actual), mape: metrics.mape(pred, actual), mase: mae / scale };
}

/** The in-sample MAE of the forecast one season back (one row back without a season). */
export function maseScale(y: ArrayLike<number>, season: number): number {
  const lag = season >= 2 ? season : 1;
  let s = 0;
  for (let i = lag; i < y.length; i++) s += Math.abs(y[i] - y[i - lag]);
  const scale = s / Math.max(1, y.length - lag);
  return scale > 0 ? scale : 1;
}

function formatReport(parts: [string, BacktestPart][], season: number): string {
  const rows: string[] = [];
  const cell = (a: string, b: string, c: string, d: string, e: string): string => `${a.padEnd(22)}  ${b.padStart(10)}  ${c.padStart(10)}  ${d.padStart(8)}  ${e.padStart(6)}`;
  for (const [title, p] of parts) {
    rows.push(`${title} (${p.scored} values)`, cell('method', 'MAE', 'RMSE', 'MAPE %', 'MASE'));
    const line = (name: string, s: BacktestScores): string => cell(name, s.mae.toPrecision(4), s.rmse.toPrecision(4), s.mape.toPrecision(3), s.mase.toFixed(3));
    rows.push(line('model', p.model), line('naive', p.naive));
    if (p.seasonalNaive) rows.push(line(`seasonal naive (${season})`, p.seasonalNaive));
    rows.push(`interval coverage: ${p.coverage.map((c) => `${Math.round(c.level * 100)} %: ${(c.rate * 100).toFixed(0)} %`).join(', ')}`, '');
  }
  return rows.join('\n').trimEnd();
}

/** Options of `evaluateForecaster`. */
export interface EvaluateForecasterOptions {
  /** Rows at the end that are forecast. */
  testSize: number;
  /** Period of the seasonal-naive baseline; 0 for none. @default the forecaster's season */
  season?: number;
  /** Steps of the multi-step part. @default the forecaster's horizon */
  horizon?: number;
  /** Missing values: filled (or dropped) for the inputs; a missing actual value is never scored. @default 'error' */
  missing?: MissingPolicy;
}

/** The keys of EvaluateForecasterOptions, for checkOptions. */
export const EVALUATE_FORECASTER_OPTION_KEYS = optionKeys<EvaluateForecasterOptions>({ testSize: true, season: true, horizon: true, missing: true });

/** The scores of `evaluateForecaster`. */
export type ForecasterEvaluation = Pick<BacktestResult, 'oneStep' | 'multiStep' | 'horizon' | 'trainRows' | 'forecasts' | 'report'>;

/**
 * Scores a trained forecaster walk-forward on the last `testSize` rows of
 * `series`: every row one step ahead and every block of `horizon` rows,
 * each from the actual rows before its origin, next to the naive and
 * seasonal-naive forecasts of the same values. MASE is scaled by the rows
 * before the tail.
 * @param forecaster - A trained forecaster.
 * @param series - The univariate series, the held-out tail last.
 * @param opts - Size of the tail, baseline season, horizon and missing-value policy.
 * @throws ValidationError if `testSize` leaves too little history or an option is invalid.
 */
export async function evaluateForecaster(forecaster: SeriesForecaster, series: Series, opts: EvaluateForecasterOptions): Promise<ForecasterEvaluation> {
  if (!(forecaster instanceof SeriesForecaster)) fail('a SeriesForecaster', 'forecaster', forecaster);
  const o = checkOptions('options', opts, EVALUATE_FORECASTER_OPTION_KEYS);
  const f = forecaster;
  const missing: MissingPolicy = checkOneOf('missing', o.missing ?? 'error', MISSING_POLICIES);
  const { values: y, observed } = readUnivariate('series', series, missing);
  const n = y.length;
  const horizon = checkInteger('horizon', o.horizon ?? f.features.horizon, 1);
  const season = checkInteger('season', o.season ?? f.features.season, 0);
  const trainRows = n - checkInteger('testSize', o.testSize, horizon, Math.max(horizon, n - f.historyNeeded));
  const scale = maseScale(y.subarray(0, trainRows), season);

  const score = async (origins: number[], steps: number): Promise<{ part: BacktestPart; mean: number[][] }> => {
    const blocks = await forecastBlocks(f, y, origins, steps);
    const actual: number[] = [];
    const model: number[] = [];
    const naive: number[] = [];
    const seasonal: number[] = [];
    const inside = f.levels.map(() => 0);
    origins.forEach((t, b) => {
      const unit = unitAt(f.features, y[t - 1]);
      for (let k = 0; k < steps; k++) {
        if (!observed(t + k)) continue; // filled, not observed: never scored
        const v = y[t + k];
        const p = blocks[b][k];
        actual.push(v);
        model.push(p);
        naive.push(y[t - 1]);
        if (season >= 2) seasonal.push(y[t + k - season * (Math.floor(k / season) + 1)]);
        f.levels.forEach((_, i) => {
          if (Math.abs(v - p) <= f.halfWidth(i, k) * unit) inside[i]++;
        });
      }
    });
    return {
      part: {
        model: scores(model, actual, scale),
        naive: scores(naive, actual, scale),
        ...(season >= 2 ? { seasonalNaive: scores(seasonal, actual, scale) } : {}),
        coverage: f.levels.map((level, i) => ({ level, rate: inside[i] / actual.length })),
        scored: actual.length,
      },
      mean: blocks,
    };
  };

  const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  const one = await score(range(trainRows, n), 1);
  const multi = await score(range(trainRows, n - horizon + 1), horizon);
  const mean = one.mean.map((b) => b[0]);
  const units = range(trainRows, n).map((t) => unitAt(f.features, y[t - 1]));
  return {
    oneStep: one.part,
    multiStep: multi.part,
    horizon,
    trainRows,
    forecasts: {
      mean,
      intervals: f.levels.map((level, i) => ({ level, lower: mean.map((v, j) => v - f.halfWidth(i, 0) * units[j]), upper: mean.map((v, j) => v + f.halfWidth(i, 0) * units[j]) })),
    },
    report: formatReport(
      [
        ['One step ahead', one.part],
        [`1 to ${horizon} steps ahead`, multi.part],
      ],
      season,
    ),
  };
}

/** `steps` forecasts from each origin: one network call per origin batch, recursive past the forecaster's horizon. */
async function forecastBlocks(f: SeriesForecaster, y: Float64Array, origins: number[], steps: number): Promise<number[][]> {
  if (steps <= f.features.horizon) return f.forecastOrigins(y, origins);
  return Promise.all(origins.map(async (t) => (await f.forecast(y.subarray(0, t), steps)).mean));
}

/**
 * Trains the default forecaster on the rows before the last `testSize` and
 * scores it walk-forward on them with `evaluateForecaster`.
 *
 * ```ts
 * const r = await eddy.timeseries.backtest(passengers, { season: 12, horizon: 12, testSize: 24 });
 * console.log(r.report);
 * ```
 * @param series - The univariate series, the held-out tail last.
 * @param opts - The forecaster's options and the size of the tail.
 * @throws ValidationError if `testSize` leaves too little history or an option is invalid.
 */
export async function backtest(series: Series, opts: BacktestOptions): Promise<BacktestResult> {
  const o = checkOptions('options', opts, BACKTEST_OPTION_KEYS);
  const missing: MissingPolicy = checkOneOf('missing', o.missing ?? 'error', MISSING_POLICIES);
  const y = readUnivariate('series', series, missing).values;
  const horizon = checkInteger('horizon', o.horizon ?? 1, 1);
  const testSize = checkInteger('testSize', o.testSize, horizon, y.length - 1);
  const { testSize: _, ...fitOptions } = o;
  const fitted = await fitForecaster(y.subarray(0, y.length - testSize), { ...fitOptions, missing: 'error' });
  const scored = await evaluateForecaster(fitted.forecaster, series, { testSize, season: o.season ?? 0, horizon, missing });
  return { ...scored, forecaster: fitted.forecaster, model: fitted.model, training: fitted.training };
}
