/**
 * `eddy.distributed`: the process group of an MPI job and its collectives.
 * MPI runs on a native communication thread; every collective returns a
 * Promise, so the event loop keeps running while ranks exchange data.
 */
import { DistributedError, ValidationError } from '../errors';
import { binding } from '../native';
import { Tensor, denseData } from '../tensor/tensor';
import { checkBoolean, checkInteger, checkNumber, checkOneOf, checkOptions, fail, optionKeys } from '../validate';

/** The options of {@link init}. */
export interface InitOptions {
  /** The MPI library to load (a path or a name for dlopen). @default the EDDY_MPI_LIBRARY environment variable, else libmpi.so.40, libmpi.so, libmpi.so.12 in turn */
  library?: string;
  /** Seconds a collective waits for the other ranks before failing with ERR_EDDY_DISTRIBUTED_TIMEOUT (0: forever). @default 120 */
  timeout?: number;
  /** When this process exits with a non-zero code while MPI runs (an uncaught error), call MPI_Abort so every rank stops. @default true */
  abortOnError?: boolean;
}

const INIT_OPTION_KEYS = optionKeys<InitOptions>({ library: true, timeout: true, abortOnError: true });

/** The MPI job this process joined, as {@link init} resolves it. */
export interface ProcessGroup {
  /** This process's index in the job, from 0. */
  rank: number;
  /** Number of processes in the job. */
  worldSize: number;
  /** The MPI library that was loaded, and its version line. */
  library: string;
  /** The MPI library's version line. */
  version: string;
}

/**
 * How {@link allReduce} combines the ranks' values element-wise; `mean` is the sum divided by the
 * world size.
 */
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'prod';

/** The options of every collective ({@link allReduce}, {@link broadcast}, {@link barrier}). */
export interface CollectiveOptions {
  /** Seconds to wait for the other ranks. @default init's `timeout` */
  timeout?: number;
}

const COLLECTIVE_OPTION_KEYS = optionKeys<CollectiveOptions>({ timeout: true });
const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'max', 'min', 'prod'];
const NATIVE_OP: Record<ReduceOp, number> = { sum: 0, mean: 0, max: 1, min: 2, prod: 3 };

let group: ProcessGroup | null = null;
let starting: Promise<ProcessGroup> | null = null;
let finalized = false;
let defaultTimeout = 120;
let abortOnError = true;

const INSTALL_HINT =
  'Install Open MPI (Debian/Ubuntu: `apt-get install -y openmpi-bin libopenmpi-dev`) and start the script with `mpirun -np N node script.js`, or name the library with init({ library }) or EDDY_MPI_LIBRARY';

function wrap(what: string, err: unknown): DistributedError {
  const e = err as { message?: string; code?: string };
  const code = typeof e?.code === 'string' ? e.code : 'ERR_EDDY_MPI';
  const hint = code === 'ERR_EDDY_DISTRIBUTED_TIMEOUT' ? ' (another rank died, stalled or stopped calling collectives)' : '';
  return new DistributedError(`${what} failed: ${e?.message ?? String(err)}${hint}`, code, err);
}

function onExit(code: number): void {
  if (group && !finalized && abortOnError && code !== 0) binding.distributedAbort(code);
}

function onBeforeExit(): void {
  if (!group || finalized) return;
  // A script that ends after an error (process.exitCode set) would wait in
  // MPI_Finalize for ranks that may be waiting for it: end the job instead.
  const code = typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0);
  if (code !== 0 && abortOnError) binding.distributedAbort(code);
  // A script that simply ends finalizes MPI, which the launchers expect.
  else void finalize();
}

/**
 * Joins the MPI job this process was started in (by `mpirun`, `srun`, …;
 * a process started alone is a job of one). Loads the system libmpi at
 * run time. Calling it again returns the same group.
 * @throws DistributedError ERR_EDDY_MPI_UNAVAILABLE when no usable MPI is installed.
 * @param opts - {@link InitOptions}.
 * @example
 * ```ts
 * // mpirun -np 2 node train.js
 * const group = await eddy.distributed.init();
 * await model.fit(data, { loss: 'mse', epochs: 3, distributed: true }); // rank 0 logs
 * ```
 */
export async function init(opts?: InitOptions): Promise<ProcessGroup> {
  const o = checkOptions('options', opts, INIT_OPTION_KEYS) as InitOptions;
  const library = o.library ?? process.env.EDDY_MPI_LIBRARY ?? '';
  if (typeof library !== 'string') fail('a string (a library path or name)', 'library', o.library);
  if (o.timeout !== undefined) defaultTimeout = checkNumber('timeout', o.timeout, { min: 0 });
  if (o.abortOnError !== undefined) abortOnError = checkBoolean('abortOnError', o.abortOnError);
  if (group) return group;
  if (finalized) throw new DistributedError('MPI was finalized in this process and cannot be initialized again', 'ERR_EDDY_MPI_UNAVAILABLE');
  starting ??= (async () => {
    try {
      const r = await binding.distributedInit(library);
      group = { rank: r.rank, worldSize: r.size, library: r.library, version: r.version };
      process.on('exit', onExit);
      process.on('beforeExit', onBeforeExit);
      return group;
    } catch (err) {
      const e = wrap('Initializing MPI', err);
      throw e.code === 'ERR_EDDY_MPI_UNAVAILABLE' ? new DistributedError(`${e.message}. ${INSTALL_HINT}`, e.code, err) : e;
    } finally {
      starting = null;
    }
  })();
  return starting;
}

/** Whether `init` has completed and `finalize` has not been called. */
export function isInitialized(): boolean {
  return group !== null && !finalized;
}

function current(what: string): ProcessGroup {
  if (!group || finalized) throw new DistributedError(`${what} needs eddy.distributed.init() first${finalized ? ' (MPI was finalized)' : ''}`, 'ERR_EDDY_MPI_UNAVAILABLE');
  return group;
}

/** This process's rank (from 0). */
export function rank(): number {
  return current('rank()').rank;
}

/** The number of processes in the job. */
export function worldSize(): number {
  return current('worldSize()').worldSize;
}

type Buffer = Float32Array | Float64Array | Int32Array;

function timeoutOf(opts: CollectiveOptions | undefined): number {
  const o = checkOptions('options', opts, COLLECTIVE_OPTION_KEYS) as CollectiveOptions;
  return o.timeout === undefined ? defaultTimeout : checkNumber('timeout', o.timeout, { min: 0 });
}

function bufferOf(name: string, x: unknown, bytes: boolean): Buffer | Uint8Array {
  if (x instanceof Tensor) {
    if (!x.isContiguous()) throw new ValidationError(`Expected a contiguous tensor for ${name} but received a view of shape [${x.shape.join(', ')}] (call .contiguous() first)`);
    return denseData(x);
  }
  if (x instanceof Float32Array || x instanceof Float64Array || x instanceof Int32Array || (bytes && x instanceof Uint8Array)) return x;
  return fail(`Tensor, Float32Array, Float64Array${bytes ? ', Int32Array or Uint8Array' : ' or Int32Array'}`, name, x);
}

/**
 * Combines `x` element-wise across all ranks, in place, and resolves with
 * `x`: every rank ends with the same values. `mean` divides the sum by the
 * world size (float arrays only). Every rank must call it with the same
 * length, in the same order as its other collectives.
 * @param x - A contiguous tensor, or a Float32Array, Float64Array or Int32Array, combined in place.
 * @param op - How to combine the values.
 * @param opts - {@link CollectiveOptions}.
 * @returns `x`, holding the combined values.
 * @throws {@link DistributedError} when MPI fails or a rank does not answer within the timeout.
 * @throws {@link ValidationError} when `x` or `op` is malformed (`mean` of an Int32Array).
 */
export async function allReduce<T extends Tensor | Buffer>(x: T, op: ReduceOp = 'sum', opts?: CollectiveOptions): Promise<T> {
  const buf = bufferOf('x', x, false) as Buffer;
  checkOneOf('op', op, REDUCE_OPS);
  if (op === 'mean' && buf instanceof Int32Array) throw new ValidationError("Expected a float array for op 'mean' but received Int32Array");
  const timeout = timeoutOf(opts);
  const g = current('allReduce');
  await reduceScaled(buf, NATIVE_OP[op], timeout, 1, op === 'mean' ? 1 / g.worldSize : 1);
  return x;
}

/**
 * The all-reduce of {@link allReduce} on a checked buffer, with every float element multiplied by
 * `preScale` before the reduction and by `postScale` after it on the communication thread (in
 * double, rounded to the element type, as `x[i] *= s` rounds): the JavaScript thread runs no
 * element loop. For this folder's data-parallel training.
 */
export async function reduceScaled(buf: Buffer, op: number, timeout: number, preScale: number, postScale: number): Promise<void> {
  try {
    await binding.distributedAllReduce(buf, op, timeout, preScale, postScale);
  } catch (err) {
    throw wrap(`allReduce of ${buf.length} elements`, err);
  }
}

/** The timeout in seconds that `opts` gives a collective (init's when it gives none). */
export function collectiveTimeout(opts: CollectiveOptions | undefined): number {
  return timeoutOf(opts);
}

/**
 * Copies rank `root`'s `x` into every rank's `x`, in place, and resolves with `x`.
 * @param x - A contiguous tensor, or a Float32Array, Float64Array, Int32Array or Uint8Array, overwritten in place on every rank but `root`.
 * @param root - The rank whose values every rank receives (0 when omitted).
 * @param opts - {@link CollectiveOptions}.
 * @returns `x`, holding rank `root`'s values.
 * @throws {@link DistributedError} when MPI fails or a rank does not answer within the timeout.
 */
export async function broadcast<T extends Tensor | Buffer | Uint8Array>(x: T, root = 0, opts?: CollectiveOptions): Promise<T> {
  const buf = bufferOf('x', x, true);
  const timeout = timeoutOf(opts);
  const g = current('broadcast');
  checkInteger('root', root, 0, g.worldSize - 1);
  try {
    await binding.distributedBroadcast(buf, root, timeout);
  } catch (err) {
    throw wrap(`broadcast of ${buf.length} elements from rank ${root}`, err);
  }
  return x;
}

/**
 * Resolves once every rank has called it.
 * @param opts - {@link CollectiveOptions}.
 * @throws {@link DistributedError} when MPI fails or a rank does not answer within the timeout.
 */
export async function barrier(opts?: CollectiveOptions): Promise<void> {
  const timeout = timeoutOf(opts);
  current('barrier');
  try {
    await binding.distributedBarrier(timeout);
  } catch (err) {
    throw wrap('barrier', err);
  }
}

/**
 * Leaves the job (MPI_Finalize; every rank must call it). Called by itself
 * when the event loop empties; call it before `process.exit`.
 */
export async function finalize(): Promise<void> {
  if (!group || finalized) return;
  finalized = true;
  process.off('beforeExit', onBeforeExit);
  try {
    await binding.distributedFinalize();
  } catch (err) {
    throw wrap('finalize', err);
  }
}

/**
 * Ends every rank of the job now (MPI_Abort) with exit code `code`.
 * @param code - The exit code of every rank.
 */
export function abort(code = 1): never {
  checkInteger('code', code, 0, 255);
  if (group && !finalized) binding.distributedAbort(code);
  process.exit(code);
}
