/**
 * The seam between `fit` and data-parallel training. `model/` defines what
 * training needs from a group of replicas; `distributed/` implements it
 * over MPI and registers itself, so `fit` never depends on the transport.
 */
import { ValidationError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { describe } from '../validate';
import type { Model } from './model';

/** What `fit` needs from a group of processes that each train a replica of the model on part of every batch. */
export interface DataParallel {
  /** This replica's index, from 0; replica 0 runs the callbacks (logging, progress, checkpoints). */
  readonly rank: number;
  /** Number of replicas. */
  readonly worldSize: number;
  /**
   * Once, before the first step: fails on every replica if the replicas'
   * parameters differ in names or shapes (naming both sides), then gives
   * every replica replica 0's parameter values.
   * @param model - This replica's model.
   */
  setup(model: Model): Promise<void>;
  /**
   * Element-wise sums over the replicas, in place; resolves with `values`.
   * @param values - This replica's values, replaced by the sums.
   */
  sum(values: Float64Array): Promise<Float64Array>;
  /**
   * Starts combining this step's gradients into the weighted mean over the
   * replicas, `Σ weight·grad / total` (a missing gradient counts as zeros):
   * with `weight` the replica's rows and `total` the rows of all replicas,
   * the gradient of the mean loss over the global batch. Call `ready` from
   * backward as each parameter's gradient completes (communication then
   * overlaps the rest of backward), and `finish` after it: it replaces
   * every parameter's `grad` by the mean.
   * @param params - The parameters whose gradients to combine.
   * @param weight - This replica's weight (its rows of the global batch).
   */
  gradients(params: readonly Tensor[], weight: number): GradientReduction;
  /**
   * Replica 0's `flag` on every replica (so a decision taken by a callback on replica 0 holds
   * everywhere).
   * @param flag - This replica's value (only replica 0's counts).
   */
  agree(flag: boolean): Promise<boolean>;
}

/** One step's gradient combination (see `DataParallel.gradients`). */
export interface GradientReduction {
  /**
   * `param`'s gradient of this step is complete (backward's `onGradReady`).
   * @param param - The parameter.
   * @param grad - Its complete gradient of this step (read-only).
   */
  ready(param: Tensor, grad: Tensor): void;
  /**
   * Waits for every gradient to be combined and sets the parameters' `grad`s; `total` is the sum of
   * all replicas' weights.
   * @param total - The sum of the weights of all replicas.
   */
  finish(total: number): Promise<void>;
}

/** Options of `fit({ distributed })` that the registered implementation reads. */
export type DataParallelOptions = Record<string, unknown>;

type Factory = (opts: DataParallelOptions) => DataParallel;
let factory: Factory | null = null;

/** Called by `eddy.distributed` when it loads: how `fit({ distributed: true | options })` gets its DataParallel. */
export function registerDataParallel(make: Factory): void {
  factory = make;
}

function isDataParallel(x: unknown): x is DataParallel {
  return x !== null && typeof x === 'object' && typeof (x as DataParallel).gradients === 'function' && typeof (x as DataParallel).setup === 'function';
}

/** Resolves fit's `distributed` option: false → none; true or options → the registered implementation; a DataParallel as is. */
export function resolveDataParallel(value: unknown): DataParallel | null {
  if (value === undefined || value === false) return null;
  if (isDataParallel(value)) return value;
  if (value === true || (value !== null && typeof value === 'object' && !Array.isArray(value))) {
    if (!factory) throw new ValidationError('fit({ distributed }) needs eddy.distributed, which was not loaded (import the package root, eddy-rnn)');
    return factory(value === true ? {} : (value as DataParallelOptions));
  }
  throw new ValidationError(`Expected a boolean, an options object or a DataParallel for distributed but received ${describe(value)}`);
}

/** The rows a replica trains on from a global batch of `n` rows: a contiguous, near-equal part. */
export function replicaRows(n: number, rank: number, worldSize: number): [number, number] {
  return [Math.floor((rank * n) / worldSize), Math.floor(((rank + 1) * n) / worldSize)];
}

/**
 * The batches every replica has: at each step the replicas agree (one tiny
 * sum) whether all of them have a next batch, and all stop when one runs
 * out, so no replica waits forever in a collective the others never reach.
 */
export async function* lockstepBatches<B>(batches: AsyncIterable<B>, dp: DataParallel): AsyncGenerator<B> {
  const it = batches[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const next = await it.next();
      finished = next.done === true;
      const have = await dp.sum(Float64Array.of(finished ? 0 : 1));
      if (have[0] < dp.worldSize) return;
      yield next.value as B;
    }
  } finally {
    if (!finished) await it.return?.(undefined);
  }
}
