/**
 * Token-by-token inference: advances one recurrent layer one time step per
 * call with carried state, for serving and generation. The weights are
 * copied and packed for the native kernels once, when the stepper is made;
 * every `step` is one synchronous native call with no allocation.
 */
import { ShapeError } from '../errors';
import { binding, RnnStepperHandle } from '../native';
import { checkInteger, checkObject, checkOptions, fail, formatShape, optionKeys } from '../validate';

/** The options of `layer.stepper()`. */
export interface StepperOptions {
  /** Independent streams advanced together by each step (rows of x and of the state). @default 1 */
  batch?: number;
}

const STEPPER_OPTIONS = optionKeys<StepperOptions>({ batch: true });

/** What a layer hands its stepper: the native handle and the sizes to check against. */
export interface StepperInit {
  /** The native stepper, holding the packed weights. */
  handle: RnnStepperHandle;
  /** Features per input step. */
  inputSize: number;
  /** Features of the hidden state. */
  hiddenSize: number;
  /** Whether the cell carries a cell state (LSTM). */
  hasCellState: boolean;
  /** The layer's description, for error messages. */
  layerName: string;
}

/**
 * A single-layer, unidirectional RNN, LSTM or GRU run one step at a time.
 * Each step computes exactly what a whole-sequence `forward` computes for
 * that step, bit for bit on the same kernels. Made by `layer.stepper()`;
 * later changes to the layer's weights are not seen (make a new stepper).
 */
export class LayerStepper {
  /** Streams per step. */
  readonly batch: number;
  /** The hidden state [batch, hiddenSize]: h_t after a step, which is also the step's output. */
  readonly h: Float32Array;
  /** The LSTM cell state [batch, hiddenSize]; null for RNN and GRU. */
  readonly c: Float32Array | null;
  private readonly init: StepperInit;

  /** @internal The native stepper, for callers that fuse more into its call (a stream batcher's head). */
  get handle(): RnnStepperHandle {
    return this.init.handle;
  }

  /**
   * @param init - What the layer hands its stepper.
   * @param opts - {@link StepperOptions}.
   */
  constructor(init: StepperInit, opts: StepperOptions = {}) {
    const o = checkObject('stepper options', opts);
    for (const key of Object.keys(o)) if (!STEPPER_OPTIONS.includes(key)) fail(`one of the options ${STEPPER_OPTIONS.join(', ')}`, 'stepper options', key);
    this.batch = checkInteger('batch', o.batch ?? 1, 1);
    this.init = init;
    this.h = new Float32Array(this.batch * init.hiddenSize);
    this.c = init.hasCellState ? new Float32Array(this.batch * init.hiddenSize) : null;
  }

  /**
   * Advances every stream one step: x is [batch, inputSize] (row-major).
   * Returns `h`, the new state and the step's output; it is overwritten by
   * the next step, so copy it to keep it.
   * @param x - The step's input, [batch, inputSize].
   * @throws {@link ShapeError} when `x` has the wrong length.
   * @example
   * ```ts
   * const stepper = lstm.stepper();
   * for (const x of inputs) out.push(Float32Array.from(stepper.step(x)));
   * ```
   */
  step(x: Float32Array): Float32Array {
    const want = this.batch * this.init.inputSize;
    if (!(x instanceof Float32Array)) fail(`a Float32Array of ${want} elements`, 'x', x);
    if (x.length !== want) {
      throw new ShapeError(`Expected x of ${want} elements ([batch ${this.batch}, ${this.init.inputSize}]) for a stepper of ${this.init.layerName} but received ${x.length}`);
    }
    binding.rnnStep(this.init.handle, x, this.h, this.c);
    return this.h;
  }

  /**
   * Advances `n` streams whose states the caller holds: x is [n, inputSize],
   * h (and c for an LSTM) [n, hiddenSize], updated in place. A stream
   * batcher gathers whichever streams are waiting into these rows; each
   * row's arithmetic is the same whatever n is (the kernels are
   * batch-invariant), so a stream's result does not depend on its company.
   * @param x - The inputs, [n, inputSize].
   * @param h - The streams' hidden states, [n, hiddenSize], updated in place.
   * @param c - The streams' cell states (LSTM), updated in place; null for RNN and GRU.
   * @throws {@link ValidationError} when an array has the wrong length.
   */
  stepRows(x: Float32Array, h: Float32Array, c: Float32Array | null): void {
    const H = this.init.hiddenSize;
    if (!(h instanceof Float32Array) || h.length === 0 || h.length % H !== 0) fail(`a Float32Array of n · ${H} elements`, 'h', h);
    const n = h.length / H;
    if (!(x instanceof Float32Array) || x.length !== n * this.init.inputSize) fail(`a Float32Array of ${n} · ${this.init.inputSize} elements`, 'x', x);
    if (this.init.hasCellState ? !(c instanceof Float32Array) || c.length !== h.length : c !== null) fail(this.init.hasCellState ? `a Float32Array of ${h.length} elements` : 'null (only LSTM has a cell state)', 'c', c);
    binding.rnnStep(this.init.handle, x, h, c);
  }

  /**
   * Advances the n = slots.length streams whose states are rows `slots` of
   * the caller's slabs: x is [n, inputSize], hSlab (and cSlab for an LSTM)
   * [rows, hiddenSize], updated in place; y [n, hiddenSize] receives the new
   * h, the step's output. The rows are gathered and written back natively,
   * so a batcher keeps any number of streams in one slab per layer. Slots
   * must be distinct.
   * @param x - The inputs, [n, inputSize].
   * @param slots - The distinct rows of the slabs to advance, one per stream.
   * @param hSlab - The hidden states of every stream, [rows, hiddenSize], updated in place.
   * @param cSlab - The cell states (LSTM), updated in place; null for RNN and GRU.
   * @param y - Receives the new h of the advanced streams, [n, hiddenSize].
   * @throws {@link ValidationError} when an array has the wrong length.
   * @throws NativeArgumentError when a slot is outside the slabs or named twice.
   */
  stepSlots(x: Float32Array, slots: Int32Array, hSlab: Float32Array, cSlab: Float32Array | null, y: Float32Array): void {
    const H = this.init.hiddenSize;
    if (!(slots instanceof Int32Array) || slots.length === 0) fail('a non-empty Int32Array of slots', 'slots', slots);
    const n = slots.length;
    if (!(hSlab instanceof Float32Array) || hSlab.length % H !== 0) fail(`a Float32Array of rows · ${H} elements`, 'hSlab', hSlab);
    if (this.init.hasCellState ? !(cSlab instanceof Float32Array) || cSlab.length !== hSlab.length : cSlab !== null) fail(this.init.hasCellState ? `a Float32Array of ${hSlab.length} elements` : 'null (only LSTM has a cell state)', 'cSlab', cSlab);
    if (!(x instanceof Float32Array) || x.length !== n * this.init.inputSize) fail(`a Float32Array of ${n} · ${this.init.inputSize} elements`, 'x', x);
    if (!(y instanceof Float32Array) || y.length !== n * H) fail(`a Float32Array of ${n} · ${H} elements`, 'y', y);
    binding.rnnStepSlots(this.init.handle, x, slots, hSlab, cSlab, y);
  }

  /**
   * Sets the state of every stream: h (and c for LSTM) [batch, hiddenSize], or zeros when omitted.
   * @param state - The new `h` and (LSTM) `c`, [batch, hiddenSize]; zeros when omitted.
   */
  reset(state: { h?: Float32Array; c?: Float32Array } = {}): void {
    const s = checkOptions('state', state, ['h', 'c']);
    const size = this.batch * this.init.hiddenSize;
    for (const [name, src, dst] of [['h', s.h, this.h], ['c', s.c, this.c]] as const) {
      if (src === undefined) {
        dst?.fill(0);
        continue;
      }
      if (!dst) fail('no c (only LSTM has a cell state)', 'state', src);
      if (!(src instanceof Float32Array) || src.length !== size) {
        throw new ShapeError(`Expected ${name} of shape ${formatShape([this.batch, this.init.hiddenSize])} for a stepper of ${this.init.layerName} but received ${src instanceof Float32Array ? src.length + ' elements' : typeof src}`);
      }
      dst.set(src);
    }
  }
}
