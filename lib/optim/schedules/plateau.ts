/** ReduceLROnPlateau: the one schedule driven by a metric rather than the step count. */
import { Tensor } from '../../tensor/tensor';
import { checkInteger, checkNumber, checkOneOf, checkOptions, fail, optionKeys } from '../../validate';
import { LRScheduler, LrTarget, decode, perGroup } from './scheduler';

/** The options of {@link ReduceLROnPlateau}. */
export interface ReduceLROnPlateauOptions {
  /** 'min': reduce when the metric stops decreasing; 'max': when it stops increasing. @default 'min' */
  mode?: 'min' | 'max';
  /** new lr = lr · factor, in [0, 1). @default 0.1 */
  factor?: number;
  /** Steps without improvement tolerated before reducing. @default 10 */
  patience?: number;
  /** How much better than the best counts as an improvement. @default 1e-4 */
  threshold?: number;
  /** 'rel': better than best·(1 ∓ threshold); 'abs': better than best ∓ threshold. @default 'rel' */
  thresholdMode?: 'rel' | 'abs';
  /** Steps after a reduction during which bad steps are not counted. @default 0 */
  cooldown?: number;
  /** Lower bound on the lr: one number, or one per parameter group. @default 0 */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped. @default 1e-8 */
  eps?: number;
}

/** The keys of ReduceLROnPlateauOptions, for checkOptions. */
export const REDUCE_LR_ON_PLATEAU_OPTION_KEYS = optionKeys<ReduceLROnPlateauOptions>({ mode: true, factor: true, patience: true, threshold: true, thresholdMode: true, cooldown: true, minLr: true, eps: true });

/** Reduces the lr by `factor` when a metric has stopped improving for `patience` steps. */
export class ReduceLROnPlateau extends LRScheduler {
  private options: Required<Omit<ReduceLROnPlateauOptions, 'minLr'>> & { minLr: number[] };
  private best: number;
  private numBadEpochs = 0;
  private cooldownCounter = 0;

  /**
   * @param optimizer - The optimizer whose groups' lr to set.
   * @param opts - {@link ReduceLROnPlateauOptions}.
   */
  constructor(optimizer: LrTarget, opts?: ReduceLROnPlateauOptions) {
    // PyTorch's ReduceLROnPlateau does not set initial_lr and starts at epoch 0 without a step.
    super('ReduceLROnPlateau', optimizer, { setInitialLr: false });
    this.options = this.normalize(checkOptions('opts', opts, REDUCE_LR_ON_PLATEAU_OPTION_KEYS));
    this.best = this.options.mode === 'min' ? Infinity : -Infinity;
    this.epoch = 0;
  }

  private normalize(o: ReduceLROnPlateauOptions): ReduceLROnPlateau['options'] {
    const factor = o.factor ?? 0.1;
    if (typeof factor !== 'number' || !(factor >= 0 && factor < 1)) fail('number in [0, 1)', 'opts.factor', factor);
    return {
      mode: checkOneOf('opts.mode', o.mode ?? 'min', ['min', 'max'] as const),
      factor,
      patience: checkInteger('opts.patience', o.patience ?? 10, 0),
      threshold: checkNumber('opts.threshold', o.threshold ?? 1e-4, { min: 0 }),
      thresholdMode: checkOneOf('opts.thresholdMode', o.thresholdMode ?? 'rel', ['rel', 'abs'] as const),
      cooldown: checkInteger('opts.cooldown', o.cooldown ?? 0, 0),
      minLr: perGroup('opts.minLr', o.minLr ?? 0, this.optimizer.paramGroups.length),
      eps: checkNumber('opts.eps', o.eps ?? 1e-8, { min: 0 }),
    };
  }

  private isBetter(a: number): boolean {
    const { mode, threshold, thresholdMode } = this.options;
    if (mode === 'min') return thresholdMode === 'rel' ? a < this.best * (1 - threshold) : a < this.best - threshold;
    return thresholdMode === 'rel' ? a > this.best * (threshold + 1) : a > this.best + threshold;
  }

  /**
   * Records this step's metric (a number or one-element Tensor) and reduces the lr if it has
   * plateaued.
   * @param metric - The epoch's monitored value (a validation loss, say).
   */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor && metric.size === 1 ? metric.item() : metric;
    if (typeof current !== 'number') fail('number or one-element Tensor', 'metric', metric);
    this.epoch += 1;
    if (this.isBetter(current)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.options.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.options.factor, this.options.minLr[i]);
        if (g.lr - newLr > this.options.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.options.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  protected getOptions(): Record<string, unknown> {
    return this.options;
  }

  protected setOptions(options: Record<string, unknown>): void {
    this.options = this.normalize(options);
  }

  protected override counters(): Record<string, number> {
    return { best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter };
  }

  protected override loadCounters(c: Record<string, number>): void {
    this.best = decode('state.counters.best', c.best);
    this.numBadEpochs = checkInteger('state.counters.numBadEpochs', c.numBadEpochs, 0);
    this.cooldownCounter = checkInteger('state.counters.cooldownCounter', c.cooldownCounter, 0);
  }
}
