/**
 * The default forecaster: a small ensemble of lag networks (see
 * lag-network.ts) predicting the change from the last value (see
 * lag-features.ts), with early stopping on a validation tail, a direct
 * multi-step horizon, and prediction intervals from the validation
 * residuals.
 *
 * ```ts
 * const f = await eddy.timeseries.fitForecaster(passengers, { season: 12, horizon: 12 });
 * const { mean, intervals } = await f.forecast(passengers, 24);
 * ```
 */
import { FormatError, ShapeError, ValidationError } from '../errors';
import { EarlyStopping } from '../model/callbacks';
import type { Callback } from '../model/callbacks';
import { DataParallel, DataParallelOptions, resolveDataParallel } from '../model/parallel';
import { Adam } from '../optim/adam';
import { Generator } from '../random';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOneOf, checkOptions, describe, fail, optionKeys } from '../validate';
import { gatherMembers, TrainedMember, trainsMember } from './ensemble-split';
import { checkForecastModel, ForecastModel } from './forecaster';
import { encodeOrigin, featureWidth, fromChange, historyNeeded, LagFeatures, Scaling, toChange, typicalChange, unitAt } from './lag-features';
import { averageNetworks, lagNetwork, LagNetwork } from './lag-network';
import { applyMissing, MISSING_POLICIES, MissingPolicy } from './missing';
import { normalQuantile } from './normal-quantile';
import { readSeries, Series } from './series';

/** Options of `fitForecaster` (and of `backtest`, which fits with them). */
export interface FitForecasterOptions {
  /** Seasonal period (12 for monthly data with a yearly cycle); 0 for none. @default 0 */
  season?: number;
  /** Steps the network predicts at once (direct); longer forecasts feed its forecasts back (recursive). @default 1 */
  horizon?: number;
  /** Rows of history the network sees. @default season + 1, at most 52 (24 without a season), and at most a third of the training rows */
  inputSteps?: number;
  /** Changes measured in the series' units ('absolute'), relative to the level ('relative', positive series), or the one the validation tail prefers ('auto'). @default 'auto' */
  scaling?: 'auto' | Scaling;
  /** Rows at the end used for early stopping, choosing the scaling and sizing the intervals; then every row is trained on. @default a fifth of the rows, at least 2 · horizon */
  validationSize?: number;
  /** Networks averaged, each from its own seed. @default 5 */
  ensemble?: number;
  /** Hidden units of each network. @default 32 */
  hidden?: number;
  /** Most epochs per network. @default 300 */
  epochs?: number;
  /** Epochs without a better validation loss before a network stops. @default 25 */
  patience?: number;
  /** Adam's learning rate. @default 0.003 */
  lr?: number;
  /** Windows per batch. @default 32, or more on long series (about 32 batches an epoch) */
  batchSize?: number;
  /** Seed of the first network (the others use the next seeds). @default 0 */
  seed?: number;
  /** Coverage of the prediction intervals. @default [0.8, 0.95] */
  levels?: number[];
  /** Missing values in the series: see `MissingPolicy`. @default 'error' */
  missing?: MissingPolicy;
  /** Stops training. @default none */
  signal?: AbortSignal;
  /**
   * Called after each network has trained: which stage, which network (from 0), its epochs, and its best validation loss in stage one.
   * @param info - The stage, the network and its epochs.
   * @default none
   */
  onNetworkEnd?: (info: NetworkEnd) => void;
  /**
   * Splits the ensemble over the ranks of an MPI job (after `await eddy.distributed.init()`; every
   * rank calls with the same series and options): network k trains on rank k mod worldSize from
   * seed + k, every rank then receives all of them, and each returns the forecaster one process
   * trains. `onNetworkEnd` then runs once per stage for every network, in order, on every rank.
   * `true`, options for `eddy.distributed.dataParallel`, or a DataParallel.
   * @default false
   */
  distributed?: boolean | DataParallelOptions | DataParallel;
}

/** What `onNetworkEnd` receives. */
export interface NetworkEnd {
  /** 'validate': trained on all rows but the validation tail, with early stopping; 'refit': on every row. */
  stage: 'validate' | 'refit';
  /** The scaling the network was trained with. */
  scaling: Scaling;
  /** Which network of the ensemble, from 0. */
  member: number;
  /** Networks in the ensemble. */
  members: number;
  /** Epochs kept: the best on the validation tail, or the refit's epochs. */
  epochs: number;
  /** The best validation loss (Huber, in z units); stage 'validate' only. */
  valLoss?: number;
}

/** The keys of FitForecasterOptions, for checkOptions. */
export const FIT_FORECASTER_OPTION_KEYS = optionKeys<FitForecasterOptions>({
  season: true, horizon: true, inputSteps: true, scaling: true, validationSize: true, ensemble: true, hidden: true, epochs: true, patience: true, lr: true, batchSize: true, seed: true, levels: true, missing: true, signal: true, onNetworkEnd: true, distributed: true,
});

/** What a SeriesForecaster needs besides its network: saved next to the weights as JSON. */
export interface SeriesForecasterJSON {
  /** Always 'SeriesForecaster'. */
  type: 'SeriesForecaster';
  /** Rows of history the network sees. */
  inputSteps: number;
  /** Seasonal period, 0 for none. */
  season: number;
  /** Steps the network predicts at once. */
  horizon: number;
  /** How changes are measured. */
  scaling: Scaling;
  /** Typical one-step change the network's z units are measured in. */
  scale: number;
  /** Coverage of each prediction interval. */
  levels: number[];
  /** Interval half-widths in units of z (see lag-features.ts): one row per level, one value per step. */
  halfWidths: number[][];
}

/** A forecast with its prediction intervals. */
export interface IntervalForecast {
  /** The point forecast of each step. */
  mean: number[];
  /** One interval per level, bounds per step. */
  intervals: {
    /** Coverage, such as 0.95. */
    level: number;
    /** Lower bound of each step. */
    lower: number[];
    /** Upper bound of each step. */
    upper: number[];
  }[];
}

/** What `fitForecaster` learnt besides the forecaster, for reports. */
export interface ForecasterTraining {
  /** The scaling chosen (or given). */
  scaling: Scaling;
  /** Validation MAE (original units, every step) of each scaling tried. */
  validationMae: Partial<Record<Scaling, number>>;
  /** Epochs each network trained for in the final fit (its best epoch on the validation tail). */
  epochs: number[];
  /** Per-epoch `loss` and `valLoss` of the first network on the validation tail. */
  history: {
    /** Training loss per epoch. */
    loss: number[];
    /** Validation loss per epoch. */
    valLoss: number[];
  };
}

function checkLevels(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'number' && v > 0 && v < 1)) fail('non-empty array of numbers in (0, 1)', 'levels', value);
  return [...new Set(value as number[])].sort((a, b) => a - b);
}

/** A trained lag network with what it needs to forecast in original units. */
export class SeriesForecaster {
  /** The network: inputs [origins, features] to z-unit changes [origins, horizon]. */
  readonly model: ForecastModel;
  /** The shape of the network's inputs and targets, and its scaling. */
  readonly features: LagFeatures;
  /** Coverage of each prediction interval, ascending. */
  readonly levels: number[];
  /** Per level, per step: the interval half-width in units of z. */
  readonly halfWidths: number[][];

  /**
   * Wraps a trained network (use `fitForecaster` or `fromJSON` rather than this).
   * @param model - The network.
   * @param json - Its features, scaling and interval widths.
   */
  constructor(model: ForecastModel, json: SeriesForecasterJSON) {
    this.model = checkForecastModel(model);
    const j = SeriesForecaster.checkJSON(json);
    this.features = { inputSteps: j.inputSteps, season: j.season, horizon: j.horizon, scaling: j.scaling, scale: j.scale };
    this.levels = j.levels.slice();
    this.halfWidths = j.halfWidths.map((r) => r.slice());
  }

  /** Rows of history `forecast` needs at least. */
  get historyNeeded(): number {
    return historyNeeded(this.features);
  }

  /**
   * The next `steps` values after `history` (a univariate series of at
   * least `historyNeeded` rows, no missing values), with prediction
   * intervals. Past the network's horizon its own forecasts become history,
   * and interval widths grow with the square root of the step.
   * @param history - The series so far (univariate, no missing values).
   * @param steps - How many values to forecast.
   * @throws ShapeError or ValidationError if the history is too short, has missing values or is not univariate.
   */
  async forecast(history: Series, steps: number): Promise<IntervalForecast> {
    return (await this.forecastMany([history], [steps]))[0];
  }

  /**
   * `forecast` for many histories at once: each round of the network runs
   * one call over every history that still needs values, so a server
   * answers concurrent requests with one batched forward per round (the
   * recursive rounds past the horizon included). With a row-invariant
   * network (`eddy.serving.RowModel`) each result is bit-identical to its
   * own `forecast`.
   * @param histories - The series so far (each univariate, no missing values).
   * @param steps - How many values to forecast: one count for all, or one per history.
   * @throws ShapeError or ValidationError if a history is too short, has missing values or is not univariate.
   */
  async forecastMany(histories: readonly Series[], steps: number | readonly number[]): Promise<IntervalForecast[]> {
    if (!Array.isArray(histories)) fail('array of series', 'histories', histories);
    if (Array.isArray(steps) && steps.length !== histories.length) fail(`array of ${histories.length} step counts (one per history)`, 'steps', steps);
    const counts = histories.map((_, i) => checkInteger(Array.isArray(steps) ? `steps[${i}]` : 'steps', Array.isArray(steps) ? steps[i] : steps, 1));
    const extended = histories.map((history, i) => this.checkHistory(history, histories.length === 1 ? 'history' : `histories[${i}]`));
    const H = this.features.horizon;
    const means: number[][] = histories.map(() => []);
    const units = extended.map((y) => unitAt(this.features, y[y.length - 1]));
    for (;;) {
      const open = counts.flatMap((n, i) => (means[i].length < n ? [i] : []));
      if (open.length === 0) break;
      const blocks = await this.forecastLast(open.map((i) => extended[i]));
      open.forEach((i, r) => {
        const take = Math.min(H, counts[i] - means[i].length);
        means[i].push(...blocks[r].slice(0, take));
        extended[i].push(...blocks[r].slice(0, take));
      });
    }
    return means.map((mean, j) => ({
      mean,
      intervals: this.levels.map((level, i) => {
        const half = mean.map((_, k) => this.halfWidth(i, k) * units[j]);
        return { level, lower: mean.map((v, k) => v - half[k]), upper: mean.map((v, k) => v + half[k]) };
      }),
    }));
  }

  /**
   * Checks a history as `forecast` would and returns the part of it a
   * forecast reads (its last `historyNeeded` rows): a server checks each
   * request this way before batching it, so one bad history cannot fail
   * the others.
   * @param history - The series so far (univariate, no missing values).
   * @param name - What to call it in errors.
   * @throws ShapeError, ValidationError or FormatError if the history is too short, has missing values, is not
   *   univariate, or (relative scaling) does not end on a positive value.
   */
  checkHistory(history: Series, name = 'history'): number[] {
    const need = this.historyNeeded;
    // The common case, an array of finite numbers, is checked in place; anything else is read
    // (and refused with the row of the first bad value) as every series is.
    const y: ArrayLike<number> = Array.isArray(history) && allFinite(history) ? (history as number[]) : readUnivariate(name, history, 'error').values;
    if (y.length < need) throw new ShapeError(`Expected at least ${need} rows for ${name} but received ${y.length}`);
    const last = y[y.length - 1];
    if (this.features.scaling === 'relative' && !(last > 0)) {
      throw new ValidationError(`Expected a positive last value of ${name} for a forecaster with relative scaling but received ${last} at row ${y.length - 1}`);
    }
    // An origin reads only the last `need` rows before it, so the rest of a long history can go.
    const tail = new Array<number>(need);
    for (let i = 0; i < need; i++) tail[i] = y[y.length - need + i];
    return tail;
  }

  /**
   * Half-width (z units) of interval `i` at step k; past the horizon it grows like √k.
   * @param i - Index into `levels`.
   * @param k - Step from 0 (one step ahead).
   */
  halfWidth(i: number, k: number): number {
    const H = this.features.horizon;
    const row = this.halfWidths[i];
    return k < H ? row[k] : row[H - 1] * Math.sqrt((k + 1) / H);
  }

  /**
   * Point forecasts of the `horizon` rows from each origin t (rows before t
   * of `y` are the history): one network call for every origin.
   * @param y - The series.
   * @param origins - Rows to forecast from, each at least `historyNeeded`.
   */
  async forecastOrigins(y: ArrayLike<number>, origins: readonly number[]): Promise<number[][]> {
    return this.forecastAt(origins.map((t) => [y, t]));
  }

  /** Point forecasts of the `horizon` rows after the end of each series: one network call for all. */
  private forecastLast(series: readonly (readonly number[])[]): Promise<number[][]> {
    return this.forecastAt(series.map((y) => [y, y.length]));
  }

  /** Point forecasts of the `horizon` rows from origin t of series y, for each (y, t): one network call for all. */
  private async forecastAt(rows: readonly (readonly [ArrayLike<number>, number])[]): Promise<number[][]> {
    const f = this.features;
    const D = featureWidth(f);
    const x = new Float32Array(rows.length * D);
    const levels = rows.map(([y, t], b) => encodeOrigin(f, y, t, x, b * D));
    const out = await runModel(this.model, new Tensor(x, [rows.length, D]));
    return levels.map((level, b) => Array.from(out.subarray(b * f.horizon, (b + 1) * f.horizon), (z) => fromChange(f, level, z)));
  }

  /** What `fromJSON` needs besides the network (saved as model metadata). */
  toJSON(): SeriesForecasterJSON {
    const f = this.features;
    return { type: 'SeriesForecaster', inputSteps: f.inputSteps, season: f.season, horizon: f.horizon, scaling: f.scaling, scale: f.scale, levels: this.levels.slice(), halfWidths: this.halfWidths.map((r) => r.slice()) };
  }

  /**
   * The forecaster saved by `toJSON` (metadata of a model file) around its loaded network.
   * @param model - The loaded network.
   * @param json - What `toJSON` returned.
   * @throws FormatError if `json` is not a forecaster's metadata.
   */
  static fromJSON(model: ForecastModel, json: unknown): SeriesForecaster {
    return new SeriesForecaster(model, SeriesForecaster.checkJSON(json));
  }

  private static checkJSON(json: unknown): SeriesForecasterJSON {
    const bad = (key: string, expected: string, v: unknown): never => {
      throw new FormatError(`Expected ${expected} for SeriesForecaster.${key} but received ${describe(v)}`);
    };
    if (json === null || typeof json !== 'object' || (json as { type?: unknown }).type !== 'SeriesForecaster') bad('type', '"SeriesForecaster"', (json as { type?: unknown } | null)?.type ?? json);
    const j = json as Record<string, unknown>;
    const int = (k: string, min: number): void => {
      if (!Number.isInteger(j[k]) || (j[k] as number) < min) bad(k, `an integer ≥ ${min}`, j[k]);
    };
    int('inputSteps', 2);
    int('season', 0);
    int('horizon', 1);
    if (j.scaling !== 'absolute' && j.scaling !== 'relative') bad('scaling', '"absolute" or "relative"', j.scaling);
    if (typeof j.scale !== 'number' || !(j.scale > 0) || !Number.isFinite(j.scale)) bad('scale', 'a positive number', j.scale);
    if (!Array.isArray(j.levels) || !j.levels.every((v) => typeof v === 'number' && v > 0 && v < 1)) bad('levels', 'an array of numbers in (0, 1)', j.levels);
    const H = j.horizon as number;
    const rows = j.halfWidths;
    if (!Array.isArray(rows) || rows.length !== (j.levels as number[]).length || !rows.every((r) => Array.isArray(r) && r.length === H && r.every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v)))) {
      bad('halfWidths', `one array of ${H} non-negative numbers per level`, rows);
    }
    return j as unknown as SeriesForecasterJSON;
  }
}

function allFinite(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  }
  return true;
}

async function runModel(model: ForecastModel, x: Tensor): Promise<Float32Array> {
  const out = typeof model === 'function' ? await model(x) : await model.predict(x, { batchSize: x.shape[0] });
  if (!(out instanceof Tensor)) throw new ValidationError(`Expected the model to return a Tensor but received ${describe(out)}`);
  return out.toFloat32Array();
}

/**
 * Reads a univariate series with missing values handled by `missing`;
 * `observed(row)` says whether a row of the result was in the data (not
 * filled), so a filled value is never scored.
 */
export function readUnivariate(name: string, series: unknown, missing: MissingPolicy): { values: Float64Array; observed: (row: number) => boolean } {
  const raw = readSeries(name, series);
  if (raw.cols !== 1) throw new ShapeError(`Expected a univariate series (one value per row) for ${name} but received rows of ${raw.cols} values`);
  const { matrix, rowIndex } = applyMissing(raw, missing, { locate: (r) => `row ${r} of ${name}` });
  return { values: matrix.values, observed: (row) => !Number.isNaN(raw.values[rowIndex[row]]) };
}

/** Windows (features and targets in z units) for the origins t with t − historyNeeded ≥ 0 and t + horizon ≤ end, from rows of `y` before end. */
function windowsOf(f: LagFeatures, y: Float64Array, first: number, end: number): { x: Tensor; y: Tensor; origins: number[] } {
  const D = featureWidth(f);
  const H = f.horizon;
  const origins: number[] = [];
  for (let t = Math.max(first, historyNeeded(f)); t + H <= end; t++) origins.push(t);
  const x = new Float32Array(origins.length * D);
  const target = new Float32Array(origins.length * H);
  origins.forEach((t, b) => {
    const level = encodeOrigin(f, y, t, x, b * D);
    for (let k = 0; k < H; k++) target[b * H + k] = toChange(f, level, y[t + k]);
  });
  return { x: new Tensor(x, [origins.length, D]), y: new Tensor(target, [origins.length, H]), origins };
}

/**
 * Interval half-widths (z units) per level and step from the validation
 * residuals: the normal quantile times the residuals' root mean square at
 * that step, never narrower than at an earlier step. A normal shape is
 * assumed because a tail of a few dozen residuals cannot place a 95 %
 * quantile by itself.
 */
function halfWidthsOf(residuals: number[][], levels: readonly number[]): number[][] {
  let widest = 0;
  const rms = residuals.map((r) => (widest = Math.max(widest, Math.sqrt(r.reduce((s, v) => s + v * v, 0) / r.length))));
  return levels.map((level) => rms.map((v) => normalQuantile((1 + level) / 2) * v));
}

interface TrainSettings {
  hidden: number;
  epochs: number;
  patience: number;
  lr: number;
  batchSize: number;
  seed: number;
  signal?: AbortSignal;
  ensemble: number;
  onNetworkEnd?: FitForecasterOptions['onNetworkEnd'];
  parallel: DataParallel | null;
}

/** Trains one network; with validation data it stops early and keeps its best epoch. */
async function trainNetwork(f: LagFeatures, train: { x: Tensor; y: Tensor }, s: TrainSettings, member: number, validation?: { x: Tensor; y: Tensor }, epochs?: number): Promise<TrainedMember> {
  const generator = new Generator(s.seed + member);
  const net = lagNetwork(featureWidth(f), s.hidden, f.horizon, generator);
  const stopper = new EarlyStopping({ patience: s.patience, restoreBestWeights: true });
  const history = { loss: [] as number[], valLoss: [] as number[] };
  const callbacks: Callback[] = [
    {
      onEpochEnd: (_epoch, logs) => {
        history.loss.push(logs.loss);
        if (logs.valLoss !== undefined) history.valLoss.push(logs.valLoss);
      },
    },
  ];
  if (validation) callbacks.push(stopper);
  await net.model.fit(
    { x: train.x, y: train.y },
    {
      epochs: epochs ?? s.epochs,
      batchSize: s.batchSize,
      loss: 'huber',
      optimizer: new Adam(net.model.parameters(), { lr: s.lr }),
      generator,
      validationData: validation,
      callbacks,
      signal: s.signal,
    },
  );
  const bestEpochs = validation ? stopper.bestEpoch + 1 : (epochs ?? s.epochs);
  return { net, bestEpochs, valLoss: validation ? stopper.best : NaN, history };
}

/**
 * Trains the ensemble, each network on the rank that owns it when the settings hold a job (see
 * ensemble-split.ts), and returns every network; `epochs[k]` fixes network k's epochs (refit).
 */
async function trainEnsemble(f: LagFeatures, train: { x: Tensor; y: Tensor }, s: TrainSettings, validation?: { x: Tensor; y: Tensor }, epochs?: readonly number[]): Promise<TrainedMember[]> {
  const report = (m: TrainedMember, member: number): void =>
    s.onNetworkEnd?.({ stage: validation ? 'validate' : 'refit', scaling: f.scaling, member, members: s.ensemble, epochs: m.bestEpochs, ...(validation ? { valLoss: m.valLoss } : {}) });
  const dp = s.parallel;
  const mine: (TrainedMember | null)[] = [];
  // In a job, a failure still joins the gather, which fails it on every rank at once.
  let failure: unknown;
  for (let k = 0; k < s.ensemble; k++) {
    let m: TrainedMember | null = null;
    try {
      if (trainsMember(dp, k) && failure === undefined) m = await trainNetwork(f, train, s, k, validation, epochs?.[k]);
    } catch (err) {
      if (!dp) throw err;
      failure = err;
    }
    if (m && !dp) report(m, k);
    mine.push(m);
  }
  if (!dp) return mine as TrainedMember[];
  const all = await gatherMembers(dp, mine, () => lagNetwork(featureWidth(f), s.hidden, f.horizon, new Generator(0)), s.epochs, failure);
  all.forEach(report);
  return all;
}

/**
 * Trains the default forecaster on every row of `series` (univariate).
 * Stage one trains each network on all rows but a validation tail, stopping
 * at its best validation epoch; that tail also chooses the scaling and
 * gives the residuals the intervals are sized from (see halfWidthsOf). Stage two retrains each
 * network on every row for its best number of epochs, so the most recent
 * rows are learnt from too, and averages the networks into one.
 * Returns the forecaster, what training found, and the averaged network (to save).
 * @param series - A univariate series.
 * @param opts - Season, horizon, scaling, training and interval options.
 * @throws ValidationError or ShapeError if the series is too short for the options, not univariate, or an option is invalid.
 */
export async function fitForecaster(
  series: Series,
  opts: FitForecasterOptions = {},
): Promise<{
  /** The trained forecaster. */
  forecaster: SeriesForecaster;
  /** What training chose and measured. */
  training: ForecasterTraining;
  /** The averaged network, to save with `forecaster.toJSON()` as metadata. */
  model: LagNetwork['model'];
}> {
  const o = checkOptions('options', opts, FIT_FORECASTER_OPTION_KEYS);
  const missing = checkOneOf('missing', o.missing ?? 'error', MISSING_POLICIES);
  const y = readUnivariate('series', series, missing).values;
  const n = y.length;
  const season = checkInteger('season', o.season ?? 0, 0);
  const horizon = checkInteger('horizon', o.horizon ?? 1, 1);
  const validationSize = checkInteger('validationSize', o.validationSize ?? Math.max(2 * horizon, Math.round(n / 5)), horizon);
  const trainRows = n - validationSize;
  // One season and the row before it (the seasonal lags are features anyway), or 24 rows; never more than a third of the training rows.
  const defaultSteps = Math.max(2, Math.min(season >= 2 ? Math.min(season + 1, 52) : 24, Math.floor(trainRows / 3)));
  const inputSteps = checkInteger('inputSteps', o.inputSteps ?? defaultSteps, 2);
  const scalingOption = checkOneOf('scaling', o.scaling ?? 'auto', ['auto', 'absolute', 'relative'] as const);
  const levels = checkLevels(o.levels ?? [0.8, 0.95]);
  const ensemble = checkInteger('ensemble', o.ensemble ?? 5, 1);
  if (o.onNetworkEnd !== undefined && typeof o.onNetworkEnd !== 'function') fail('function', 'onNetworkEnd', o.onNetworkEnd);
  const settings: TrainSettings = {
    hidden: checkInteger('hidden', o.hidden ?? 32, 1),
    epochs: checkInteger('epochs', o.epochs ?? 300, 1),
    patience: checkInteger('patience', o.patience ?? 25, 0),
    lr: checkNumber('lr', o.lr ?? 3e-3, { min: Number.MIN_VALUE }),
    batchSize: checkInteger('batchSize', o.batchSize ?? Math.max(32, Math.ceil(n / 32)), 1),
    seed: checkInteger('seed', o.seed ?? 0, 0, Number.MAX_SAFE_INTEGER),
    signal: o.signal,
    ensemble,
    onNetworkEnd: o.onNetworkEnd,
    parallel: resolveDataParallel(o.distributed),
  };
  const need = Math.max(inputSteps, season >= 2 ? season + 1 : 0);
  if (trainRows - need < Math.max(8, horizon)) {
    throw new ShapeError(`Expected at least ${need + Math.max(8, horizon) + validationSize} rows (history ${need}, 8 training windows of horizon ${horizon}, validation ${validationSize}) for fitForecaster but received ${n}`);
  }
  const positive = y.every((v) => v > 0);
  if (scalingOption === 'relative' && !positive) throw new ValidationError(`Expected a series of positive values for scaling 'relative' but received one with values ≤ 0; use 'absolute'`);
  const candidates: Scaling[] = scalingOption === 'auto' ? (positive ? ['absolute', 'relative'] : ['absolute']) : [scalingOption];

  // Stage one: per scaling, train on all but the tail, validate on it.
  let best: { f: LagFeatures; mae: number; epochs: number[]; residuals: number[][]; history: ForecasterTraining['history'] } | null = null;
  const validationMae: ForecasterTraining['validationMae'] = {};
  for (const scaling of candidates) {
    const f: LagFeatures = { inputSteps, season, horizon, scaling, scale: typicalChange(y.subarray(0, trainRows), scaling) };
    const train = windowsOf(f, y, 0, trainRows);
    const val = windowsOf(f, y, trainRows, n);
    const members = await trainEnsemble(f, train, settings, val);
    const merged = averageNetworks(members.map((m) => m.net));
    const pred = await runModel(merged.model, val.x);
    const target = val.y.toFloat32Array();
    const residuals: number[][] = Array.from({ length: horizon }, () => []);
    let absError = 0;
    val.origins.forEach((t, b) => {
      const unit = unitAt(f, y[t - 1]);
      for (let k = 0; k < horizon; k++) {
        const r = target[b * horizon + k] - pred[b * horizon + k];
        residuals[k].push(r);
        absError += Math.abs(r) * unit;
      }
    });
    const mae = absError / (val.origins.length * horizon);
    validationMae[scaling] = mae;
    if (!best || mae < best.mae) best = { f, mae, epochs: members.map((m) => m.bestEpochs), residuals, history: members[0].history };
  }
  const chosen = best!;

  // Stage two: every row, each network for its best number of epochs.
  const f: LagFeatures = { ...chosen.f, scale: typicalChange(y, chosen.f.scaling) };
  const all = windowsOf(f, y, 0, n);
  const members = (await trainEnsemble(f, all, settings, undefined, chosen.epochs)).map((m) => m.net);
  const merged = averageNetworks(members);
  // Residuals were measured in stage one's z units; rescale to the final scale.
  const rescale = chosen.f.scale / f.scale;
  const halfWidths = halfWidthsOf(chosen.residuals, levels).map((row) => row.map((v) => v * rescale));
  const forecaster = new SeriesForecaster(merged.model, { type: 'SeriesForecaster', ...f, levels, halfWidths });
  return { forecaster, model: merged.model, training: { scaling: f.scaling, validationMae, epochs: chosen.epochs, history: chosen.history } };
}
