/**
 * Hyperparameter search: `eddy.tune` runs an objective (usually: build a
 * model from the parameters, fit it, return its validation loss) over a
 * grid or a seeded random sample of a space of choices and ranks the
 * results. Trials run one after another, so each may use every thread.
 */
import { performance } from 'perf_hooks';
import { EddyError } from '../errors';
import { Generator } from '../random';
import { checkInteger, checkOneOf, checkOptions, describe, fail, optionKeys } from '../validate';
import { AbortError } from '../errors';

/** Parameter names mapped to the choices to try, e.g. `{ lr: [1e-3, 1e-2], hiddenSize: [16, 32] }`. */
export type SearchSpace = Record<string, readonly unknown[]>;

/** One choice per name of a space. */
export type TrialParams<S extends SearchSpace> = { [K in keyof S]: S[K][number] };

/** What the objective gets besides the parameters. */
export interface TrialContext {
  /** The trial's index in running order, from 0. */
  trial: number;
  /**
   * A generator for this trial (weights, dropout, shuffling), seeded from
   * the tune seed and the trial index alone: a trial's result does not
   * depend on the other trials.
   */
  generator: Generator;
  /** The tune signal, to pass on to `fit` so an abort also stops the running trial. */
  signal?: AbortSignal;
}

/** The outcome of one trial of {@link tune}. */
export interface TrialResult<P> {
  /** The trial's choices. */
  params: P;
  /** The objective's value (lower is better), or NaN when the trial failed. */
  score: number;
  /** The trial's index in running order, from 0. */
  trial: number;
  /** Wall-clock time of the trial, in milliseconds. */
  durationMs: number;
  /** Why the trial failed: the objective threw, or returned something other than a finite number. */
  error?: string;
}

/** What {@link tune} resolves with. */
export interface TuneResult<P> {
  /** The trial with the lowest score (if every trial fails, `tune` rejects with the first error instead). */
  best: {
    /** The trial's choices. */
    params: P;
    /** Its score. */
    score: number;
    /** Its index in running order. */
    trial: number;
  };
  /** Every trial, lowest score first, failed trials last; ties keep running order. */
  trials: TrialResult<P>[];
}

/** The options of {@link tune}. */
export interface TuneOptions<S extends SearchSpace> {
  /** The choices per parameter name. */
  space: S;
  /**
   * 'grid': every combination, the last name varying fastest (like
   * itertools.product over the names in insertion order). 'random':
   * `trials` combinations drawn with a generator seeded by `seed`, none
   * repeated until all have been tried. @default 'grid'
   */
  strategy?: 'grid' | 'random';
  /** Trials to run: required for 'random'; for 'grid', a cap on the combinations tried (the first ones). @default all combinations (grid) */
  trials?: number;
  /**
   * Lower is better. A throw or a non-finite result marks the trial failed (score NaN); the search
   * goes on.
   * @param params - The trial's choices.
   * @param ctx - {@link TrialContext}.
   */
  objective: (params: TrialParams<S>, ctx: TrialContext) => number | Promise<number>;
  /** Seeds the random draws and every trial's generator. @default 0 */
  seed?: number;
  /**
   * Stops the search before the next trial; `tune` then rejects with an AbortError.
   * @default none
   */
  signal?: AbortSignal;
  /**
   * Called (and awaited) after every trial, failed ones included; an error it throws ends the
   * search.
   * @default none
   * @param result - The trial's outcome.
   */
  onTrialEnd?: (result: TrialResult<TrialParams<S>>) => void | Promise<void>;
}

export const TUNE_OPTION_KEYS = optionKeys<TuneOptions<SearchSpace>>({ space: true, strategy: true, trials: true, objective: true, seed: true, signal: true, onTrialEnd: true });

/**
 * Runs the objective on the combinations of the space and ranks them.
 * @param opts - {@link TuneOptions}.
 * @throws {@link ValidationError} when an option is malformed.
 * @throws {@link AbortError} when `signal` aborts.
 * @example
 * ```ts
 * const { best } = await eddy.tune({
 *   space: { lr: [1e-3, 3e-3], hiddenSize: [32, 64] },
 *   // trainAndValidate: build a model from the choices, fit it, return its validation loss
 *   objective: ({ lr, hiddenSize }, { generator }) => trainAndValidate(lr, hiddenSize, generator),
 * });
 * ```
 */
export async function tune<S extends SearchSpace>(opts: TuneOptions<S>): Promise<TuneResult<TrialParams<S>>> {
  const o = checkOptions('options', opts, TUNE_OPTION_KEYS) as TuneOptions<S>;
  const names = checkSpace(o.space);
  const strategy = checkOneOf('strategy', o.strategy ?? 'grid', ['grid', 'random'] as const);
  const trials = strategy === 'random' || o.trials !== undefined ? checkInteger('trials', o.trials, 1) : Infinity;
  const seed = checkInteger('seed', o.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  if (typeof o.objective !== 'function') fail('a function', 'objective', o.objective);
  if (o.onTrialEnd !== undefined && typeof o.onTrialEnd !== 'function') fail('a function', 'onTrialEnd', o.onTrialEnd);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) fail('an AbortSignal', 'signal', o.signal);

  const sizes = names.map((n) => o.space[n].length);
  const picks = strategy === 'grid' ? gridIndices(sizes, trials) : randomIndices(sizes, trials, new Generator(seed));
  const results: TrialResult<TrialParams<S>>[] = [];
  let trial = 0;
  for (const pick of picks) {
    checkAborted(o.signal);
    const params = Object.fromEntries(names.map((n, i) => [n, o.space[n][pick[i]]])) as TrialParams<S>;
    const result = await runTrial(o, params, { trial, generator: new Generator(trialSeed(seed, trial)), signal: o.signal });
    // An abort during the trial (e.g. through fit's signal) ends the search rather than counting as a failure.
    checkAborted(o.signal);
    results.push(result);
    await o.onTrialEnd?.(result);
    trial++;
  }
  const ranked = results.slice().sort((a, b) => rank(a.score) - rank(b.score) || a.trial - b.trial);
  const best = ranked[0];
  if (Number.isNaN(best.score)) {
    throw new EddyError(`All ${ranked.length} trials failed; trial 0: ${results[0].error}`, 'ERR_EDDY_TUNE');
  }
  return { best: { params: best.params, score: best.score, trial: best.trial }, trials: ranked };
}

async function runTrial<S extends SearchSpace>(o: TuneOptions<S>, params: TrialParams<S>, ctx: TrialContext): Promise<TrialResult<TrialParams<S>>> {
  const start = performance.now();
  let score = NaN;
  let error: string | undefined;
  try {
    const value: unknown = await o.objective(params, ctx);
    if (typeof value === 'number' && Number.isFinite(value)) score = value;
    else error = `Expected a finite number from objective but received ${describe(value)}`;
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const result: TrialResult<TrialParams<S>> = { params, score, trial: ctx.trial, durationMs: performance.now() - start };
  if (error !== undefined) result.error = error;
  return result;
}

/** NaN sorts after every number. */
function rank(score: number): number {
  return Number.isNaN(score) ? Infinity : score;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason instanceof Error ? `Tuning was aborted: ${signal.reason.message}` : 'Tuning was aborted');
}

function checkSpace(space: unknown): string[] {
  if (space === null || typeof space !== 'object' || Array.isArray(space) || Object.keys(space).length === 0) {
    fail('a non-empty object of choice arrays', 'space', space);
  }
  const names = Object.keys(space);
  for (const name of names) {
    const choices = (space as Record<string, unknown>)[name];
    if (!Array.isArray(choices) || choices.length === 0) fail('a non-empty array of choices', `space.${name}`, choices);
  }
  return names;
}

/** The first `limit` index tuples of the cartesian product, the last position varying fastest. */
function* gridIndices(sizes: number[], limit: number): IterableIterator<number[]> {
  const idx = sizes.map(() => 0);
  for (let n = 0; n < limit; n++) {
    yield idx.slice();
    let k = sizes.length - 1;
    while (k >= 0 && ++idx[k] === sizes[k]) idx[k--] = 0;
    if (k < 0) return;
  }
}

/**
 * `count` index tuples drawn uniformly, none repeated until every
 * combination has been drawn (then a new round starts). Rejection sampling:
 * the space may be far larger than anything we could enumerate.
 */
function* randomIndices(sizes: number[], count: number, gen: Generator): IterableIterator<number[]> {
  const total = sizes.reduce((a, b) => a * b, 1);
  let seen = new Set<string>();
  for (let n = 0; n < count; n++) {
    if (seen.size >= total) seen = new Set();
    let idx: number[];
    let key: string;
    do {
      idx = sizes.map((s) => Math.floor(gen.next() * s));
      key = idx.join(',');
    } while (seen.has(key));
    seen.add(key);
    yield idx;
  }
}

/**
 * Trial `trial`'s seed: the tune seed plus (trial + 1) times an odd
 * constant, modulo 2^53 — distinct for every trial and from the sampling
 * generator's own seed; the generator's splitmix expansion decorrelates
 * neighbouring seeds.
 */
function trialSeed(seed: number, trial: number): number {
  return Number((BigInt(seed) + BigInt(trial + 1) * 0x9e3779b97f4a7c15n) & ((1n << 53n) - 1n));
}
