import { binding } from '../native';
import { getNumThreads } from './threads';

/** What `runtimeInfo()` reports. */
export interface RuntimeInfo {
  /** The BLAS the native module was built against: "OpenBLAS", "Accelerate" or "CBLAS" (any other). */
  blas: string;
  /** The BLAS build, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH …" (for another CBLAS: the library it was linked with). */
  blasConfig: string;
  /** The OpenBLAS kernel chosen for this CPU at load time ("unknown" for other BLAS libraries). */
  blasCore: string;
  /** Whether the CPU runs Eddy's AVX2+FMA kernels. */
  avx2: boolean;
  /** Hardware threads the system reports. */
  hardwareThreads: number;
  /** Threads Eddy uses (`setNumThreads`). */
  numThreads: number;
}

/** What the native module found on this machine: BLAS build, CPU features, threads. */
export function runtimeInfo(): RuntimeInfo {
  return { ...binding.runtimeInfo(), numThreads: getNumThreads() };
}
