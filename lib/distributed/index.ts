/**
 * `eddy.distributed`: data-parallel training over MPI. The system libmpi
 * is loaded at run time, so nothing here is needed until `init()`.
 */
import { registerDataParallel } from '../model/parallel';
import { DataParallelOptions, MpiDataParallel } from './data-parallel';

export { init, isInitialized, rank, worldSize, allReduce, broadcast, barrier, finalize, abort } from './collectives';
export type { InitOptions, ProcessGroup, ReduceOp, CollectiveOptions } from './collectives';
export { MpiDataParallel } from './data-parallel';
export type { DataParallelOptions } from './data-parallel';
export type { DataParallel, GradientReduction } from '../model/parallel';

/**
 * The DataParallel that `fit({ distributed: true | options })` uses (after `init()`).
 * @param opts - {@link DataParallelOptions}.
 * @throws {@link DistributedError} when {@link init} has not run.
 */
export function dataParallel(opts?: DataParallelOptions): MpiDataParallel {
  return new MpiDataParallel(opts);
}

registerDataParallel((o) => new MpiDataParallel(o as DataParallelOptions));
