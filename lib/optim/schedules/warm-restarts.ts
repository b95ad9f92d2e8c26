/** CosineAnnealingWarmRestarts (SGDR), stepped by steps or by (fractional) epochs as in PyTorch. */
import { checkInteger, checkNumber, checkOptions, optionKeys } from '../../validate';
import { LRScheduler, LrTarget } from './scheduler';

/** The options of {@link CosineAnnealingWarmRestarts}. */
export interface CosineAnnealingWarmRestartsOptions {
  /** Steps until the first restart. */
  t0: number;
  /** Factor by which the period grows after each restart (an integer >= 1). @default 1 */
  tMult?: number;
  /** The lowest lr. @default 0 */
  etaMin?: number;
}

/** The keys of CosineAnnealingWarmRestartsOptions, for checkOptions. */
export const COSINE_ANNEALING_WARM_RESTARTS_OPTION_KEYS = optionKeys<CosineAnnealingWarmRestartsOptions>({ t0: true, tMult: true, etaMin: true });

/**
 * SGDR: lr = etaMin + (base - etaMin)·(1 + cos(π·tCur / tI)) / 2, where
 * tCur counts steps since the last restart and the period tI starts at t0
 * and is multiplied by tMult at each restart.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  private options: Required<CosineAnnealingWarmRestartsOptions>;
  private tCur = 0;
  private tI: number;

  /**
   * @param optimizer - The optimizer whose groups' lr to set.
   * @param opts - {@link CosineAnnealingWarmRestartsOptions}.
   */
  constructor(optimizer: LrTarget, opts: CosineAnnealingWarmRestartsOptions) {
    super('CosineAnnealingWarmRestarts', optimizer);
    this.options = CosineAnnealingWarmRestarts.normalize(checkOptions('opts', opts, COSINE_ANNEALING_WARM_RESTARTS_OPTION_KEYS));
    this.tI = this.options.t0;
    this.step();
  }

  private static normalize(o: Partial<CosineAnnealingWarmRestartsOptions>): Required<CosineAnnealingWarmRestartsOptions> {
    return { t0: checkInteger('opts.t0', o.t0, 1), tMult: checkInteger('opts.tMult', o.tMult ?? 1, 1), etaMin: checkNumber('opts.etaMin', o.etaMin ?? 0, { min: 0 }) };
  }

  /**
   * Advances one step, or jumps to `epoch` (which may be fractional, e.g.
   * `epoch + i / itersPerEpoch` per batch, as in PyTorch).
   * @param epoch - The (fractional) epoch to jump to; one step on when omitted.
   */
  step(epoch?: number): void {
    const { t0, tMult } = this.options;
    if (epoch === undefined && this.epoch >= 0) {
      this.tCur += 1;
      if (this.tCur >= this.tI) {
        this.tCur %= this.tI;
        this.tI *= tMult;
      }
      this.epoch += 1;
    } else {
      const e = epoch === undefined ? 0 : checkNumber('epoch', epoch, { min: 0 });
      if (e < t0) {
        this.tI = t0;
        this.tCur = e;
      } else if (tMult === 1) {
        this.tCur = e % t0;
      } else {
        // The restart index: the largest n with t0·(tMult^n - 1)/(tMult - 1) <= e.
        const n = Math.floor(Math.log((e / t0) * (tMult - 1) + 1) / Math.log(tMult));
        this.tCur = e - (t0 * (tMult ** n - 1)) / (tMult - 1);
        this.tI = t0 * tMult ** n;
      }
      this.epoch = Math.floor(e);
    }
    const { etaMin } = this.options;
    this.setLrs(this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2));
  }

  protected getOptions(): Record<string, unknown> {
    return this.options;
  }

  protected setOptions(options: Record<string, unknown>): void {
    this.options = CosineAnnealingWarmRestarts.normalize(options);
  }

  protected override counters(): Record<string, number> {
    return { tCur: this.tCur, tI: this.tI };
  }

  protected override loadCounters(c: Record<string, number>): void {
    this.tCur = checkNumber('state.counters.tCur', c.tCur, { min: 0 });
    this.tI = checkNumber('state.counters.tI', c.tI, { min: 1 });
  }
}
