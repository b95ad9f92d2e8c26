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
import { checkInteger, checkNumber, checkOptions } from '../validate';
import { Session, SessionModel, SessionState, StepInput } from './session';

export interface StreamBatcherOptions {
  /** The most steps one batch runs. @default 256 */
  maxBatch?: number;
  /** How long the first waiting step waits for others before its batch runs. @default 0 (the next turn of the event loop) */
  maxDelayMs?: number;
}

interface Pending {
  stream: BatchedStream;
  x: Tensor;
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

  /** Queues one step (or a chunk) of this stream; steps of one stream run in order. */
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

export class StreamBatcher {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  private queue: Pending[] = [];
  private timer: { cancel(): void; immediate: boolean } | null = null;
  private running = false;

  constructor(
    readonly model: SessionModel,
    opts: StreamBatcherOptions = {},
  ) {
    const o = checkOptions('opts', opts);
    this.maxBatch = checkInteger('opts.maxBatch', o.maxBatch ?? 256, 1, 65536);
    this.maxDelayMs = checkNumber('opts.maxDelayMs', o.maxDelayMs ?? 0, { min: 0, max: 60000 });
    new Session(model); // checks the model once, with the session's messages
  }

  /** A new stream, empty or resumed from a `state()`. */
  open(state?: SessionState): BatchedStream {
    const session = new Session(this.model, state);
    const stream = new BatchedStream(this, session);
    stream.states = session.carried();
    return stream;
  }

  /** @internal */
  enqueue(stream: BatchedStream, input: StepInput): Promise<Tensor> {
    const { x, chunk } = stream.session.toBatch(input);
    return new Promise<Tensor>((resolve, reject) => {
      this.queue.push({ stream, x, chunk, resolve, reject });
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
    const steps = this.queue[0]?.x.shape[1];
    for (const p of this.queue) {
      if (taken.length < this.maxBatch && !seen.has(p.stream) && p.x.shape[1] === steps) {
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
      this.run(taken);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule(this.queue.length >= this.maxBatch ? 0 : this.maxDelayMs);
    }
  }

  private run(batch: Pending[]): void {
    const x = batch.length === 1 ? batch[0].x : concat(batch.map((p) => p.x), 0);
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
