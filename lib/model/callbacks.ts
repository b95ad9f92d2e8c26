/**
 * Training callbacks: hooks called by `fit`, and early stopping.
 */
import { ValidationError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { checkBoolean, checkInteger, checkNumber, checkOneOf, checkOptions, closestKey, optionKeys, quote } from '../validate';
import type { Model } from './model';

/** Numbers logged for a batch or an epoch: `loss`, metrics, and `valLoss`/`val…` after an epoch with validation data. */
export type Logs = Record<string, number>;

/** Hooks that `fit` calls during training; implement any subset. Promises are awaited. */
export interface Callback {
  /**
   * Before the first epoch.
   * @param model - The model being trained.
   */
  onTrainBegin?(model: Model): void | Promise<void>;
  /**
   * Before each epoch.
   * @param epoch - The epoch, from 0.
   * @param model - The model being trained.
   */
  onEpochBegin?(epoch: number, model: Model): void | Promise<void>;
  /**
   * After each optimizer step; logs hold the batch loss, `gradNorm` and `clipped` when clipping by
   * norm.
   * @param batch - The batch within the epoch, from 0.
   * @param logs - The batch's logs.
   * @param model - The model being trained.
   */
  onBatchEnd?(batch: number, logs: Logs, model: Model): void | Promise<void>;
  /**
   * After each epoch. Return `false` (or set `model.stopTraining`) to stop.
   * @param epoch - The epoch, from 0.
   * @param logs - The epoch's logs.
   * @param model - The model being trained.
   */
  onEpochEnd?(epoch: number, logs: Logs, model: Model): void | boolean | Promise<void | boolean>;
  /**
   * After the last epoch (also when training stopped early).
   * @param logs - The last epoch's logs.
   * @param model - The model that was trained.
   */
  onTrainEnd?(logs: Logs, model: Model): void | Promise<void>;
}

/** The options of {@link EarlyStopping}. */
export interface EarlyStoppingOptions {
  /** The logged quantity to watch. @default 'valLoss' (or 'loss' without validation data) */
  monitor?: string;
  /** Epochs without improvement before stopping. @default 0 */
  patience?: number;
  /** Smallest change that counts as an improvement. @default 0 */
  minDelta?: number;
  /** Whether smaller ('min') or larger ('max') is better. @default 'min' */
  mode?: 'min' | 'max';
  /** At the end, put back the weights of the best epoch. @default false */
  restoreBestWeights?: boolean;
}

/** The keys of EarlyStoppingOptions, for checkOptions. */
export const EARLY_STOPPING_OPTION_KEYS = optionKeys<EarlyStoppingOptions>({ monitor: true, patience: true, minDelta: true, mode: true, restoreBestWeights: true });

/**
 * The value a callback monitors in an epoch's logs: `monitor`, or by
 * default `valLoss` when validation ran and `loss` otherwise. A name the
 * epoch did not log is an error (a misspelling, or `valLoss` without
 * validation data), never a silent no-op.
 */
export function monitoredValue(owner: string, monitor: string | undefined, logs: Logs): number {
  const key = monitor ?? ('valLoss' in logs ? 'valLoss' : 'loss');
  const value = logs[key];
  if (value !== undefined) return value;
  const names = Object.keys(logs);
  const guess = closestKey(key, names);
  throw new ValidationError(
    `Expected monitor of ${owner} to name a logged value (${names.join(', ')}) but received ${quote(key)}${guess !== undefined ? `; did you mean ${guess}?` : ''}`,
  );
}

/** Stops training when the monitored quantity stops improving (Keras' EarlyStopping). */
export class EarlyStopping implements Callback {
  /** The logged quantity watched (undefined: `valLoss`, or `loss` without validation data). */
  readonly monitor: string | undefined;
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** Smallest change that counts as an improvement. */
  readonly minDelta: number;
  /** Whether smaller or larger is better. */
  readonly mode: 'min' | 'max';
  /** Whether the best epoch's weights are put back at the end. */
  readonly restoreBestWeights: boolean;
  /** Epoch with the best value so far, or -1. */
  bestEpoch = -1;
  /** The best monitored value so far, or NaN. */
  best = NaN;
  /** Epoch after which training stopped, or -1. */
  stoppedEpoch = -1;
  private wait = 0;
  private bestWeights: Map<Tensor, Float32Array> | null = null;

  /**
   * @param opts - {@link EarlyStoppingOptions}.
   * @example
   * ```ts
   * const stop = new eddy.EarlyStopping({ patience: 3, restoreBestWeights: true });
   * await model.fit(data, { loss: 'mse', epochs: 50, validationData, callbacks: [stop] });
   * ```
   */
  constructor(opts: EarlyStoppingOptions = {}) {
    const o = checkOptions('options', opts, EARLY_STOPPING_OPTION_KEYS);
    this.monitor = o.monitor;
    this.patience = checkInteger('patience', o.patience ?? 0, 0);
    this.minDelta = Math.abs(checkNumber('minDelta', o.minDelta ?? 0));
    this.mode = checkOneOf('mode', o.mode ?? 'min', ['min', 'max'] as const);
    this.restoreBestWeights = checkBoolean('restoreBestWeights', o.restoreBestWeights ?? false);
  }

  /** Resets the state, so one instance can serve several `fit` calls. */
  onTrainBegin(): void {
    this.wait = 0;
    this.bestEpoch = -1;
    this.best = NaN;
    this.stoppedEpoch = -1;
    this.bestWeights = null;
  }

  /**
   * @param epoch - The epoch, from 0.
   * @param logs - The epoch's logs, holding the monitored value.
   * @param model - The model being trained.
   * @returns false to stop training.
   * @throws {@link ValidationError} when the logs do not hold the monitored value.
   */
  onEpochEnd(epoch: number, logs: Logs, model: Model): boolean {
    const value = monitoredValue('EarlyStopping', this.monitor, logs);
    if (Number.isNaN(value)) return true;
    const better = Number.isNaN(this.best) || (this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta);
    if (better) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = new Map(model.parameters().map((p) => [p.data, p.data.data.slice()]));
      return true;
    }
    this.wait++;
    if (this.wait > this.patience) {
      this.stoppedEpoch = epoch;
      return false;
    }
    return true;
  }

  /**
   * Restores the best weights when `restoreBestWeights` is set.
   * @param _logs - The last epoch's logs (unused).
   * @param model - The model that was trained.
   */
  onTrainEnd(_logs: Logs, model: Model): void {
    if (!this.bestWeights) return;
    for (const p of model.parameters()) {
      const saved = this.bestWeights.get(p.data);
      if (saved) p.data.data.set(saved);
    }
  }
}
