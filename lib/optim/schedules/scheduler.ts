/**
 * The base of every schedule: the optimizer interface schedules drive, the
 * step count, the last lrs, and state dicts for exact resume.
 */
import { ValidationError } from '../../errors';
import { checkNumber, checkObject, checkOptions, fail } from '../../validate';

/** A parameter group as schedules see it. */
export interface LrGroup {
  /** The learning rate the optimizer uses now; schedules set it. */
  lr: number;
  /** The lr schedules start from (PyTorch's `initial_lr`); set by the first schedule attached if absent. */
  initialLr?: number;
  /** Cycled by OneCycleLR when present (SGD, RMSprop). */
  momentum?: number;
  /** betas[0] is cycled by OneCycleLR when present (Adam). */
  betas?: [number, number];
}

/** The minimal optimizer interface a schedule drives. */
export interface LrTarget {
  /** The parameter groups whose learning rates the schedule sets. */
  paramGroups: LrGroup[];
}

/** A schedule's state: plain numbers, strings and arrays, safe to JSON.stringify (non-finite numbers become strings). */
export interface SchedulerStateDict {
  /** The schedule's class name, checked on load. */
  type: string;
  /** Steps taken (PyTorch's `last_epoch`). */
  lastEpoch: number;
  /** The learning rates the schedule started from, one per group. */
  baseLrs: number[];
  /** The learning rates it set last, one per group. */
  lastLr: number[];
  /** The schedule's options, defaults filled in. */
  options: Record<string, unknown>;
  /** Counters a schedule keeps beyond `lastEpoch` (e.g. epochs since the best value). */
  counters: Record<string, number | string>;
}

function checkTarget(optimizer: unknown): LrTarget {
  const groups = (optimizer as LrTarget | null)?.paramGroups;
  if (optimizer === null || typeof optimizer !== 'object' || !Array.isArray(groups) || groups.length === 0) {
    fail('an optimizer with paramGroups (a non-empty array of { lr })', 'optimizer', optimizer);
  }
  groups.forEach((g, i) => checkNumber(`optimizer.paramGroups[${i}].lr`, g?.lr, { min: 0 }));
  return optimizer as LrTarget;
}

/** A number, or one per parameter group. */
export function perGroup(name: string, value: unknown, groups: number, min = 0): number[] {
  const values = typeof value === 'number' ? new Array<number>(groups).fill(value) : value;
  if (!Array.isArray(values) || values.length !== groups) fail(`number or array of ${groups} numbers (one per parameter group)`, name, value);
  return values.map((v, i) => checkNumber(Array.isArray(value) ? `${name}[${i}]` : name, v, { min }));
}

function encode(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

export function decode(name: string, v: unknown): number {
  const n = typeof v === 'string' && ['Infinity', '-Infinity', 'NaN'].includes(v) ? Number(v) : v;
  if (typeof n !== 'number') fail('number', name, v);
  return n;
}

/** What all schedules share: the optimizer, the step count, the last lrs, and state dicts. */
export abstract class LRScheduler {
  /** The optimizer whose learning rates this schedule sets. */
  readonly optimizer: LrTarget;
  protected baseLrs: number[];
  protected epoch: number;
  protected lastLr: number[];

  protected constructor(
    private readonly kind: string,
    optimizer: LrTarget,
    opts: { setInitialLr: boolean } = { setInitialLr: true },
  ) {
    this.optimizer = checkTarget(optimizer);
    const groups = this.optimizer.paramGroups;
    if (opts.setInitialLr) {
      groups.forEach((g, i) => checkNumber(`optimizer.paramGroups[${i}].initialLr`, (g.initialLr ??= g.lr), { min: 0 }));
    }
    this.baseLrs = groups.map((g) => g.initialLr ?? g.lr);
    this.epoch = -1;
    this.lastLr = groups.map((g) => g.lr);
  }

  /** Steps taken since construction (0 right after it, as PyTorch's `last_epoch`). */
  get lastEpoch(): number {
    return this.epoch;
  }

  /** The learning rates this schedule set last, one per group. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /** Everything needed to resume exactly, as plain data. */
  stateDict(): SchedulerStateDict {
    const counters: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(this.counters())) counters[k] = encode(v);
    return { type: this.kind, lastEpoch: this.epoch, baseLrs: this.baseLrs.slice(), lastLr: this.lastLr.slice(), options: structuredClone(this.getOptions()), counters };
  }

  /**
   * Restores `stateDict()` output (options included, as in PyTorch), and
   * sets each group's lr and initialLr to the saved values, so resuming does
   * not depend on the optimizer having saved them.
   * @param state - A state dict from `stateDict()`.
   * @throws {@link ValidationError} when the state dict is malformed or of another schedule.
   */
  loadStateDict(state: SchedulerStateDict): void {
    if (state === null || typeof state !== 'object' || typeof state.type !== 'string') fail('a schedule state dict', 'state', state);
    if (state.type !== this.kind) throw new ValidationError(`Expected a state dict of ${this.kind} for state but received one of ${state.type}`);
    const n = this.optimizer.paramGroups.length;
    const lrs = (name: 'baseLrs' | 'lastLr'): number[] => {
      const v = state[name];
      if (!Array.isArray(v) || v.length !== n) fail(`an array of ${n} numbers (one per parameter group)`, `state.${name}`, v);
      return v.map((x, i) => checkNumber(`state.${name}[${i}]`, x, { min: 0 }));
    };
    const baseLrs = lrs('baseLrs');
    const lastLr = lrs('lastLr');
    const epoch = checkNumber('state.lastEpoch', state.lastEpoch, { min: -1 });
    const counters: Record<string, number> = {};
    for (const [k, v] of Object.entries(state.counters ?? {})) counters[k] = decode(`state.counters.${k}`, v);
    this.setOptions(checkObject('state.options', state.options));
    this.loadCounters(counters);
    this.baseLrs = baseLrs;
    this.epoch = epoch;
    this.lastLr = lastLr;
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lastLr[i];
      g.initialLr = baseLrs[i];
    });
  }

  /** The normalized options (defaults filled in). */
  protected abstract getOptions(): Record<string, unknown>;
  /** Validates and adopts options from a state dict. */
  protected abstract setOptions(options: Record<string, unknown>): void;

  /** Counters beyond lastEpoch that a schedule keeps. */
  protected counters(): Record<string, number> {
    return {};
  }

  protected loadCounters(_counters: Record<string, number>): void {}

  protected setLrs(lrs: number[]): void {
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = lrs.slice();
  }
}

/** A schedule whose lr at step n is a function of n and the base lr. */
export abstract class ClosedFormScheduler<O extends object> extends LRScheduler {
  protected options!: Required<O>;

  protected constructor(kind: string, optimizer: LrTarget, opts: O | undefined, keys: readonly string[], private readonly normalize: (o: Partial<O>) => Required<O>) {
    super(kind, optimizer);
    this.options = normalize(checkOptions('opts', opts, keys) as Partial<O>);
  }

  /** Advances one step and sets every group's lr. */
  step(): void {
    const epoch = this.epoch + 1;
    const lrs = this.baseLrs.map((base, i) => this.lrAt(epoch, base, i));
    this.epoch = epoch;
    this.setLrs(lrs);
  }

  protected abstract lrAt(epoch: number, baseLr: number, group: number): number;

  protected getOptions(): Record<string, unknown> {
    return this.options;
  }

  protected setOptions(options: Record<string, unknown>): void {
    this.options = this.normalize(options as Partial<O>);
  }
}
