/**
 * Schedules whose lr at step n is base · f(n), PyTorch's closed forms:
 * StepLR, ExponentialLR, CosineAnnealingLR, LinearLR.
 */
import { checkInteger, checkNumber, fail, optionKeys } from '../../validate';
import { ClosedFormScheduler, LrTarget } from './scheduler';

/** The options of {@link StepLR}. */
export interface StepLROptions {
  /** Steps between decays. */
  stepSize: number;
  /** Factor applied every stepSize steps. @default 0.1 */
  gamma?: number;
}

export const STEP_LR_OPTION_KEYS = optionKeys<StepLROptions>({ stepSize: true, gamma: true });

/** lr = base · gamma^floor(n / stepSize). */
export class StepLR extends ClosedFormScheduler<StepLROptions> {
  /**
   * @param optimizer - The optimizer whose groups' lr to set.
   * @param opts - {@link StepLROptions}.
   */
  constructor(optimizer: LrTarget, opts: StepLROptions) {
    super('StepLR', optimizer, opts, STEP_LR_OPTION_KEYS, (o) => ({ stepSize: checkInteger('opts.stepSize', o.stepSize, 1), gamma: checkNumber('opts.gamma', o.gamma ?? 0.1, { min: 0 }) }));
    this.step();
  }

  protected lrAt(n: number, base: number): number {
    return base * this.options.gamma ** Math.floor(n / this.options.stepSize);
  }
}

/** The options of {@link ExponentialLR}. */
export interface ExponentialLROptions {
  /** Factor applied every step. */
  gamma: number;
}

export const EXPONENTIAL_LR_OPTION_KEYS = optionKeys<ExponentialLROptions>({ gamma: true });

/** lr = base · gamma^n. */
export class ExponentialLR extends ClosedFormScheduler<ExponentialLROptions> {
  /**
   * @param optimizer - The optimizer whose groups' lr to set.
   * @param opts - {@link ExponentialLROptions}.
   */
  constructor(optimizer: LrTarget, opts: ExponentialLROptions) {
    super('ExponentialLR', optimizer, opts, EXPONENTIAL_LR_OPTION_KEYS, (o) => ({ gamma: checkNumber('opts.gamma', o.gamma, { min: 0 }) }));
    this.step();
  }

  protected lrAt(n: number, base: number): number {
    return base * this.options.gamma ** n;
  }
}

/** The options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Steps from the base lr down to etaMin (the cosine continues periodically after). */
  tMax: number;
  /** The lowest lr. @default 0 */
  etaMin?: number;
}

export const COSINE_ANNEALING_LR_OPTION_KEYS = optionKeys<CosineAnnealingLROptions>({ tMax: true, etaMin: true });

/** lr = etaMin + (base - etaMin)·(1 + cos(π·n / tMax)) / 2. */
export class CosineAnnealingLR extends ClosedFormScheduler<CosineAnnealingLROptions> {
  /**
   * @param optimizer - The optimizer whose groups' lr to set.
   * @param opts - {@link CosineAnnealingLROptions}.
   * @example
   * ```ts
   * const schedule = new eddy.optim.CosineAnnealingLR(optimizer, { tMax: 50 });
   * await model.fit(data, { loss: 'mse', epochs: 50, optimizer, onEpochEndSchedule: () => schedule.step() });
   * ```
   */
  constructor(optimizer: LrTarget, opts: CosineAnnealingLROptions) {
    super('CosineAnnealingLR', optimizer, opts, COSINE_ANNEALING_LR_OPTION_KEYS, (o) => ({ tMax: checkInteger('opts.tMax', o.tMax, 1), etaMin: checkNumber('opts.etaMin', o.etaMin ?? 0, { min: 0 }) }));
    this.step();
  }

  protected lrAt(n: number, base: number): number {
    const { tMax, etaMin } = this.options;
    return etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * n) / tMax))) / 2;
  }
}

/** The options of {@link LinearLR}. */
export interface LinearLROptions {
  /** Multiplier of the base lr at step 0, in (0, 1]. @default 1/3 */
  startFactor?: number;
  /** Multiplier reached at step totalIters and kept after, in [0, 1]. @default 1 */
  endFactor?: number;
  /** Steps of the linear ramp. @default 5 */
  totalIters?: number;
}

export const LINEAR_LR_OPTION_KEYS = optionKeys<LinearLROptions>({ startFactor: true, endFactor: true, totalIters: true });

/** lr = base · (start + (end - start)·min(n, totalIters) / totalIters): linear warmup (or decay). */
export class LinearLR extends ClosedFormScheduler<LinearLROptions> {
  /**
   * @param optimizer - The optimizer whose groups' lr to set.
   * @param opts - {@link LinearLROptions}.
   */
  constructor(optimizer: LrTarget, opts?: LinearLROptions) {
    super('LinearLR', optimizer, opts, LINEAR_LR_OPTION_KEYS, (o) => {
      const startFactor = o.startFactor ?? 1 / 3;
      if (typeof startFactor !== 'number' || !(startFactor > 0 && startFactor <= 1)) fail('number in (0, 1]', 'opts.startFactor', startFactor);
      return {
        startFactor,
        endFactor: checkNumber('opts.endFactor', o.endFactor ?? 1, { min: 0, max: 1 }),
        totalIters: checkInteger('opts.totalIters', o.totalIters ?? 5, 1),
      };
    });
    this.step();
  }

  protected lrAt(n: number, base: number): number {
    const { startFactor, endFactor, totalIters } = this.options;
    return base * (startFactor + ((endFactor - startFactor) * Math.min(totalIters, n)) / totalIters);
  }
}
