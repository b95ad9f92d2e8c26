/**
 * The one file that loads the native module. Everything else imports the
 * typed `binding` from here.
 */
import * as path from 'path';
import { NativeArgumentError, NativeLoadError, ResourceError } from './errors';

/**
 * Every parameter kind of one (layer, direction) of a recurrent layer, in
 * state-dict order: its PyTorch name (suffix `_l{k}[_reverse]`), the
 * native call's fields for its values and its gradients, its shape
 * (G·H × input, G·H × H, G·H or H) and when it exists (always; with bias;
 * layer-normalized cells; layer-normalized LSTM). The native side declares
 * the same table (native/recurrent.h EDDY_RNN_PARAMS, exported as
 * `rnnParamKinds`); a test checks that they agree.
 */
export const RNN_PARAM_KINDS = [
  { name: 'weight_ih', value: 'wIh', grad: 'gWIh', size: 'gatesByInput', presence: 'always' },
  { name: 'weight_hh', value: 'wHh', grad: 'gWHh', size: 'gatesByHidden', presence: 'always' },
  { name: 'bias_ih', value: 'bIh', grad: 'gBIh', size: 'gates', presence: 'bias' },
  { name: 'bias_hh', value: 'bHh', grad: 'gBHh', size: 'gates', presence: 'bias' },
  { name: 'layer_norm_ih_weight', value: 'lnIhW', grad: 'gLnIhW', size: 'gates', presence: 'layerNorm' },
  { name: 'layer_norm_ih_bias', value: 'lnIhB', grad: 'gLnIhB', size: 'gates', presence: 'layerNorm' },
  { name: 'layer_norm_hh_weight', value: 'lnHhW', grad: 'gLnHhW', size: 'gates', presence: 'layerNorm' },
  { name: 'layer_norm_hh_bias', value: 'lnHhB', grad: 'gLnHhB', size: 'gates', presence: 'layerNorm' },
  { name: 'layer_norm_c_weight', value: 'lnCW', grad: 'gLnCW', size: 'hidden', presence: 'lstmLayerNorm' },
  { name: 'layer_norm_c_bias', value: 'lnCB', grad: 'gLnCB', size: 'hidden', presence: 'lstmLayerNorm' },
] as const;

export type RnnParamKind = (typeof RNN_PARAM_KINDS)[number];

/**
 * One list per parameter kind, one entry per (layer, direction) in the
 * order l0, l0_reverse, l1, …; null entries are absent parameters (bias:
 * false) or gradients not wanted. Kinds a layer does not have may be
 * omitted.
 */
export type RnnParamLists = { [K in RnnParamKind['value']]?: (Float32Array | null)[] };
export type RnnGradLists = { [K in RnnParamKind['grad']]?: (Float32Array | null)[] };

/**
 * One recurrent forward call (see native/recurrent.h): sizes, inputs and
 * preallocated outputs. Sequence tensors are [T, B, ·], or [B, T, ·] when
 * batchFirst; states are [layers · dirs, B, H]; per-(layer, direction)
 * parameter lists are ordered l0, l0_reverse, l1, …
 */
/**
 * The shape and inputs of a fused attention call: q [B, H, Tq, D], k
 * [B, H, Tk, D], v [B, H, Tk, Dv] and out [B, H, Tq, Dv] are strided views
 * (array from the view's first element; batch, head and time strides as
 * `<name>Sb/Sh/St`; the feature axis contiguous).
 */
export interface SdpaCall {
  q: Float32Array | Float64Array; k: Float32Array | Float64Array; v: Float32Array | Float64Array;
  qSb: number; qSh: number; qSt: number; kSb: number; kSh: number; kSt: number;
  vSb: number; vSh: number; vSt: number; outSb: number; outSh: number; outSt: number;
  /** Valid keys per sequence [B], or null for all. */
  lengths: Int32Array | null;
  /** Additive mask [Tq, Tk], or [B·H, Tq, Tk] with maskPerHead; −∞ masks. */
  mask: Float32Array | Float64Array | null;
  maskPerHead: boolean;
  B: number; H: number; Tq: number; Tk: number; D: number; Dv: number;
  scale: number; causal: boolean; causalOffset: number; dropout: number; seed: number;
}

export interface RnnCall extends RnnParamLists {
  /** 0 LSTM, 1 GRU, 2 RNN tanh, 3 RNN relu. */
  cell: number;
  resetAfter: boolean;
  layers: number;
  dirs: number;
  T: number;
  B: number;
  I: number;
  H: number;
  batchFirst: boolean;
  /** Layer-normalized cell: the layer-norm parameter kinds are given. */
  layerNorm: boolean;
  /** Whether recMask is given. */
  recurrentDropout: boolean;
  /** Recurrent dropout mask [layers · dirs, B, H]: h_{t−1} ⊙ mask feeds the recurrent GEMMs. */
  recMask: Float32Array | null;
  x: Float32Array;
  lengths: Int32Array | null;
  h0: Float32Array | null;
  c0: Float32Array | null;
  dropout: number;
  seed: number;
  y: Float32Array;
  hn: Float32Array;
  cn: Float32Array | null;
  /** Workspace kept for backward (rnnWorkspaceSize floats), or null for inference. */
  ws: Float32Array | null;
}

/** Gradients for one recurrent backward call; outputs are overwritten, parameter gradients accumulated (+=). */
export interface RnnBackwardCall extends RnnGradLists {
  forward: RnnCall;
  dy: Float32Array | null;
  dhn: Float32Array | null;
  dcn: Float32Array | null;
  dx: Float32Array | null;
  dh0: Float32Array | null;
  dc0: Float32Array | null;
}

/** A native stepper (one layer's packed weights), made by rnnStepper; opaque to JavaScript. */
export type RnnStepperHandle = { readonly __eddyStepper: unique symbol };

/** A Linear layer's packed weights, made by linearRows; opaque to JavaScript. */
export type LinearRowsHandle = { readonly __eddyLinearRows: unique symbol };

/** Instruction sets of Eddy's own kernels, widest first (EDDY_ISA picks one). */
export type IsaName = 'avx512' | 'avx2' | 'generic';

/** The native module's entry points (see native/binding.cc). */
export interface NativeBinding {
  /** Row-major sgemm on views into Float32Arrays: C = alpha·op(A)·op(B) + beta·C. */
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOffset: number, lda: number,
    b: Float32Array, bOffset: number, ldb: number,
    beta: number, c: Float32Array, cOffset: number, ldc: number,
  ): void;
  /** `gemm` on a worker thread; the arrays stay referenced until the Promise settles. */
  gemmAsync(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOffset: number, lda: number,
    b: Float32Array, bOffset: number, ldb: number,
    beta: number, c: Float32Array, cOffset: number, ldc: number,
  ): Promise<void>;
  rnnWorkspaceSize(shape: Pick<RnnCall, 'cell' | 'resetAfter' | 'layers' | 'dirs' | 'T' | 'B' | 'I' | 'H' | 'batchFirst' | 'layerNorm' | 'recurrentDropout' | 'dropout'>): number;
  /** The parameter table as the native side declares it (see RNN_PARAM_KINDS). */
  readonly rnnParamKinds: readonly { name: string; value: string; grad: string; size: string; presence: string }[];
  rnnForward(call: RnnCall): void;
  rnnForwardAsync(call: RnnCall): Promise<void>;
  rnnBackward(call: RnnBackwardCall): void;
  rnnBackwardAsync(call: RnnBackwardCall): Promise<void>;
  /**
   * Copies and packs one layer's weights (one entry per parameter list) for
   * token-by-token steps.
   */
  rnnStepper(a: Pick<RnnCall, 'cell' | 'resetAfter' | 'I' | 'H' | 'layerNorm'> & RnnParamLists): RnnStepperHandle;
  /** One step in place for B = h.length / H streams: x [B, I], h and c [B, H] (c null but for LSTM). Synchronous. */
  rnnStep(stepper: RnnStepperHandle, x: Float32Array, h: Float32Array, c: Float32Array | null): void;
  /**
   * One step of the B = slots.length streams whose states are rows `slots`
   * of hSlab (and cSlab for LSTM) [rows, H], in place; y [B, H] gets the new
   * h. Slots must be distinct. Synchronous.
   */
  rnnStepSlots(stepper: RnnStepperHandle, x: Float32Array, slots: Int32Array, hSlab: Float32Array, cSlab: Float32Array | null, y: Float32Array): void;
  /**
   * `rnnStepSlots`, and with a head (a linearRows handle taking H features)
   * out [B, head.out] = head(y) in the same call. Each thread takes its rows
   * from gather through the head. Synchronous.
   */
  rnnStepSlots(stepper: RnnStepperHandle, x: Float32Array, slots: Int32Array, hSlab: Float32Array, cSlab: Float32Array | null, y: Float32Array, head: LinearRowsHandle | null, out: Float32Array | null): void;
  /** Copies and packs a Linear layer's weight [out, in] and bias [out] (or null) for linearRowsRun. */
  linearRows(weight: Float32Array, bias: Float32Array | null, out: number, inFeatures: number): LinearRowsHandle;
  /** y [m, out] = x [m, in] · Wᵀ + b on the packed GEMM: each row's result is the same whatever m. Synchronous. */
  linearRowsRun(handle: LinearRowsHandle, x: Float32Array, y: Float32Array): void;
  /**
   * Applies sigmoid (0), tanh (1) or exp (2) with the portable (0), AVX2 (1) or AVX-512 fused-step (2, no exp) kernels;
   * false when the CPU lacks the set or the set has no such kind.
   */
  activate(kind: number, x: Float32Array, y: Float32Array, kernels: number): boolean;
  /** Fused optimizer updates (native/optimizers.h); p and the state buffers are updated in place. */
  sgdStep(a: { p: Float32Array; g: Float32Array; buf: Float32Array | null; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; firstStep: boolean }): void;
  adamStep(a: { p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array; vmax: Float32Array | null; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean; step: number }): void;
  rmspropStep(a: { p: Float32Array; g: Float32Array; sq: Float32Array; gavg: Float32Array | null; buf: Float32Array | null; lr: number; alpha: number; eps: number; weightDecay: number; momentum: number }): void;
  adagradStep(a: { p: Float32Array; g: Float32Array; sum: Float32Array; lr: number; lrDecay: number; weightDecay: number; eps: number; step: number }): void;
  /**
   * Softmax cross-entropy of R rows of C logits against class indices (−1: the row does not count),
   * with optional class weights and label smoothing `eps`: each row's loss into `losses`, and its
   * softmax into `probs` when given (for the backward).
   */
  softmaxXentForward(z: Float32Array, y: Int32Array, weight: Float32Array | null, eps: number, R: number, C: number, losses: Float64Array, probs: Float32Array | null): void;
  /** The gradient of the rows' losses for the logits, from `probs` and each row's upstream gradient `scale`. */
  softmaxXentBackward(dz: Float32Array, probs: Float32Array, y: Int32Array, weight: Float32Array | null, eps: number, scale: Float64Array, R: number, C: number): void;
  /** `out` (n·D) ← rows `ids` of `weight` (V·D). */
  embeddingForward(out: Float32Array, weight: Float32Array, ids: Int32Array, V: number, D: number): void;
  /** `dweight` (V·D) += `dout` (n·D) scattered to rows `ids`, skipping `pad` (−1 for none). */
  embeddingBackward(dweight: Float32Array, dout: Float32Array, ids: Int32Array, pad: number, V: number, D: number): void;
  /** The p-norm of all the arrays' elements together (Infinity: the largest magnitude). */
  totalNorm(arrays: Float32Array[], p: number): number;
  /** Multiplies every element of the arrays by c, in place. */
  scaleArrays(arrays: Float32Array[], c: number): void;
  /** dst[k] += src[k] elementwise for every k, in place (pairs of equal lengths that do not overlap, or are the same array). */
  addArrays(dst: Float32Array[], src: Float32Array[]): void;
  /** Fused additive attention scores (native/attention.h). */
  additiveScore(a: { s: Float32Array; qp: Float32Array; kp: Float32Array; v: Float32Array; B: number; Tq: number; Tk: number; H: number }): void;
  additiveScoreBackward(a: {
    ds: Float32Array; qp: Float32Array; kp: Float32Array; v: Float32Array;
    dqp: Float32Array | null; dkp: Float32Array | null; dv: Float32Array | null;
    B: number; Tq: number; Tk: number; H: number;
  }): void;
  /**
   * Fused scaled dot-product attention (native/attention_sdpa.h). Float64Arrays
   * select the double-precision instance, for gradient checks.
   */
  sdpaForward(a: SdpaCall & { out: Float32Array | Float64Array; lse: Float32Array | Float64Array; weights: Float32Array | Float64Array | null }): void;
  /** Its backward: gradients accumulated into dq, dk, dv (laid out like q, k, v). */
  sdpaBackward(a: SdpaCall & {
    out: Float32Array | Float64Array; lse: Float32Array | Float64Array; weights: Float32Array | Float64Array | null;
    dout: Float32Array | Float64Array; dweights: Float32Array | Float64Array | null;
    dq: Float32Array | Float64Array | null; dk: Float32Array | Float64Array | null; dv: Float32Array | Float64Array | null;
  }): void;
  /** `sdpaBackward` (float32) on a worker thread; the gradient arrays stay referenced until the Promise settles. */
  sdpaBackwardAsync(a: Parameters<NativeBinding['sdpaBackward']>[0]): Promise<void>;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Registers the classes native code throws (once per thread that loads the module). */
  setErrorClasses(classes: { resource: typeof ResourceError }): void;
  /**
   * Runs the pool over n items; the chunk holding item failAt (−1: none)
   * fails an allocation. Returns how many items ran. For tests of the
   * pool's error path.
   */
  parallelProbe(n: number, failAt: number): number;
  /**
   * Runs a team of up to maxMembers pool threads that meet at a barrier
   * `steps` times; member failMember (−1: none) fails an allocation before
   * its meeting failStep. Returns the team's size. For tests of the barrier's
   * error path.
   */
  teamProbe(maxMembers: number, steps: number, failMember: number, failStep: number): number;
  parallelBlocksProbe(blocks: number, failAt: number): number;
  /** True in the first environment (thread) of the process to load the module. */
  readonly firstLoad: boolean;
  /** The most threads the native pool takes. */
  readonly maxThreads: number;
  runtimeInfo(): {
    blas: string; blasConfig: string; blasCore: string; hardwareThreads: number; avx2: boolean;
    isa: IsaName; isaAvailable: IsaName[];
    kernels: { recurrentGemm: string; activations: string; blas: string; gemm: string; weightGradients: string; inputGradients: string; recurrentSplit: 'units' | 'batch' | 'directions' | 'groups' | 'none'; inputProjection: 'folded' | 'apart' | 'none' };
    heap: 'retain' | 'system' | 'unknown-setting';
  };
  /**
   * Loads the system libmpi (`library`, or the default search when empty)
   * and initializes MPI on Eddy's communication thread (native/distributed.h).
   * Rejects with `code` ERR_EDDY_MPI_UNAVAILABLE when no usable MPI is found.
   */
  distributedInit(library: string): Promise<{ rank: number; size: number; threadLevel: number; library: string; version: string }>;
  /**
   * In-place all-reduce on the communication thread; op 0 sum, 1 max, 2 min, 3 prod. Float
   * elements are multiplied by `preScale` before the reduction and by `postScale` after it, on that
   * thread (in double, rounded to the element type). Rejects with ERR_EDDY_DISTRIBUTED_TIMEOUT
   * after `timeoutSeconds` (0: never).
   */
  distributedAllReduce(data: Float32Array | Float64Array | Int32Array, op: number, timeoutSeconds: number, preScale?: number, postScale?: number): Promise<void>;
  /** Root's `data` into every rank's, in place. */
  distributedBroadcast(data: Float32Array | Float64Array | Int32Array | Uint8Array, root: number, timeoutSeconds: number): Promise<void>;
  distributedBarrier(timeoutSeconds: number): Promise<void>;
  distributedFinalize(): Promise<void>;
  /** MPI_Abort(code) on every rank of the job; synchronous, for exit handlers. Returns only when MPI is not running. */
  distributedAbort(code: number): void;
}

/** Platforms for which Eddy ships prebuilt binaries (glibc 2.31 or newer on Linux). */
const PREBUILT_PLATFORMS = ['linux-x64', 'linux-arm64'];

/** Package root: the directory holding package.json, prebuilds/ and build/. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

/** What the loader knows about the machine when it explains a failure. */
export interface LoadEnvironment {
  /** `process.platform`. */
  platform: string;
  /** `process.arch`. */
  arch: string;
  /** `process.versions.node`. */
  nodeVersion: string;
  /** `process.versions.napi`. */
  napiVersion: string;
  /** The package root searched for prebuilds/ and build/. */
  root: string;
  /** On Linux: the C library, 'glibc' or 'musl'. @default 'glibc' */
  libc?: 'glibc' | 'musl';
}

/** The C library of this Linux process: glibc reports its version in Node's diagnostic report, musl does not. */
export function detectLibc(): 'glibc' | 'musl' {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** How to build Eddy from source on `platform`: what to install, then `npm rebuild eddy-rnn`. */
function sourceBuild(platform: string, libc: 'glibc' | 'musl'): string[] {
  const then = ', then `npm rebuild eddy-rnn`';
  if (platform === 'linux' && libc === 'musl') return ['- Build from source (Alpine): `apk add cmake make g++ openblas-dev`' + then + '.'];
  if (platform === 'linux') {
    return [
      '- Build from source: install cmake, g++ and OpenBLAS' + then + ':',
      '  Debian/Ubuntu: `apt-get install -y cmake g++ libopenblas-dev`',
      '  Fedora/RHEL/Amazon Linux: `dnf install -y cmake gcc-c++ openblas-devel`',
    ];
  }
  if (platform === 'darwin') {
    return [
      "- Build from source with Apple's Accelerate: `xcode-select --install && brew install cmake`" + then + ',',
      '  or with OpenBLAS: `brew install cmake openblas`, then `EDDY_BLAS_DIR=$(brew --prefix openblas) npm rebuild eddy-rnn`.',
    ];
  }
  if (platform === 'win32') return ['- Windows is not supported natively: use WSL 2 (e.g. Ubuntu), where the linux-x64 prebuilt binary installs.'];
  return ['- Build from source: install cmake, a C++17 compiler and OpenBLAS with its headers (cblas.h)' + then + '.'];
}

/**
 * Explains a failed native load: the likely cause and exactly what to
 * install, in the manner of sharp's install errors.
 */
export function explainLoadFailure(err: unknown, env: LoadEnvironment): string {
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  const target = `${env.platform}-${env.arch}`;
  const libc = env.libc ?? 'glibc';
  const lines = [
    `Could not load the eddy-rnn native module for ${target} (Node ${env.nodeVersion}, N-API ${env.napiVersion}).`,
    `Reason: ${detail}`,
    'Possible solutions:',
  ];
  if (!PREBUILT_PLATFORMS.includes(target)) {
    lines.push(`- No prebuilt binary is published for ${target} (prebuilt: ${PREBUILT_PLATFORMS.join(', ')}, glibc).`);
  } else if (libc === 'musl') {
    lines.push(`- The prebuilt binaries for ${target} need glibc; this system uses musl.`);
  } else if (/GLIBC|GLIBCXX|version .* not found/.test(detail)) {
    lines.push('- The prebuilt binary needs glibc 2.31 and libstdc++ from GCC 10 or newer (Debian 11, Ubuntu 20.04, RHEL 9, Amazon Linux 2023 or later).');
  } else {
    lines.push('- Reinstall so the prebuilt binary is present: `npm install eddy-rnn` (check that install scripts are not disabled by --ignore-scripts).');
  }
  lines.push(...sourceBuild(env.platform, libc));
  lines.push(`Searched: ${path.join(env.root, 'prebuilds', target)} and ${path.join(env.root, 'build', 'Release')}.`);
  return lines.join('\n');
}

/**
 * Runs `load` with OpenBLAS told to start no threads of its own. Eddy keeps
 * OpenBLAS single-threaded inside its pool, but OpenBLAS reads
 * OPENBLAS_NUM_THREADS when the module is loaded and otherwise starts a
 * thread per core, each holding a 128 MiB buffer, that would never work.
 * The caller's value is restored afterwards.
 */
function withoutBlasThreads<T>(load: () => T): T {
  const saved = process.env.OPENBLAS_NUM_THREADS;
  process.env.OPENBLAS_NUM_THREADS = '1';
  try {
    return load();
  } finally {
    if (saved === undefined) delete process.env.OPENBLAS_NUM_THREADS;
    else process.env.OPENBLAS_NUM_THREADS = saved;
  }
}

/** Loads the binding from `root` (prebuild first, local build second). */
export function loadNative(root: string = PACKAGE_ROOT): NativeBinding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    const binding = withoutBlasThreads(() => load(root));
    binding.setErrorClasses({ resource: ResourceError });
    return binding;
  } catch (err) {
    const message = explainLoadFailure(err, {
      platform: process.platform,
      arch: process.arch,
      nodeVersion: process.versions.node,
      napiVersion: process.versions.napi ?? 'unknown',
      root,
      libc: process.platform === 'linux' ? detectLibc() : undefined,
    });
    throw new NativeLoadError(message, err);
  }
}

/**
 * An uncoded RangeError or TypeError from the binding (arguments it refuses)
 * as a NativeArgumentError, so that every error a caller can cause has an
 * ERR_EDDY_* code; anything else passes unchanged.
 */
function coded(err: unknown, name: string): unknown {
  if ((err instanceof RangeError || err instanceof TypeError) && (err as { code?: unknown }).code === undefined) {
    return new NativeArgumentError(`${err.message} (in the native ${name})`, err);
  }
  return err;
}

/** The binding with every function's errors (thrown or, for the async ones, rejected) passed through `coded`. */
export function withCodedErrors(raw: NativeBinding): NativeBinding {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(raw)) {
    const value = (raw as unknown as Record<string, unknown>)[name];
    if (typeof value !== 'function') {
      Object.defineProperty(out, name, { get: () => (raw as unknown as Record<string, unknown>)[name], enumerable: true });
      continue;
    }
    out[name] = (...args: unknown[]): unknown => {
      let result: unknown;
      try {
        result = value.apply(raw, args);
      } catch (err) {
        throw coded(err, name);
      }
      return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(coded(err, name))) : result;
    };
  }
  return out as unknown as NativeBinding;
}

export const binding: NativeBinding = withCodedErrors(loadNative());
