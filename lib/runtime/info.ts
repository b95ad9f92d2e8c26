import { binding, IsaName } from '../native';
import { getNumThreads } from './threads';
import './heap';

/** What `runtimeInfo()` reports. */
export interface RuntimeInfo {
  /** The BLAS the native module was built against: "OpenBLAS", "Accelerate" or "CBLAS" (any other). */
  blas: string;
  /** The BLAS build, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH …" (for another CBLAS: the library it was linked with). */
  blasConfig: string;
  /** The OpenBLAS kernel chosen for this CPU at load time ("unknown" for other BLAS libraries). */
  blasCore: string;
  /** Whether the CPU has AVX2+FMA. */
  avx2: boolean;
  /**
   * The instruction set Eddy's own kernels use: the widest the CPU has, or
   * the one `EDDY_ISA=avx512|avx2|generic` asks for (falling back to the
   * widest available). `EDDY_DISABLE_AVX2=1` is an older spelling of generic.
   */
  isa: IsaName;
  /** The instruction sets this CPU can run, widest first. */
  isaAvailable: IsaName[];
  /** What runs: the recurrent GEMM micro-kernel, the activation kernels and OpenBLAS's core (used for the other GEMMs). */
  kernels: {
    /** The recurrent GEMM micro-kernel. */
    recurrentGemm: string;
    /** The activation kernels. */
    activations: string;
    /** OpenBLAS's core (its kernel choice for this CPU, e.g. `SkylakeX`, `Haswell`, or `Prescott` for a CPU newer than the library). */
    blas: string;
    /**
     * What runs the other GEMMs (`matmul`, `Linear`, attention): the BLAS's
     * name (`OpenBLAS`), or Eddy's packed GEMM (its `recurrentGemm` name)
     * where OpenBLAS's core runs neither AVX2 nor AVX-512 kernels while the
     * CPU has them (a CPU newer than the library falls back to Prescott's
     * SSE3 kernels). `EDDY_GEMM=own|blas` overrides the rule.
     */
    gemm: string;
    /**
     * What computes a recurrent layer's weight gradients over all steps:
     * Eddy's own AVX-512 kernel (on the AVX-512 path when OpenBLAS's core is
     * not an AVX-512 one, e.g. under `OPENBLAS_CORETYPE=Haswell`), else what
     * `gemm` names. `EDDY_WEIGHT_GRADIENTS=own|blas` overrides the rule.
     */
    weightGradients: string;
    /**
     * What computes a recurrent layer's input gradient over all steps
     * (dX = dG·W_ih): Eddy's packed GEMM (its `recurrentGemm` name) wherever
     * the AVX-512 path runs, else what `gemm` names.
     * `EDDY_WEIGHT_GRADIENTS=blas` puts it on `gemm` too.
     */
    inputGradients: string;
    /**
     * How the last recurrent forward pass split its time steps across threads:
     * `units` (the threads share every step, each owning a range of hidden
     * units), `batch` (each thread runs its own rows through all steps),
     * `directions` (a bidirectional layer's two time loops run at once, the
     * threads taking pieces of either direction's steps as they come free),
     * `groups` (a one-direction layer's rows in two groups whose time loops
     * run the same way), or `none` before the first call. The rule is in
     * `docs/kernels.md`; `EDDY_RECURRENT_SPLIT=units|batch` overrides it
     * (`batch` also turns `directions` and `groups` off). Every split gives
     * the same bits.
     */
    recurrentSplit: 'units' | 'batch' | 'directions' | 'groups' | 'none';
    /**
     * How the last recurrent forward pass (or stepper step) took its input:
     * `folded` into the steps' own tiles (x_t and h_{t−1} against W_ih and
     * W_hh packed together: LSTM and RNN layers without layer norm whose
     * W_ih and W_hh together hold at most 512 Ki floats, stepping at least
     * 16 rows, where the kernel's fused tile has 4 rows or more — the LSTM
     * on the AVX-512 path, the RNN on every path), `apart` (projected for a block of steps first), or `none`
     * before the first call. Either way each element is the same chain of
     * multiply-adds, so the choice never changes a bit; `EDDY_INPUT_PROJECTION=folded|apart`
     * overrides the rule (`docs/kernels.md`).
     */
    inputProjection: 'folded' | 'apart' | 'none';
  };
  /**
   * How the C heap treats large blocks, chosen when Eddy first loads:
   * `retain` keeps freed blocks under 32 MiB, and up to 256 MiB of free heap,
   * for the next allocation instead of returning them to the system, so a
   * training step of the same shapes maps no fresh pages (glibc's own
   * thresholds stop adapting at 32 and 64 MiB, below what a large recurrent
   * step frees at once). `system` is the C library's own policy: asked for
   * by `EDDY_HEAP=system`, kept when the environment already sets glibc's
   * thresholds (`GLIBC_TUNABLES` with `glibc.malloc.*`,
   * `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_TOP_PAD_`,
   * `MALLOC_MMAP_MAX_`; `EDDY_HEAP=retain` overrides those), and on C
   * libraries other than glibc. `unknown-setting`: `EDDY_HEAP` held another
   * value (a warning says so) and the policy was left alone.
   */
  heap: 'retain' | 'system' | 'unknown-setting';
  /** Hardware threads the system reports. */
  hardwareThreads: number;
  /** Threads Eddy uses (`setNumThreads`). */
  numThreads: number;
}

/**
 * What the native module found on this machine: BLAS build, CPU features, threads.
 * @example
 * ```ts
 * const { isa, kernels, numThreads } = eddy.runtimeInfo();
 * console.log(`${isa}: ${kernels.recurrentGemm}, ${numThreads} threads`);
 * ```
 */
export function runtimeInfo(): RuntimeInfo {
  return { ...binding.runtimeInfo(), numThreads: getNumThreads() };
}
