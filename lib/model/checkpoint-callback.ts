/**
 * A `fit` callback that writes a checkpoint after every epoch, keeps the
 * last N of them, and keeps the best one (by a logged value) apart.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { monitoredValue } from './callbacks';
import type { Callback, Logs } from './callbacks';
import type { Model } from './model';
import { Optimizer } from '../optim/optimizer';
import { Generator } from '../random';
import { checkInteger, checkOneOf, checkOptions, fail, optionKeys } from '../validate';
import { saveCheckpoint, Stateful } from '../io/checkpoint';
import { describeModelFile } from '../io/describe';
import { checkPath } from '../io/safetensors-file';

/** The options of {@link ModelCheckpoint}. */
export interface ModelCheckpointOptions {
  /** Directory for `epoch-<n>.safetensors` and `best.safetensors` (created if missing). */
  directory: string;
  /**
   * Saved with every checkpoint so training can resume exactly.
   * @default none (the optimizer state is not saved)
   */
  optimizer?: Optimizer<{ lr: number }>;
  /**
   * Generators saved with every checkpoint besides the global one (one, or several by name).
   * @default none
   */
  rng?: Generator | Record<string, Generator>;
  /** A learning-rate schedule saved with every checkpoint. @default none */
  scheduler?: Stateful;
  /** Epoch checkpoints kept (older ones are deleted). @default 3 */
  keepLast?: number;
  /** Logged value that decides the best checkpoint; none to keep no best. @default 'valLoss' if logged, else 'loss' */
  monitor?: string;
  /** Whether a smaller ('min') or larger ('max') monitored value is better. @default 'min' */
  mode?: 'min' | 'max';
}

/** The keys of ModelCheckpointOptions, for checkOptions. */
export const MODEL_CHECKPOINT_OPTION_KEYS = optionKeys<ModelCheckpointOptions>({ directory: true, optimizer: true, rng: true, scheduler: true, keepLast: true, monitor: true, mode: true });

/** Metadata key holding the monitored value of `best.safetensors`. */
const META_BEST = 'modelCheckpoint.best';

/**
 * Saves a checkpoint after every epoch (`epoch-<n>.safetensors`, the last `keepLast` kept) and the
 * best one as `best.safetensors`, each with the optimizer, generators and schedule needed to resume
 * (Keras' ModelCheckpoint).
 * @example
 * ```ts
 * const ckpt = new eddy.ModelCheckpoint({ directory: 'runs/1', optimizer });
 * await model.fit(data, { loss: 'mse', epochs: 20, optimizer, callbacks: [ckpt] });
 * ```
 */
export class ModelCheckpoint implements Callback {
  /** Where the checkpoints are written. */
  readonly directory: string;
  /** Epoch checkpoints kept. */
  readonly keepLast: number;
  /** Whether a smaller or larger monitored value is better. */
  readonly mode: 'min' | 'max';
  /** Best monitored value so far, or NaN. */
  best = NaN;
  private readonly kept: string[] = [];
  private steps = 0;

  /**
   * @param opts - {@link ModelCheckpointOptions}.
   * @throws {@link ValidationError} when an option is missing or malformed.
   */
  constructor(private readonly opts: ModelCheckpointOptions) {
    const o = checkOptions('options', opts, MODEL_CHECKPOINT_OPTION_KEYS);
    this.directory = checkPath('directory', o.directory);
    this.keepLast = checkInteger('keepLast', o.keepLast ?? 3, 1);
    this.mode = checkOneOf('mode', o.mode ?? 'min', ['min', 'max'] as const);
    if (o.optimizer !== undefined && !(o.optimizer instanceof Optimizer)) fail('an eddy optimizer', 'optimizer', o.optimizer);
  }

  /**
   * Picks up where an earlier run left off: the best value so far comes
   * from an existing `best.safetensors`, so a resumed run never replaces a
   * better model with a worse one.
   */
  async onTrainBegin(): Promise<void> {
    await fs.mkdir(this.directory, { recursive: true });
    const bestFile = path.join(this.directory, 'best.safetensors');
    const info = await describeModelFile(bestFile).catch(() => null);
    const saved = info ? Number(info.metadata[META_BEST]) : NaN;
    if (Number.isFinite(saved)) this.best = saved;
  }

  onBatchEnd(): void {
    this.steps++;
  }

  /**
   * Writes this epoch's checkpoint, deletes the oldest beyond `keepLast`, and replaces
   * `best.safetensors` when the monitored value improved.
   * @param epoch - The epoch, from 0.
   * @param logs - The epoch's logs.
   * @param model - The model being trained.
   */
  async onEpochEnd(epoch: number, logs: Logs, model: Model): Promise<void> {
    // fit passes real epoch numbers, also when it resumes from a checkpoint.
    const done = epoch + 1;
    const state = { model, optimizer: this.opts.optimizer, epoch: done, step: this.steps, rng: this.opts.rng, scheduler: this.opts.scheduler };
    const file = path.join(this.directory, `epoch-${done}.safetensors`);
    await saveCheckpoint(file, state);
    this.kept.push(file);
    while (this.kept.length > this.keepLast) await fs.rm(this.kept.shift()!, { force: true });
    const value = monitoredValue('ModelCheckpoint', this.opts.monitor, logs);
    if (typeof value === 'number' && Number.isFinite(value) && (Number.isNaN(this.best) || (this.mode === 'min' ? value < this.best : value > this.best))) {
      this.best = value;
      await saveCheckpoint(path.join(this.directory, 'best.safetensors'), { ...state, metadata: { [META_BEST]: String(value) } });
    }
  }
}
