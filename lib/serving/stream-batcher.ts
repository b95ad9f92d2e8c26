/**
 * Many streams, one batched step: `StreamBatcher` gathers the pending steps
 * of its streams and runs them as one batch through the model, each row
 * starting from its own stream's carried state. Streams join and leave at
 * any time; a batch runs when `maxBatch` steps are waiting or `maxDelayMs`
 * after the first one arrived.
 */
import { noGrad } from '../autograd/grad-mode';
import { ValidationError } from '../errors';
import { LayerState } from '../layers/recurrent';
import { ModelStates } from '../model/states';
import { concat } from '../ops/join';
import { Tensor, zeros } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOptions, optionKeys } from '../validate';
import { Session, SessionModel, SessionState, StepInput, valuesOf } from './session';

/** The options of {@link StreamBatcher}. */
export interface StreamBatcherOptions {
  /** The most steps one batch runs. @default 256 */
  maxBatch?: number;
  /** How long the first waiting step waits for others before its batch runs. @default 0 (the next turn of the event loop) */
  maxDelayMs?: number;
}

const STREAM_BATCHER_OPTION_KEYS = optionKeys<StreamBatcherOptions>({ maxBatch: true, maxDelayMs: true });

interface Pending {
  stream: BatchedStream;
  /** A single step the native steppers can run: the first layer's input values (copied). */
  single: { values: Float32Array; from: number } | null;
  x: Tensor | null;
  chunk: boolean;
  resolve(out: Tensor): void;
  reject(err: unknown): void;
}

/** One stream of a `StreamBatcher`: like a `Session`, but `step` resolves when its batch has run. */
export class BatchedStream {
  /** @internal */ states: ModelStates = {};
  /** @internal */ busy = false;
  private closed = false;

  /** @internal */
  constructor(
    private readonly batcher: StreamBatcher,
    /** @internal */ readonly session: Session,
  ) {}

  /**
   * Queues one step (or a chunk) of this stream; steps of one stream run in order.
   * @param input - One step's features (or token id), or a chunk of steps.
   */
  step(input: StepInput): Promise<Tensor> {
    if (this.closed) return Promise.reject(new ValidationError('Expected an open stream but this one was closed'));
    return this.batcher.enqueue(this, input);
  }

  /** Forgets the carried states (after any queued steps). */
  reset(): void {
    this.states = {};
  }

  /** The carried states as plain data (see `Session.state()`). */
  state(): SessionState {
    return this.session.stateOf(this.states);
  }

  /** Leaves the batcher; queued steps still run. */
  close(): void {
    this.closed = true;
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
  /** Checks the model; its native steppers run every single-step batch. */
  private readonly session: Session;

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
  }

  /**
   * A new stream, empty or resumed from a `state()`.
   * @param state - A state from `stream.state()` or `session.state()` to resume.
   * @throws {@link FormatError} when `state` is malformed or does not fit the model.
   */
  open(state?: SessionState): BatchedStream {
    const session = new Session(this.model, state);
    const stream = new BatchedStream(this, session);
    stream.states = session.carried();
    return stream;
  }

  /** @internal */
  enqueue(stream: BatchedStream, input: StepInput): Promise<Tensor> {
    const single = this.session.plan ? this.session.singleStep(input) : null;
    const { x, chunk } = single ? { x: null, chunk: false } : stream.session.toBatch(input);
    const copy = single && { values: single.values.slice(), from: single.from };
    return new Promise<Tensor>((resolve, reject) => {
      this.queue.push({ stream, single: copy, x, chunk, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.schedule(0);
      else if (this.timer === null) this.schedule(this.maxDelayMs);
    });
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
    if (this.running) return;
    // One step per stream per batch keeps each stream's steps in order;
    // steps of equal length batch together.
    const taken: Pending[] = [];
    const rest: Pending[] = [];
    const seen = new Set<BatchedStream>();
    const kind = (p: Pending): string => (p.single ? `single:${p.single.from}:${p.single.values.length}` : `steps:${p.x!.shape[1]}`);
    const first = this.queue[0] && kind(this.queue[0]);
    for (const p of this.queue) {
      if (taken.length < this.maxBatch && !seen.has(p.stream) && kind(p) === first) {
        taken.push(p);
        seen.add(p.stream);
      } else {
        rest.push(p);
      }
    }
    this.queue = rest;
    if (taken.length === 0) return;
    this.running = true;
    try {
      if (taken[0].single) this.runSteppers(taken);
      else this.run(taken);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule(this.queue.length >= this.maxBatch ? 0 : this.maxDelayMs);
    }
  }

  /**
   * One step of every stream in `batch` through the native steppers: the
   * waiting streams' states are gathered into rows, each recurrent layer
   * advances them in one call, and the rows go back to their streams.
   */
  private runSteppers(batch: Pending[]): void {
    const plan = this.session.plan!;
    const B = batch.length;
    const F = batch[0].single!.values.length;
    let v: Float32Array = new Float32Array(B * F);
    batch.forEach((p, i) => v.set(p.single!.values, i * F));
    let shape: readonly number[] = [F];
    try {
      for (let k = batch[0].single!.from; k < plan.length; k++) {
        const { layer, stepper, path } = plan[k];
        if (stepper) {
          const H = stepper.h.length;
          const h = new Float32Array(B * H);
          const c = stepper.c ? new Float32Array(B * H) : null;
          batch.forEach((p, i) => {
            const s = p.stream.states[path!];
            if (!s) return;
            h.set(valuesOf(s.h), i * H);
            if (c) c.set(valuesOf(s.c!), i * H);
          });
          stepper.stepRows(v, h, c);
          batch.forEach((p, i) => {
            const row = (a: Float32Array): Tensor => new Tensor(a.slice(i * H, (i + 1) * H), [1, 1, H]);
            p.stream.states[path!] = c ? { h: row(h), c: row(c) } : { h: row(h) };
          });
          v = h;
          shape = [H];
        } else {
          const out = noGrad(() => (layer as unknown as { forward(t: Tensor, o: object): unknown }).forward(new Tensor(v, [B, 1, v.length / B]), { training: false })) as Tensor;
          v = valuesOf(out);
          shape = out.shape.slice(2);
        }
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const per = v.length / B;
    batch.forEach((p, i) => p.resolve(new Tensor(v.slice(i * per, (i + 1) * per), shape)));
  }

  private run(batch: Pending[]): void {
    const x = batch.length === 1 ? batch[0].x! : concat(batch.map((p) => p.x!), 0);
    const states = stackStates(batch.map((p) => p.stream.states));
    let result: { output: Tensor | Tensor[]; states: ModelStates };
    try {
      result = noGrad(() => this.model.forward(x, { states, training: false }) as { output: Tensor | Tensor[]; states: ModelStates });
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const output = result.output as Tensor;
    batch.forEach((p, i) => {
      p.stream.states = rowOfStates(result.states, i);
      const row = output.select(0, i);
      p.resolve(row.reshape(p.chunk ? row.shape : row.shape.slice(1)).contiguous());
    });
  }
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
