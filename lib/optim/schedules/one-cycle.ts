/** OneCycleLR: the 1cycle policy, with momentum (or beta1) cycled against the lr. */
import { ValidationError } from '../../errors';
import { checkBoolean, checkInteger, checkNumber, checkOneOf, checkOptions, describe, optionKeys } from '../../validate';
import { LRScheduler, LrGroup, LrTarget, perGroup } from './scheduler';

/** The options of {@link OneCycleLR}. */
export interface OneCycleLROptions {
  /** Peak lr: one number, or one per parameter group. */
  maxLr: number | number[];
  /**
   * Steps in the cycle; or give epochs and stepsPerEpoch.
   * @default epochs · stepsPerEpoch
   */
  totalSteps?: number;
  /**
   * With stepsPerEpoch, sets totalSteps = epochs · stepsPerEpoch.
   * @default none
   */
  epochs?: number;
  /** Steps per epoch, with `epochs`. @default none */
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent raising the lr. @default 0.3 */
  pctStart?: number;
  /** How lr moves within a phase. @default 'cos' */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (or Adam's beta1) inversely to the lr; needs groups with momentum or betas. @default true */
  cycleMomentum?: boolean;
  /** Momentum at the lr peak. @default 0.85 */
  baseMomentum?: number | number[];
  /** Momentum at the start and end. @default 0.95 */
  maxMomentum?: number | number[];
  /** initial lr = maxLr / divFactor. @default 25 */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor. @default 1e4 */
  finalDivFactor?: number;
  /** Three phases (up, down to the initial lr, then annihilate) as in the paper, rather than fastai's two. @default false */
  threePhase?: boolean;
}

/** The keys of OneCycleLROptions, for checkOptions. */
export const ONE_CYCLE_LR_OPTION_KEYS = optionKeys<OneCycleLROptions>({ maxLr: true, totalSteps: true, epochs: true, stepsPerEpoch: true, pctStart: true, annealStrategy: true, cycleMomentum: true, baseMomentum: true, maxMomentum: true, divFactor: true, finalDivFactor: true, threePhase: true });

type OneCycleConfig = Required<Omit<OneCycleLROptions, 'epochs' | 'stepsPerEpoch' | 'maxLr' | 'baseMomentum' | 'maxMomentum'>> & {
  maxLr: number[];
  baseMomentum: number[];
  maxMomentum: number[];
};

/** A phase runs from the previous phase's end step to its own, between two named per-group values. */
interface Phase {
  end: number;
  lr: ['initial' | 'max' | 'min', 'initial' | 'max' | 'min'];
  momentum: ['base' | 'max', 'base' | 'max'];
}

/**
 * The 1cycle policy (Smith & Topin): lr rises from maxLr/divFactor to maxLr
 * over pctStart of totalSteps, then falls to maxLr/(divFactor·finalDivFactor),
 * annealed by cosine or linearly; momentum moves the opposite way. step()
 * may be called totalSteps times; one more is an error, as in PyTorch.
 */
export class OneCycleLR extends LRScheduler {
  private options: OneCycleConfig;

  /**
   * @param optimizer - The optimizer whose groups' lr (and momentum) to set.
   * @param opts - {@link OneCycleLROptions}.
   */
  constructor(optimizer: LrTarget, opts: OneCycleLROptions) {
    super('OneCycleLR', optimizer, { setInitialLr: false });
    this.options = this.normalize(checkOptions('opts', opts, ONE_CYCLE_LR_OPTION_KEYS));
    const { maxLr, divFactor, cycleMomentum, maxMomentum } = this.options;
    this.optimizer.paramGroups.forEach((g, i) => {
      g.initialLr = maxLr[i] / divFactor;
      if (cycleMomentum) this.setMomentum(g, maxMomentum[i]);
    });
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initialLr as number);
    this.step();
  }

  private normalize(o: Partial<OneCycleLROptions>): OneCycleConfig {
    const groups = this.optimizer.paramGroups;
    let totalSteps: number;
    if (o.totalSteps !== undefined) totalSteps = checkInteger('opts.totalSteps', o.totalSteps, 1);
    else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) totalSteps = checkInteger('opts.epochs', o.epochs, 1) * checkInteger('opts.stepsPerEpoch', o.stepsPerEpoch, 1);
    else throw new ValidationError(`Expected opts.totalSteps, or opts.epochs and opts.stepsPerEpoch, for OneCycleLR but received ${describe(o.totalSteps)}`);
    const config: OneCycleConfig = {
      maxLr: perGroup('opts.maxLr', o.maxLr, groups.length),
      totalSteps,
      pctStart: checkNumber('opts.pctStart', o.pctStart ?? 0.3, { min: 0, max: 1 }),
      annealStrategy: checkOneOf('opts.annealStrategy', o.annealStrategy ?? 'cos', ['cos', 'linear'] as const),
      cycleMomentum: checkBoolean('opts.cycleMomentum', o.cycleMomentum ?? true),
      baseMomentum: perGroup('opts.baseMomentum', o.baseMomentum ?? 0.85, groups.length),
      maxMomentum: perGroup('opts.maxMomentum', o.maxMomentum ?? 0.95, groups.length),
      divFactor: checkNumber('opts.divFactor', o.divFactor ?? 25, { min: Number.MIN_VALUE }),
      finalDivFactor: checkNumber('opts.finalDivFactor', o.finalDivFactor ?? 1e4, { min: Number.MIN_VALUE }),
      threePhase: checkBoolean('opts.threePhase', o.threePhase ?? false),
    };
    if (config.cycleMomentum) {
      groups.forEach((g, i) => {
        if (!('betas' in g) && !('momentum' in g)) {
          throw new ValidationError(`Expected parameter groups with momentum or betas for OneCycleLR with cycleMomentum (pass cycleMomentum: false otherwise) but optimizer.paramGroups[${i}] has neither`);
        }
      });
    }
    let start = 0;
    OneCycleLR.phases(config).forEach((phase, i) => {
      // PyTorch divides by the phase length and fails on 0 when it gets there.
      if (phase.end === start) {
        throw new ValidationError(`Expected phases of non-zero length for OneCycleLR but phase ${i + 1} starts and ends at step ${start} (pctStart=${config.pctStart}, totalSteps=${totalSteps})`);
      }
      start = phase.end;
    });
    return config;
  }

  private static phases({ pctStart, totalSteps, threePhase }: OneCycleConfig): Phase[] {
    const up = pctStart * totalSteps - 1;
    return threePhase
      ? [
          { end: up, lr: ['initial', 'max'], momentum: ['max', 'base'] },
          { end: 2 * pctStart * totalSteps - 2, lr: ['max', 'initial'], momentum: ['base', 'max'] },
          { end: totalSteps - 1, lr: ['initial', 'min'], momentum: ['max', 'max'] },
        ]
      : [
          { end: up, lr: ['initial', 'max'], momentum: ['max', 'base'] },
          { end: totalSteps - 1, lr: ['max', 'min'], momentum: ['base', 'max'] },
        ];
  }

  private anneal(from: number, to: number, pct: number): number {
    return this.options.annealStrategy === 'cos' ? to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1) : (to - from) * pct + from;
  }

  private setMomentum(g: LrGroup, m: number): void {
    if (g.betas) g.betas = [m, g.betas[1]];
    else g.momentum = m;
  }

  /** Advances one step and sets every group's lr (and momentum). */
  step(): void {
    const n = this.epoch + 1;
    const { totalSteps, maxLr, divFactor, finalDivFactor, cycleMomentum, baseMomentum, maxMomentum } = this.options;
    if (n > totalSteps) throw new ValidationError(`Expected at most ${totalSteps} steps (opts.totalSteps) for OneCycleLR but received step ${n}`);
    const phases = OneCycleLR.phases(this.options);
    let start = 0;
    let k = 0;
    while (n > phases[k].end && k < phases.length - 1) start = phases[k++].end;
    const phase = phases[k];
    const pct = (n - start) / (phase.end - start);
    const lrs = this.optimizer.paramGroups.map((g, i) => {
      const initial = maxLr[i] / divFactor;
      const lr = { initial, max: maxLr[i], min: initial / finalDivFactor };
      const momentum = { base: baseMomentum[i], max: maxMomentum[i] };
      if (cycleMomentum) this.setMomentum(g, this.anneal(momentum[phase.momentum[0]], momentum[phase.momentum[1]], pct));
      return this.anneal(lr[phase.lr[0]], lr[phase.lr[1]], pct);
    });
    this.epoch = n;
    this.setLrs(lrs);
  }

  protected getOptions(): Record<string, unknown> {
    return this.options;
  }

  protected setOptions(options: Record<string, unknown>): void {
    this.options = this.normalize(options);
  }
}
