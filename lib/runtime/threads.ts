/**
 * One knob for parallelism: the thread count governs OpenBLAS and Eddy's
 * own native pool together, so they never oversubscribe the cores.
 */
import * as os from 'os';
import { binding } from '../native';
import { checkInteger } from '../validate';

/** The most threads Eddy will use (the native pool's limit); more never helps on a CPU and costs memory. */
export const MAX_THREADS: number = binding.maxThreads;

/**
 * Sets how many threads native kernels (GEMMs and Eddy's pool) use.
 * @param n - From 1 to the pool's limit.
 * @throws {@link ValidationError} when `n` is out of range.
 */
export function setNumThreads(n: number): void {
  binding.setNumThreads(checkInteger('n', n, 1, MAX_THREADS));
}

/** The number of threads native kernels use. */
export function getNumThreads(): number {
  return binding.getNumThreads();
}

/**
 * The default thread count: `EDDY_NUM_THREADS` when set to a positive
 * integer, otherwise the number of cores this process may run on.
 */
export function defaultNumThreads(env: NodeJS.ProcessEnv = process.env): number {
  const cores = Math.min(MAX_THREADS, Math.max(1, os.availableParallelism()));
  const raw = env.EDDY_NUM_THREADS;
  if (raw === undefined || raw.trim() === '') return cores;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    process.emitWarning(
      `Expected integer between 1 and ${MAX_THREADS} for EDDY_NUM_THREADS but received ${JSON.stringify(raw)}; using ${cores}`,
      { code: 'EDDY_NUM_THREADS' },
    );
    return cores;
  }
  return n;
}

// The default is set here and only here. The native pool is shared by the
// whole process: a worker thread loading Eddy must not reset what the main
// thread chose.
if (binding.firstLoad) binding.setNumThreads(defaultNumThreads());
