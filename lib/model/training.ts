/**
 * The training loop behind `model.fit`, and `evaluate` / `predict`. Every
 * step awaits the native work (recurrent forward and backward run on
 * worker threads) and yields to the event loop, so a server keeps serving
 * while a model trains in the same process. Each call passes its mode
 * (training for `fit`, eval for the others) down to the layers with the
 * call instead of setting the model's `training` flag, so a `predict`
 * running during a `fit` of the same model changes neither.
 */
import { backwardAsync } from '../autograd/backward';
import { noGrad } from '../autograd/grad-mode';
import { AbortError, NonFiniteError, ValidationError } from '../errors';
import { loadCheckpoint } from '../io/checkpoint';
import * as losses from '../losses';
import * as metrics from '../metrics';
import { Adam } from '../optim/adam';
import { clipGradNorm, clipGradValue } from '../optim/clip';
import { Optimizer } from '../optim/optimizer';
import { Generator, globalGenerator } from '../random';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOneOf, checkOptions, describe, fail, optionKeys } from '../validate';
import { Batch, batchesOf, checkTensorData, Data, isBatch, sliceRows } from './batches';
import { Callback, Logs } from './callbacks';
import { isPerInput, lengthsOfOutput, lengthsRows, ModelLengths } from './lengths';
import type { Model } from './model';
import { DataParallel, DataParallelOptions, lockstepBatches, resolveDataParallel } from './parallel';

/** What a loss function gets besides prediction and target. */
export interface LossContext {
  /** The lengths of the prediction's sequences: the batch's lengths, or for per-input lengths those the graph propagated to its output. */
  lengths?: Int32Array | readonly number[];
}

/** The loss context of a batch: per-input lengths mask the loss with the lengths that reached the model's output. */
function lossContext(batch: Batch, prediction: Tensor | null): LossContext {
  if (!isPerInput(batch.lengths)) return { lengths: batch.lengths as Int32Array | readonly number[] | undefined };
  const only = batch.lengths.length === 1 ? batch.lengths[0] ?? undefined : undefined;
  return { lengths: (prediction ? lengthsOfOutput(prediction) : undefined) ?? only };
}

/**
 * A custom loss: prediction and target to a one-element tensor, differentiable in the prediction.
 * @param prediction - The model's output for the batch.
 * @param target - The batch's target.
 * @param ctx - {@link LossContext}.
 */
export type LossFn = (prediction: Tensor, target: Tensor, ctx: LossContext) => Tensor;
/**
 * Built-in losses by name. `'binaryCrossEntropyWithLogits'` takes logits
 * (sigmoid inside, numerically stable); `'binaryCrossEntropy'` is the same
 * loss under its older name, kept while the package is 0.x.
 */
export type LossName = 'mse' | 'mae' | 'huber' | 'crossEntropy' | 'binaryCrossEntropyWithLogits' | 'binaryCrossEntropy';
/**
 * Built-in metrics by name (see `eddy.metrics`); perplexity and bitsPerCharacter are computed from
 * the mean loss.
 */
export type MetricName = 'accuracy' | 'mae' | 'rmse' | 'mape' | 'perplexity' | 'bitsPerCharacter';

const LOSSES: Record<Exclude<LossName, 'binaryCrossEntropyWithLogits'>, LossFn> = {
  mse: (p, t) => losses.mse(p, t),
  mae: (p, t) => losses.mae(p, t),
  huber: (p, t) => losses.huber(p, t),
  crossEntropy: (p, t, ctx) => losses.crossEntropy(p, t, p.rank === 3 && ctx.lengths ? { lengths: ctx.lengths as Int32Array } : {}),
  binaryCrossEntropy: (p, t) => losses.binaryCrossEntropyWithLogits(p, t),
};

/** Names that say more than the ones listed in messages (which keep the 0.x spellings). */
const LOSS_ALIASES: Partial<Record<LossName, keyof typeof LOSSES>> = { binaryCrossEntropyWithLogits: 'binaryCrossEntropy' };

/** Metrics computed per batch from prediction, target and the batch loss; averaged per epoch. */
const METRICS: Record<MetricName, (p: Tensor, t: Tensor, loss: number, ctx: LossContext) => number> = {
  accuracy: (p, t, _l, ctx) => metrics.accuracy(p, t, p.rank === 3 && ctx.lengths ? { lengths: ctx.lengths as Int32Array } : {}),
  mae: (p, t) => metrics.mae(p, t),
  rmse: (p, t) => metrics.rmse(p, t),
  mape: (p, t) => metrics.mape(p, t),
  perplexity: (_p, _t, loss) => metrics.perplexity(loss),
  bitsPerCharacter: (_p, _t, loss) => metrics.bitsPerCharacter(loss),
};

/** The options of `model.fit`. */
export interface FitOptions {
  /** The epoch to stop before (Keras' meaning: the total, counting epochs already done). @default 1 */
  epochs?: number;
  /** The epoch to start at, when continuing a run (callbacks and history see the real epoch numbers). @default 0 */
  initialEpoch?: number;
  /**
   * A checkpoint (`model.saveCheckpoint`) to continue from: restores the
   * weights, the optimizer's state, `generator` and the global generator,
   * and starts at the epoch after the saved one — with the same seed, data
   * and threads, the result is bit-identical to a run that never stopped.
   * @default none
   */
  resumeFrom?: string;
  /** Rows per batch when the data are tensors. @default 32 */
  batchSize?: number;
  /** Shuffle tensor data every epoch. @default true, or false for a model with stateful layers (which require false) */
  shuffle?: boolean;
  /** For stateful models: forget the carried states at the start of every epoch ('epoch') or never. @default 'epoch' */
  resetStates?: 'epoch' | 'never';
  /** @default Adam over the model's parameters with lr 1e-3 */
  optimizer?: Optimizer<{ lr: number }>;
  /** A loss name or a function (prediction, target, { lengths }) → scalar tensor. */
  loss: LossName | LossFn;
  /** Metrics to log per epoch (and on validation data). @default [] */
  metrics?: MetricName[];
  /** Clip the gradients' global L2 norm to this before each step. @default none */
  clipNorm?: number;
  /** Clamp every gradient element to ±clipValue before each step. @default none */
  clipValue?: number;
  /**
   * Evaluated after every epoch; its loss and metrics are logged as `valLoss`, `valAccuracy`, …
   * @default none
   */
  validationData?: Data;
  /**
   * Keras' validation_split: the last fraction of the rows of tensor data
   * (taken before any shuffling) is held out and evaluated after every
   * epoch like `validationData`; a number in [0, 1). @default 0
   */
  validationSplit?: number;
  /**
   * Hooks called during training ({@link EarlyStopping}, {@link ModelCheckpoint}, or your own).
   * @default []
   */
  callbacks?: Callback | Callback[];
  /**
   * Stops training between steps; fit then rejects with an AbortError.
   * @default none
   */
  signal?: AbortSignal;
  /** A NaN or infinite loss or gradient: stop with an error naming the step ('error') or skip the step ('skip'). @default 'error' */
  onNonFinite?: 'error' | 'skip';
  /** Random source for shuffling. @default the global generator */
  generator?: Generator;
  /**
   * Called after every epoch for learning-rate schedules (e.g. `() => scheduler.step()`).
   * @default none
   * @param epoch - The epoch that ended, from 0.
   * @param logs - Its logs.
   */
  onEpochEndSchedule?: (epoch: number, logs: Logs) => void;
  /**
   * Data-parallel training across the processes of an MPI job (after
   * `await eddy.distributed.init()`): `true`, options for
   * `eddy.distributed.dataParallel` (`{ bucketBytes }`), or a DataParallel.
   * Every rank calls fit with the same model, options and seed. Tensor data
   * are given whole on every rank and `batchSize` is the global batch: each
   * rank trains on its share of every batch, so the weights match a single
   * process's to float rounding. Iterable data are each rank's own part
   * (`dataset.shard(rank, worldSize)`); an epoch ends when one rank runs
   * out. Gradients are averaged over the global batch; logs are global;
   * callbacks run on rank 0 only, and a stop it decides is shared.
   * @default false
   */
  distributed?: boolean | DataParallelOptions | DataParallel;
}

/** The keys of FitOptions, for checkOptions. */
export const FIT_OPTION_KEYS = optionKeys<FitOptions>({ epochs: true, initialEpoch: true, resumeFrom: true, batchSize: true, shuffle: true, resetStates: true, optimizer: true, loss: true, metrics: true, clipNorm: true, clipValue: true, validationData: true, validationSplit: true, callbacks: true, signal: true, onNonFinite: true, generator: true, onEpochEndSchedule: true, distributed: true });

/** What `model.fit` resolves with. */
export interface History {
  /** Epoch numbers (from 0). */
  epoch: number[];
  /** Per logged name (`loss`, metrics, `valLoss`, …) one value per epoch. */
  history: Record<string, number[]>;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function lossFunction(loss: unknown): LossFn {
  if (typeof loss === 'function') return loss as LossFn;
  const canonical = typeof loss === 'string' && Object.prototype.hasOwnProperty.call(LOSS_ALIASES, loss) ? LOSS_ALIASES[loss as LossName]! : loss;
  return LOSSES[checkOneOf('loss', canonical, Object.keys(LOSSES) as (keyof typeof LOSSES)[])];
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Running means of logged values over the batches of an epoch. */
class Means {
  private sums = new Map<string, [number, number]>();

  add(key: string, value: number, weight = 1): void {
    const [s, n] = this.sums.get(key) ?? [0, 0];
    this.sums.set(key, [s + value * weight, n + weight]);
  }

  entries(): IterableIterator<[string, [number, number]]> {
    return this.sums.entries();
  }

  set(key: string, sum: number, weight: number): void {
    this.sums.set(key, [sum, weight]);
  }

  result(prefix = ''): Logs {
    const out: Logs = {};
    for (const [k, [s, n]] of this.sums) out[prefix ? prefix + capitalize(k) : k] = s / n;
    return out;
  }
}

function batchRows(b: Batch): number {
  return b.y.shape[0] ?? 1;
}

/** Epoch means over all replicas: the sums and weights of every logged value, summed across ranks (same keys in the same order on every rank). */
async function reduceMeans(means: Means, dp: DataParallel | null): Promise<Means> {
  if (!dp) return means;
  const entries = [...means.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const flat = new Float64Array(entries.length * 2);
  entries.forEach(([, [s, n]], i) => flat.set([s, n], 2 * i));
  await dp.sum(flat);
  const out = new Means();
  entries.forEach(([k], i) => out.set(k, flat[2 * i], flat[2 * i + 1]));
  return out;
}

function firstNonFiniteGradient(model: Model): string | null {
  for (const [name, p] of model.namedParameters()) {
    const g = p.grad;
    if (!g) continue;
    const d = g.toFloat32Array();
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return `${name}[${i}] = ${d[i]}`;
  }
  return null;
}

/**
 * The training data and the validation data of a fit: `validationData`, or
 * the last `validationSplit` of the rows of tensor data. Tensor data must
 * have rows.
 */
function splitValidation(data: Data, o: FitOptions): { data: Data; validation?: Data } {
  const fraction = checkNumber('validationSplit', o.validationSplit ?? 0, { min: 0, max: 1 });
  if (fraction >= 1) fail('number in [0, 1)', 'validationSplit', o.validationSplit);
  const rows = isBatch(data) ? checkTensorData(data, 'data') : undefined;
  if (rows === 0) throw new ValidationError('Expected at least one row for data but received 0');
  if (fraction === 0) return { data, validation: o.validationData };
  if (o.validationData !== undefined) throw new ValidationError('Expected validationData or validationSplit but received both');
  if (rows === undefined) throw new ValidationError(`Expected tensor data ({ x, y }) for validationSplit but received ${describe(data)}; split a dataset with dataset.split()`);
  // Keras: the first int(n · (1 − split)) rows train, the rest validate.
  const train = Math.floor(rows * (1 - fraction));
  if (train === 0 || train === rows) {
    throw new ValidationError(`Expected validationSplit to leave rows for both training and validation but ${fraction} of ${rows} rows gives ${train} and ${rows - train}`);
  }
  const batch = data as Batch;
  return { data: sliceRows(batch, 0, train), validation: sliceRows(batch, train, rows) };
}

export async function fit(model: Model, data: Data, opts: FitOptions): Promise<History> {
  const o = checkOptions('options', opts, FIT_OPTION_KEYS) as FitOptions;
  const epochs = checkInteger('epochs', o.epochs ?? 1, 1);
  const split = splitValidation(data, o);
  data = split.data;
  let initialEpoch = checkInteger('initialEpoch', o.initialEpoch ?? 0, 0);
  const batchSize = checkInteger('batchSize', o.batchSize ?? 32, 1);
  const stateful = model.stateful;
  if (stateful && o.shuffle === true) {
    throw new ValidationError('Expected shuffle: false for a model with stateful layers: their states carry from each batch to the next in order');
  }
  const shuffle = o.shuffle ?? !stateful;
  const resetEachEpoch = checkOneOf('resetStates', o.resetStates ?? 'epoch', ['epoch', 'never'] as const) === 'epoch';
  const lossFn = lossFunction(o.loss);
  const metricNames = (o.metrics ?? []).map((m, i) => checkOneOf(`metrics[${i}]`, m, Object.keys(METRICS) as MetricName[]));
  const clipNorm = o.clipNorm === undefined ? undefined : checkNumber('clipNorm', o.clipNorm, { min: 0 });
  const clipValue = o.clipValue === undefined ? undefined : checkNumber('clipValue', o.clipValue, { min: 0 });
  const onNonFinite = checkOneOf('onNonFinite', o.onNonFinite ?? 'error', ['error', 'skip'] as const);
  if (o.optimizer !== undefined && !(o.optimizer instanceof Optimizer)) fail('an eddy optimizer', 'optimizer', o.optimizer);
  const optimizer = o.optimizer ?? new Adam(model.parameters(), { lr: 1e-3 });
  const dp = resolveDataParallel(o.distributed);
  // Replica 0 alone logs, draws progress and writes checkpoints.
  const callbacks = o.callbacks === undefined || (dp && dp.rank !== 0) ? [] : Array.isArray(o.callbacks) ? o.callbacks : [o.callbacks];
  const generator = o.generator ?? globalGenerator;
  const signal = o.signal;
  const checkAbort = (): void => {
    if (signal?.aborted) throw new AbortError(signal.reason instanceof Error ? `Training was aborted: ${signal.reason.message}` : 'Training was aborted');
  };

  if (o.resumeFrom !== undefined) {
    // The shuffling generator is restored when the checkpoint saved one
    // (saveCheckpoint's `rng`); without it the run continues, not bit-exactly.
    const restored = await loadCheckpoint(o.resumeFrom, { model, optimizer, rng: generator, skipMissingRng: true });
    initialEpoch = restored.epoch;
  }
  if (dp) await dp.setup(model);
  const params = model.parameters().map((p) => p.data);
  const history: History = { epoch: [], history: {} };
  model.stopTraining = false;
  for (const cb of callbacks) await cb.onTrainBegin?.(model);
  let lastLogs: Logs = {};
  let step = 0;
  for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining; epoch++) {
    checkAbort();
    if (stateful && resetEachEpoch) model.resetStates();
    for (const cb of callbacks) await cb.onEpochBegin?.(epoch, model);
    const means = new Means();
    let batchIndex = 0;
    const batches = batchesOf(data, batchSize, shuffle, generator, 'data', dp ? { index: dp.rank, count: dp.worldSize } : undefined);
    for await (const batch of dp ? lockstepBatches(batches, dp) : batches) {
      checkAbort();
      const rows = batchRows(batch);
      // A replica can get no rows from a short last batch; it still takes part in the collectives.
      const prediction = rows > 0 || !dp ? ((await model.forwardAsync(batch.x, { lengths: batch.lengths, training: true })) as Tensor) : null;
      if (prediction !== null && !(prediction instanceof Tensor)) throw new ValidationError(`fit needs a model with one output; ${model.toString()} returned ${describe(prediction)}`);
      const ctx = lossContext(batch, prediction);
      const loss = prediction ? lossFn(prediction, batch.y, ctx) : null;
      let lossValue = loss ? loss.item() : 0;
      const logs: Logs = { loss: lossValue };
      const metricValues: number[] = [];
      let totalRows = rows;
      let skip = false;
      if (dp) {
        // Loss and metrics of the global batch: row-weighted sums over the replicas,
        // started before backward so they travel while it runs.
        for (const m of metricNames) metricValues.push(prediction ? noGrad(() => METRICS[m](prediction, batch.y, lossValue, ctx)) : 0);
        const stats = Float64Array.from([rows, lossValue * rows, ...metricValues.map((v) => v * rows)]);
        const reduced = dp.sum(stats);
        optimizer.zeroGrad();
        const gradients = dp.gradients(params, rows);
        if (loss) await backwardAsync([loss], undefined, { onGradReady: (t, g) => gradients.ready(t, g) });
        await reduced;
        totalRows = stats[0];
        lossValue = logs.loss = stats[1] / totalRows;
        for (let i = 0; i < metricValues.length; i++) metricValues[i] = stats[2 + i] / totalRows;
        await gradients.finish(totalRows);
      }
      if (!Number.isFinite(lossValue)) {
        if (onNonFinite === 'error') throw new NonFiniteError(`The loss is ${lossValue} at epoch ${epoch}, batch ${batchIndex} (step ${step})`);
        skip = true;
      }
      if (!skip) {
        if (!dp) {
          optimizer.zeroGrad();
          await backwardAsync([loss as Tensor]);
        }
        const bad = firstNonFiniteGradient(model);
        if (bad) {
          if (onNonFinite === 'error') throw new NonFiniteError(`The gradient of ${bad} at epoch ${epoch}, batch ${batchIndex} (step ${step})`);
          skip = true;
        }
      }
      if (!skip) {
        if (clipNorm !== undefined) {
          const norm = clipGradNorm(model.parameters(), clipNorm);
          logs.gradNorm = norm;
          logs.clipped = norm > clipNorm ? 1 : 0;
        }
        if (clipValue !== undefined) clipGradValue(model.parameters(), clipValue);
        optimizer.step();
        means.add('loss', lossValue, totalRows);
        metricNames.forEach((m, i) => {
          const v = dp ? metricValues[i] : noGrad(() => METRICS[m](prediction as Tensor, batch.y, lossValue, ctx));
          logs[m] = v;
          means.add(m, v, totalRows);
        });
      } else {
        logs.skipped = 1;
      }
      for (const cb of callbacks) await cb.onBatchEnd?.(batchIndex, logs, model);
      batchIndex++;
      step++;
      await yieldToEventLoop();
    }
    const epochLogs: Logs = means.result();
    if (batchIndex === 0) {
      // A one-shot iterator is used up by the first epoch: a later empty epoch says so rather than logging nothing.
      throw new ValidationError(`Expected at least one batch from data in epoch ${epoch} but received none${epoch > initialEpoch ? ' (an iterator used up by an earlier epoch? pass a Dataset or an iterable that restarts)' : ''}`);
    }
    if (split.validation !== undefined) Object.assign(epochLogs, await evaluateOn(model, split.validation, { loss: lossFn, metrics: metricNames, batchSize, prefix: 'val' }, dp));
    history.epoch.push(epoch);
    for (const [k, v] of Object.entries(epochLogs)) (history.history[k] ??= []).push(v);
    o.onEpochEndSchedule?.(epoch, epochLogs);
    for (const cb of callbacks) {
      if ((await cb.onEpochEnd?.(epoch, epochLogs, model)) === false) model.stopTraining = true;
    }
    if (dp) model.stopTraining = await dp.agree(model.stopTraining);
    lastLogs = epochLogs;
  }
  for (const cb of callbacks) await cb.onTrainEnd?.(lastLogs, model);
  return history;
}

/** The options of `model.evaluate`. */
export interface EvaluateOptions {
  /** A loss name or a {@link LossFn}. */
  loss: LossName | LossFn;
  /** Metrics to compute besides the loss. @default [] */
  metrics?: MetricName[];
  /** Rows per batch when the data are tensors. @default 32 */
  batchSize?: number;
  /** Prefix for the logged names (`val` gives `valLoss`). @default none */
  prefix?: string;
}

/** The keys of EvaluateOptions, for checkOptions. */
export const EVALUATE_OPTION_KEYS = optionKeys<EvaluateOptions>({ loss: true, metrics: true, batchSize: true, prefix: true });

/** Mean loss and metrics over `data`, in eval mode (for this call only: the model's flag is left alone) without recording. */
export async function evaluate(model: Model, data: Data, opts: EvaluateOptions): Promise<Logs> {
  return evaluateOn(model, data, opts, null);
}

/** `evaluate`, with the means taken over every replica's `data` when `dp` is given. */
async function evaluateOn(model: Model, data: Data, opts: EvaluateOptions, dp: DataParallel | null): Promise<Logs> {
  const o = checkOptions('options', opts, EVALUATE_OPTION_KEYS) as EvaluateOptions;
  const lossFn = lossFunction(o.loss);
  const metricNames = (o.metrics ?? []).map((m, i) => checkOneOf(`metrics[${i}]`, m, Object.keys(METRICS) as MetricName[]));
  const batchSize = checkInteger('batchSize', o.batchSize ?? 32, 1);
  const means = new Means();
  await noGrad(async () => {
    for await (const batch of batchesOf(data, batchSize, false, globalGenerator, o.prefix ? 'validationData' : 'data')) {
      const prediction = (await model.forwardAsync(batch.x, { lengths: batch.lengths, training: false })) as Tensor;
      const ctx = lossContext(batch, prediction);
      const lossValue = lossFn(prediction, batch.y, ctx).item();
      const rows = batchRows(batch);
      means.add('loss', lossValue, rows);
      for (const m of metricNames) means.add(m, METRICS[m](prediction, batch.y, lossValue, ctx), rows);
      await yieldToEventLoop();
    }
  });
  return (await reduceMeans(means, dp)).result(o.prefix);
}

/** The options of `model.predict`. */
export interface PredictOptions {
  /** Rows per forward pass. @default 32 */
  batchSize?: number;
  /** Length of each row's sequence, as in `fit`'s data: one array for every input, or one entry per input. @default every step is valid */
  lengths?: ModelLengths;
}

/** The keys of PredictOptions, for checkOptions. */
export const PREDICT_OPTION_KEYS = optionKeys<PredictOptions>({ batchSize: true, lengths: true });

/** The model's outputs for every row of `x`, batched, in eval mode (for this call only) without recording. */
export async function predict(model: Model, x: Tensor | Tensor[], opts: PredictOptions = {}): Promise<Tensor> {
  const o = checkOptions('options', opts, PREDICT_OPTION_KEYS);
  const batchSize = checkInteger('batchSize', o.batchSize ?? 32, 1);
  const xs = Array.isArray(x) ? x : [x];
  if (xs.length === 0 || !xs.every((t) => t instanceof Tensor)) fail('Tensor or array of tensors', 'x', x);
  const n = xs[0].shape[0];
  const parts: Tensor[] = [];
  await noGrad(async () => {
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const slice = xs.map((t) => t.slice(0, start, end).contiguous());
      const lengths = o.lengths ? lengthsRows(o.lengths, Array.from({ length: end - start }, (_, i) => start + i)) : undefined;
      const out = await model.forwardAsync(Array.isArray(x) ? slice : slice[0], { lengths, training: false });
      if (!(out instanceof Tensor)) throw new ValidationError(`predict needs a model with one output; ${model.toString()} returned ${describe(out)}`);
      parts.push(out);
      await yieldToEventLoop();
    }
  });
  const rows = parts.reduce((a, p) => a + p.shape[0], 0);
  const out = new Float32Array(parts.reduce((a, p) => a + p.size, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p.toFloat32Array(), at);
    at += p.size;
  }
  return new Tensor(out, [rows, ...(parts[0]?.shape.slice(1) ?? [])]);
}
