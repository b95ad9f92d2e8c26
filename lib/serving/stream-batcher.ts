/**
 * Many streams, one batched step: `StreamBatcher` gathers the pending steps
 * of its streams and runs them as one batch through the model, each row
 * starting from its own stream's carried state. Streams join and leave at
 * any time; a batch runs when `maxBatch` steps are waiting or `maxDelayMs`
 * after the first one arrived. `stepMany` steps a given set of streams at
 * once, for callers that already hold one input per stream.
 *
 * Single steps of a Sequential model run on its plan (see session.ts): the
 * streams' states are rows of one slab per recurrent layer, each stream
 * owning a slot; a batch hands the layer's stepper the waiting streams'
 * slots, and the native side steps the rows in one call (in place when
 * the slots are consecutive, else gathered and written back). Nothing is
 * allocated per stream but the output each caller receives.
 */
import { noGrad } from '../autograd/grad-mode';
import { ShapeError, ValidationError } from '../errors';
import { Embedding } from '../layers/embedding';
import { LayerState } from '../layers/recurrent';
import { ModelStates } from '../model/states';
import { Sequential } from '../model/sequential';
import { binding } from '../native';
import { concat } from '../ops/join';
import { Tensor, zeros } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOptions, describe, fail, formatShape, optionKeys } from '../validate';
import { PlanStep, Session, SessionModel, SessionState, StepInput, valuesOf } from './session';

/** The options of {@link StreamBatcher}. */
export interface StreamBatcherOptions {
  /** The most steps one batch runs. @default 256 */
  maxBatch?: number;
  /** How long the first waiting step waits for others before its batch runs. @default 0 (the next turn of the event loop) */
  maxDelayMs?: number;
}

const STREAM_BATCHER_OPTION_KEYS = optionKeys<StreamBatcherOptions>({ maxBatch: true, maxDelayMs: true });

/** The options of {@link StreamBatcher.stepMany}. */
export interface StepManyOptions {
  /**
   * Where the outputs go: the returned tensor is a view of its first
   * `n × outputs-per-stream` values, valid until the caller writes there
   * again. A caller stepping the same streams round after round passes
   * the same array each time, so no round allocates. It must not share
   * memory with the inputs.
   * @default undefined (a new array each call)
   */
  out?: Float32Array;
}

const STEP_MANY_OPTION_KEYS = optionKeys<StepManyOptions>({ out: true });

interface Pending {
  stream: BatchedStream;
  /** A single step the plan can run: the input of plan step `from` (copied); null for the forward path. */
  values: Float32Array | null;
  from: number;
  /** The step or chunk as a batch of one ([1, steps, …]) for the forward path. */
  x: Tensor | null;
  chunk: boolean;
  resolve(out: Tensor): void;
  reject(err: unknown): void;
}

/** One recurrent layer's states: a row per stream slot, and the buffer its batch outputs go to. */
interface StateSlab {
  path: string;
  hiddenSize: number;
  /** [capacity, hiddenSize]: h (and c for an LSTM) of the stream in each slot. */
  hs: Float32Array;
  cs: Float32Array | null;
  /** [rows, hiddenSize]: the batch's new h, which the next layer reads. */
  y: Float32Array;
}

/** One stream of a `StreamBatcher`: like a `Session`, but `step` resolves when its batch has run. */
export class BatchedStream {
  /** @internal Its row in the batcher's slabs (when the batcher runs a plan); −1 once released. */
  slot = -1;
  /** @internal The states, when the batcher has no plan or the slot was released. */
  states: ModelStates = {};
  /** @internal Steps queued and not yet run. */
  queued = 0;
  /** @internal Where the input of its first queued step is copied. */
  inbox = new Float32Array(0);
  /** @internal The last batch that took a step of this stream. */
  mark = 0;
  private closed = false;

  /** @internal */
  constructor(
    /** @internal */ readonly batcher: StreamBatcher,
  ) {}

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queues one step (or a chunk) of this stream; steps of one stream run in order.
   * @param input - One step's features (or token id), or a chunk of steps.
   */
  step(input: StepInput): Promise<Tensor> {
    if (this.closed) return Promise.reject(new ValidationError('Expected an open stream but this one was closed'));
    return this.batcher.enqueue(this, input);
  }

  /** Forgets the carried states: the next step to run starts from zeros. */
  reset(): void {
    this.batcher.setStates(this, {});
  }

  /** The carried states as plain data (see `Session.state()`). */
  state(): SessionState {
    return this.batcher.stateOf(this);
  }

  /** Leaves the batcher; queued steps still run, and `state()` still answers. */
  close(): void {
    this.closed = true;
    this.batcher.releaseIfDone(this);
  }
}

/**
 * Runs the steps of many concurrent streams over one model as batches: each waiting stream's next
 * step joins one batched native call, and every stream's results are the same as its own `Session`
 * would give.
 * @example
 * ```ts
 * const batcher = new eddy.serving.StreamBatcher(model);
 * const stream = batcher.open();
 * const out = await stream.step(tokenId);
 * ```
 */
export class StreamBatcher {
  /** The most steps one batch runs. */
  readonly maxBatch: number;
  /** How long the first waiting step waits for others, in milliseconds. */
  readonly maxDelayMs: number;
  private queue: Pending[] = [];
  private timer: { cancel(): void; immediate: boolean } | null = null;
  private running = false;
  /** Checks the model and inputs; its plan (when the model has one) runs every single step. */
  private readonly session: Session;
  private readonly plan: PlanStep[] | null;
  private readonly slabs: StateSlab[] = [];
  /** Outputs per stream when the plan ends in a recurrent or Linear layer (which can write them anywhere), else null. */
  private readonly outputsPerRow: number | null = null;
  /** Slots in the slabs: how many rows they have, the next never used, and those given back. */
  private capacity = 0;
  private nextSlot = 0;
  private readonly freeSlots: number[] = [];
  /** Gives back the slot of a stream that was dropped without close(). */
  private readonly finalizer = new FinalizationRegistry<number>((slot) => this.freeSlots.push(slot));
  /** The batch's slots ([rows]). */
  private slotRows = new Int32Array(0);
  /** The first layer's inputs, gathered ([rows, features]). */
  private xs = new Float32Array(0);
  /** Output buffers of the plan's Linear layers, by plan index. */
  private readonly linearOut = new Map<number, Float32Array>();
  private batches = 0;

  /**
   * @param model - A Sequential or functional model with one input.
   * @param opts - {@link StreamBatcherOptions}.
   * @throws {@link ValidationError} when the model or an option is malformed.
   */
  constructor(
    /** The model the streams run through. */
    readonly model: SessionModel,
    opts: StreamBatcherOptions = {},
  ) {
    const o = checkOptions('opts', opts, STREAM_BATCHER_OPTION_KEYS);
    this.maxBatch = checkInteger('opts.maxBatch', o.maxBatch ?? 256, 1, 65536);
    this.maxDelayMs = checkNumber('opts.maxDelayMs', o.maxDelayMs ?? 0, { min: 0, max: 60000 });
    this.session = new Session(model);
    this.plan = this.session.plan;
    for (const p of this.plan ?? []) {
      if (p.stepper) this.slabs.push({ path: p.path!, hiddenSize: p.stepper.h.length, hs: new Float32Array(0), cs: p.stepper.c && new Float32Array(0), y: new Float32Array(0) });
    }
    const last = this.plan?.[this.plan.length - 1];
    if (last?.stepper) this.outputsPerRow = last.stepper.h.length;
    else if (last?.linear) this.outputsPerRow = last.linear.outFeatures;
  }

  /**
   * A new stream, empty or resumed from a `state()`.
   * @param state - A state from `stream.state()` or `session.state()` to resume.
   * @throws {@link FormatError} when `state` is malformed or does not fit the model.
   */
  open(state?: SessionState): BatchedStream {
    const states = state === undefined ? {} : this.session.statesFrom(state);
    const stream = new BatchedStream(this);
    if (this.plan) {
      stream.slot = this.takeSlot();
      this.finalizer.register(stream, stream.slot, stream);
    }
    this.setStates(stream, states);
    return stream;
  }

  /** A free slot in the slabs, which grow (doubling) when every slot is taken. */
  private takeSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    if (this.nextSlot === this.capacity) {
      this.capacity = Math.max(16, 2 * this.capacity);
      for (const s of this.slabs) {
        const grow = (old: Float32Array): Float32Array => {
          const next = new Float32Array(this.capacity * s.hiddenSize);
          next.set(old);
          return next;
        };
        s.hs = grow(s.hs);
        if (s.cs) s.cs = grow(s.cs);
      }
    }
    return this.nextSlot++;
  }

  /** @internal A closed stream with nothing queued keeps its states itself and gives its slot back. */
  releaseIfDone(stream: BatchedStream): void {
    if (!stream.isClosed || stream.queued > 0 || stream.slot < 0) return;
    const states = this.statesOf(stream);
    this.finalizer.unregister(stream);
    this.freeSlots.push(stream.slot);
    stream.slot = -1;
    stream.states = states;
  }

  /**
   * Steps every stream of `streams` once, now, as batches of at most
   * `maxBatch` rows, and returns their outputs `[n, …]` in order. `inputs`
   * holds one step per stream: `[n, inputSize]` features (a Float32Array or
   * Tensor), or n token ids for a model starting with an Embedding. The
   * streams must be distinct, open, of this batcher, with no steps queued.
   * @param streams - Distinct open streams of this batcher, with no steps queued.
   * @param inputs - One step per stream.
   * @param opts - {@link StepManyOptions}.
   * @throws {@link ValidationError} when a stream or the inputs do not qualify.
   * @throws {@link ShapeError} when `opts.out` is too short for the outputs.
   */
  stepMany(streams: readonly BatchedStream[], inputs: Tensor | Float32Array | Int32Array | readonly number[], opts?: StepManyOptions): Tensor {
    const into = checkOptions('opts', opts, STEP_MANY_OPTION_KEYS).out;
    if (into !== undefined && !(into instanceof Float32Array)) fail('a Float32Array', 'opts.out', into);
    if (!Array.isArray(streams) || streams.length === 0) throw new ValidationError(`Expected a non-empty array of streams for streams but received ${describe(streams)}`);
    const n = streams.length;
    const stamp = ++this.batches;
    for (let i = 0; i < n; i++) {
      const s = streams[i];
      if (!(s instanceof BatchedStream) || s.batcher !== this) throw new ValidationError(`Expected a stream opened by this batcher for streams[${i}] but received ${describe(s)}`);
      if (s.isClosed) throw new ValidationError(`Expected an open stream for streams[${i}] but it was closed`);
      if (s.queued > 0) throw new ValidationError(`Expected streams[${i}] to have no queued steps but it has ${s.queued}`);
      if (s.mark === stamp) throw new ValidationError(`Expected distinct streams but streams[${i}] appears twice`);
      s.mark = stamp;
    }
    const { x, from } = this.inputRows(inputs, n);
    if (!this.plan) {
      const F = x.length / n;
      const out = this.runForward(streams, new Tensor(x, this.session.tokens ? [n, 1] : [n, 1, F])).output as Tensor;
      return intoOut(out.reshape([n, ...out.shape.slice(2)]).contiguous(), into);
    }
    const F = x.length / n;
    const per = this.outputsPerRow;
    // Known in advance when the plan's last layer has a fixed width: the last layer writes straight into the result.
    let result: Float32Array | null = per === null ? null : outRows(into, n * per, [n, per]);
    let shape: readonly number[] = [];
    for (let lo = 0; lo < n; lo += this.maxBatch) {
      const hi = Math.min(n, lo + this.maxBatch);
      const dest = per === null ? undefined : result!.subarray(lo * per, hi * per);
      const { v, shape: s } = this.runRows(lo === 0 && hi === n ? streams : streams.slice(lo, hi), x.subarray(lo * F, hi * F), from, dest);
      const width = v.length / (hi - lo);
      result ??= outRows(into, n * width, [n, ...s]);
      if (v !== dest) result.set(v, lo * width);
      shape = s;
    }
    return new Tensor(result!, [n, ...shape]);
  }

  /** `inputs` of `stepMany` as the rows the first planned layer takes (features, or the Embedding's rows), checked. */
  private inputRows(inputs: Tensor | Float32Array | Int32Array | readonly number[], n: number): { x: Float32Array; from: number } {
    if (this.session.tokens) {
      const ids = inputs instanceof Tensor ? inputs.toFloat32Array() : (inputs as ArrayLike<number>);
      if (ids === null || typeof ids !== 'object' || ids.length !== n) throw new ShapeError(`Expected ${n} token ids (one per stream) for inputs but received ${describe(inputs)}`);
      const embedding = (this.model as Sequential).layers[0] as Embedding;
      const vocab = embedding.numEmbeddings;
      for (let i = 0; i < n; i++) {
        const id = ids[i];
        if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new ValidationError(`Expected token ids between 0 and ${vocab - 1} for inputs but received ${describe(id)} at ${i}`);
      }
      if (!this.plan) return { x: Float32Array.from(ids), from: 0 };
      const D = embedding.embeddingDim;
      const w = valuesOf(embedding.weight.data);
      const x = new Float32Array(n * D);
      for (let i = 0; i < n; i++) x.set(w.subarray(ids[i] * D, (ids[i] + 1) * D), i * D);
      return { x, from: 1 };
    }
    const F = this.session.inputSize;
    const x = inputs instanceof Tensor ? valuesOf(inputs) : inputs instanceof Float32Array ? inputs : null;
    if (!x || x.length === 0 || x.length % n !== 0 || (F !== null && x.length !== n * F)) {
      throw new ShapeError(`Expected ${F === null ? 'features' : `${n} × ${F} features`} (one step per stream) for inputs but received ${inputs instanceof Tensor ? `shape [${inputs.shape.join(', ')}]` : describe(inputs)}`);
    }
    return { x, from: 0 };
  }

  /** @internal */
  enqueue(stream: BatchedStream, input: StepInput): Promise<Tensor> {
    const single = this.plan ? this.session.singleStep(input) : null;
    const { x, chunk } = single ? { x: null, chunk: false } : this.session.toBatch(input);
    // The input is copied (the caller may reuse its array): into the
    // stream's own buffer when no other step of it waits, else a new one.
    let values: Float32Array | null = null;
    if (single) {
      if (stream.queued === 0 && stream.inbox.length === single.values.length) values = stream.inbox;
      else if (stream.queued === 0 && stream.inbox.length === 0) values = stream.inbox = new Float32Array(single.values.length);
      else values = new Float32Array(single.values.length);
      values.set(single.values);
    }
    const from = single ? single.from : 0;
    stream.queued++;
    return new Promise<Tensor>((resolve, reject) => {
      this.queue.push({ stream, values, from, x, chunk, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.schedule(0);
      else if (this.timer === null) this.schedule(this.maxDelayMs);
    });
  }

  /** @internal */
  stateOf(stream: BatchedStream): SessionState {
    return this.session.stateOf(this.statesOf(stream));
  }

  /** Runs the next batch after `delayMs` (0: the next turn of the event loop); an earlier run replaces a later one. */
  private schedule(delayMs: number): void {
    if (this.timer !== null) {
      if (this.timer.immediate || delayMs > 0) return;
      this.timer.cancel();
    }
    if (delayMs > 0) {
      const handle = setTimeout(() => this.flush(), delayMs);
      this.timer = { cancel: () => clearTimeout(handle), immediate: false };
    } else {
      const handle = setImmediate(() => this.flush());
      this.timer = { cancel: () => clearImmediate(handle), immediate: true };
    }
  }

  private flush(): void {
    this.timer = null;
    if (this.running || this.queue.length === 0) return;
    // One step per stream per batch keeps each stream's steps in order;
    // steps of the same kind (plan steps of one width, or chunks of one
    // length) batch together.
    const taken: Pending[] = [];
    const rest: Pending[] = [];
    const stamp = ++this.batches;
    const first = this.queue[0];
    const width = (p: Pending): number => (p.values ? p.values.length : -p.x!.shape[1]);
    for (const p of this.queue) {
      if (taken.length < this.maxBatch && p.stream.mark !== stamp && width(p) === width(first) && p.from === first.from) {
        taken.push(p);
        p.stream.mark = stamp;
        p.stream.queued--;
      } else {
        rest.push(p);
      }
    }
    this.queue = rest;
    if (taken.length === 0) return;
    this.running = true;
    try {
      if (taken[0].values) this.runPending(taken);
      else this.runChunks(taken);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule(this.queue.length >= this.maxBatch ? 0 : this.maxDelayMs);
    }
  }

  /** Plan steps of the queue: the inputs gathered into one buffer, each caller resolved with its own output row. */
  private runPending(batch: Pending[]): void {
    const B = batch.length;
    const F = batch[0].values!.length;
    if (this.xs.length < B * F) this.xs = new Float32Array(Math.max(B, this.maxBatch) * F);
    const x = this.xs.subarray(0, B * F);
    for (let i = 0; i < B; i++) x.set(batch[i].values!, i * F);
    // One array for the whole batch's outputs (written there by the last
    // layer when it can, else copied); each caller's tensor is its own rows of it.
    const dest = this.outputsPerRow === null ? undefined : new Float32Array(B * this.outputsPerRow);
    let out: { v: Float32Array; shape: readonly number[] };
    try {
      out = this.runRows(batch.map((p) => p.stream), x, batch[0].from, dest);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const per = out.v.length / B;
    const rows = out.v === dest ? dest : out.v.slice();
    for (let i = 0; i < B; i++) {
      batch[i].resolve(new Tensor(rows.subarray(i * per, (i + 1) * per), out.shape));
      this.releaseIfDone(batch[i].stream);
    }
  }

  /**
   * One step of `streams` through the plan from layer `from`: x holds one
   * input row per stream. Each recurrent layer steps the streams' slab rows
   * in place (one native call); the other layers run on the batch's rows.
   * Returns the last layer's rows, valid until the next batch: `dest` when
   * given and the last layer is recurrent or Linear (it writes there).
   */
  private runRows(streams: readonly BatchedStream[], x: Float32Array, from: number, dest?: Float32Array): { v: Float32Array; shape: readonly number[] } {
    const plan = this.plan!;
    const B = streams.length;
    if (this.slotRows.length < B) this.slotRows = new Int32Array(Math.max(B, this.maxBatch));
    const slots = this.slotRows.subarray(0, B);
    for (let i = 0; i < B; i++) slots[i] = streams[i].slot;
    let v = x;
    let shape: readonly number[] = [x.length / B];
    // Only an Embedding comes before `from`: every recurrent layer runs.
    let slab = 0;
    for (let k = from; k < plan.length; k++) {
      const p = plan[k];
      if (p.stepper) {
        const s = this.slabs[slab++];
        const H = s.hiddenSize;
        if (s.y.length < B * H) s.y = new Float32Array(Math.max(B, this.maxBatch) * H);
        const y = dest && k === plan.length - 1 ? dest : s.y.subarray(0, B * H);
        // A Linear right after the layer runs inside the same native call, on the same threads' rows.
        const head = plan[k + 1]?.linear;
        if (head && head.inFeatures === H) {
          const out = dest && k + 1 === plan.length - 1 ? dest : this.linearRowsOut(k + 1, B, head.outFeatures);
          binding.rnnStepSlots(p.stepper.handle, v, slots, s.hs, s.cs, y, head.handle, out);
          v = out;
          shape = [head.outFeatures];
          k++;
        } else {
          binding.rnnStepSlots(p.stepper.handle, v, slots, s.hs, s.cs, y, null, null);
          v = y;
          shape = [H];
        }
      } else if (p.linear) {
        v = p.linear.run(v, dest && k === plan.length - 1 ? dest : this.linearRowsOut(k, B, p.linear.outFeatures));
        shape = [p.linear.outFeatures];
      } else {
        const out = noGrad(() => (p.layer as unknown as { forward(t: Tensor, o: object): unknown }).forward(new Tensor(v, [B, 1, v.length / B]), { training: false })) as Tensor;
        v = valuesOf(out);
        shape = out.shape.slice(2);
      }
    }
    return { v, shape };
  }

  /** The output rows [B, features] of the plan's Linear layer k (a buffer reused from batch to batch). */
  private linearRowsOut(k: number, B: number, features: number): Float32Array {
    let y = this.linearOut.get(k);
    if (!y || y.length < B * features) this.linearOut.set(k, (y = new Float32Array(Math.max(B, this.maxBatch) * features)));
    return y.subarray(0, B * features);
  }

  /** Chunks (and every step of a model without a plan): one forward over the batch with the streams' states. */
  private runChunks(batch: Pending[]): void {
    const x = batch.length === 1 ? batch[0].x! : concat(batch.map((p) => p.x!), 0);
    let output: Tensor;
    try {
      output = this.runForward(batch.map((p) => p.stream), x).output as Tensor;
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const row = output.select(0, i);
      p.resolve(row.reshape(p.chunk ? row.shape : row.shape.slice(1)).contiguous());
      this.releaseIfDone(p.stream);
    });
  }

  /** The model's forward over x ([streams, steps, …]) from the streams' states, which then advance. */
  private runForward(streams: readonly BatchedStream[], x: Tensor): { output: Tensor | Tensor[]; states: ModelStates } {
    const states = stackStates(streams.map((s) => this.statesOf(s)));
    const result = noGrad(() => this.model.forward(x, { states, training: false }) as { output: Tensor | Tensor[]; states: ModelStates });
    streams.forEach((s, i) => this.setStates(s, rowOfStates(result.states, i)));
    return result;
  }

  /** A stream's states as tensors [1, 1, H] by layer path (copies of its slab rows, when it has a slot). */
  private statesOf(stream: BatchedStream): ModelStates {
    if (stream.slot < 0) return stream.states;
    const out: ModelStates = {};
    for (const s of this.slabs) {
      const H = s.hiddenSize;
      const row = (slab: Float32Array): Tensor => new Tensor(slab.slice(stream.slot * H, (stream.slot + 1) * H), [1, 1, H]);
      out[s.path] = s.cs ? { h: row(s.hs), c: row(s.cs) } : { h: row(s.hs) };
    }
    return out;
  }

  /** @internal Sets a stream's states (zeros for layers without one). */
  setStates(stream: BatchedStream, states: ModelStates): void {
    if (stream.slot < 0) {
      stream.states = states;
      return;
    }
    for (const s of this.slabs) {
      const H = s.hiddenSize;
      const at = stream.slot * H;
      const st = states[s.path];
      if (st) s.hs.set(valuesOf(st.h), at);
      else s.hs.fill(0, at, at + H);
      if (s.cs) {
        if (st?.c) s.cs.set(valuesOf(st.c), at);
        else s.cs.fill(0, at, at + H);
      }
    }
  }
}

/** `size` values for outputs of `shape`: the first of `out` when given (checked), else a new array. */
function outRows(out: Float32Array | undefined, size: number, shape: readonly number[]): Float32Array {
  if (out === undefined) return new Float32Array(size);
  if (out.length < size) throw new ShapeError(`Expected opts.out of at least ${size} values (outputs ${formatShape(shape)}) but received ${out.length}`);
  return out.subarray(0, size);
}

/** `t` (contiguous) copied into `out` when given. */
function intoOut(t: Tensor, out: Float32Array | undefined): Tensor {
  if (out === undefined) return t;
  const rows = outRows(out, t.size, t.shape);
  rows.set(valuesOf(t));
  return new Tensor(rows, t.shape);
}

/** The streams' states side by side along the batch axis; streams without a state get zeros. */
function stackStates(perStream: ModelStates[]): ModelStates {
  const paths = new Set(perStream.flatMap((s) => Object.keys(s)));
  const out: ModelStates = {};
  for (const path of paths) {
    const sample = perStream.find((s) => s[path])![path];
    const zero = (t: Tensor): Tensor => zeros([t.shape[0], 1, t.shape[2]]);
    const part = (key: 'h' | 'c'): Tensor => concat(perStream.map((s) => (s[path] ? s[path][key]! : zero(sample[key]!))), 1);
    out[path] = sample.c ? { h: part('h'), c: part('c') } : { h: part('h') };
  }
  return out;
}

/** Row `i` of batched states, as one stream's own (copied, so the batch can be freed). */
function rowOfStates(states: ModelStates, i: number): ModelStates {
  const out: ModelStates = {};
  for (const [path, s] of Object.entries(states)) {
    const row = (t: Tensor): Tensor => t.slice(1, i, i + 1).contiguous();
    const state: LayerState = s.c ? { h: row(s.h), c: row(s.c) } : { h: row(s.h) };
    out[path] = state;
  }
  return out;
}
