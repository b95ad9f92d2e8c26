import { binding } from '../native';
import { getNumThreads } from './threads';

export interface RuntimeInfo {
  /** OpenBLAS build string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH …". */
  blasConfig: string;
  /** The OpenBLAS kernel chosen for this CPU at load time. */
  blasCore: string;
  /** Whether the CPU runs Eddy's AVX2+FMA kernels. */
  avx2: boolean;
  hardwareThreads: number;
  numThreads: number;
}

/** What the native module found on this machine: BLAS build, CPU features, threads. */
export function runtimeInfo(): RuntimeInfo {
  return { ...binding.runtimeInfo(), numThreads: getNumThreads() };
}
