/**
 * Micro-batching of whole requests: concurrent `predict` calls, each one
 * sequence of its own length, are padded into one batch (with `lengths`,
 * so padding changes nothing), run off the main thread, and each caller
 * gets its own rows back. A full queue refuses at once with an
 * `OverloadedError`; an aborted request leaves its batch without
 * disturbing the others.
 *
 * A request's result does not depend on the batch it ran in: the recurrent
 * kernels give every row the same arithmetic whatever the batch, and the
 * Linear layers of a Sequential model run on the same packed GEMM (see
 * linear-rows.ts) rather than BLAS, whose blocking follows the row count.
 */
import { noGrad } from '../autograd/grad-mode';
import { ShapeError, ValidationError } from '../errors';
import { Linear } from '../layers/linear';
import { callLayerAsync, Layer, pick } from '../model/call';
import { Model } from '../model/model';
import { Sequential } from '../model/sequential';
import { Tensor } from '../tensor/tensor';
import { checkOptions, describe, formatShape, optionKeys } from '../validate';
import { Coalescer, CoalescerOptions } from './coalescer';
import { LinearRows } from './linear-rows';

/** The options of {@link Batcher}: those of the queue it runs on. */
export type BatcherOptions = CoalescerOptions;

/** The options of {@link Batcher.predict}. */
export interface BatchedPredictOptions {
  /**
   * Cancels the request: it leaves the queue (or its result is dropped) and the promise rejects
   * with an AbortError.
   * @default none
   */
  signal?: AbortSignal;
}

const BATCHED_PREDICT_OPTION_KEYS = optionKeys<BatchedPredictOptions>({ signal: true });

interface Request {
  x: Tensor;
  steps: number;
}

/**
 * Coalesces concurrent requests to one model into padded batches. For a
 * Sequential model the outputs are bit-identical whatever the batch, the
 * request's position in it and the thread count (on one kernel path).
 * The weights of its Linear layers are packed when the Batcher is made:
 * later changes to them are not seen (make a new Batcher).
 */
export class Batcher {
  /** The most requests one batch runs. */
  readonly maxBatch: number;
  /** How long the first waiting request waits for others, in milliseconds. */
  readonly maxDelayMs: number;
  /** The most requests waiting. */
  readonly maxQueue: number;
  private readonly queue: Coalescer<Request, Tensor>;
  /** The Linear layers of a Sequential model, on the batch-invariant packed GEMM. */
  private readonly linears = new Map<Layer, LinearRows>();

  /**
   * @param model - The model the batches run on.
   * @param opts - {@link BatcherOptions}.
   * @throws {@link ValidationError} when an option is malformed.
   */
  constructor(
    /** The model the batches run on. */
    readonly model: Model,
    opts: BatcherOptions = {},
  ) {
    if (!(model instanceof Model)) throw new ValidationError(`Expected an eddy Model for model but received ${describe(model)}`);
    this.queue = new Coalescer((batch: Request[]) => this.run(batch), opts);
    ({ maxBatch: this.maxBatch, maxDelayMs: this.maxDelayMs, maxQueue: this.maxQueue } = this.queue);
    if (model instanceof Sequential) for (const layer of model.layers) if (layer instanceof Linear) this.linears.set(layer, new LinearRows(layer));
  }

  /** Batches running now. */
  get batchesRunning(): number {
    return this.queue.batchesRunning;
  }

  /** Requests waiting for a batch. */
  get queued(): number {
    return this.queue.queued;
  }

  /**
   * The model's output for one sequence `x` ([steps, features], or [steps]
   * token ids), computed inside whatever batch it joins: [steps, …] for
   * per-step outputs, else the row's output.
   * @param x - One sequence, [steps, features] or [steps] token ids.
   * @param opts - {@link BatchedPredictOptions}.
   * @throws {@link OverloadedError} (as a rejection) when `maxQueue` requests are already waiting.
   * @throws {@link AbortError} (as a rejection) when `signal` aborts.
   * @example
   * ```ts
   * const batcher = new eddy.serving.Batcher(model, { maxBatch: 16, maxDelayMs: 2 });
   * const y = await batcher.predict(eddy.tensor(features)); // joins whatever batch is forming
   * ```
   */
  predict(x: Tensor, opts: BatchedPredictOptions = {}): Promise<Tensor> {
    const o = checkOptions('opts', opts, BATCHED_PREDICT_OPTION_KEYS);
    if (this.queue.isClosed) return Promise.reject(new ValidationError('Expected an open Batcher but it was closed'));
    if (!(x instanceof Tensor) || x.rank < 1) return Promise.reject(new ValidationError(`Expected a Tensor [steps, …] for x but received ${describe(x)}`));
    if (x.shape[0] < 1) return Promise.reject(new ShapeError(`Expected at least one step for x but received ${formatShape(x.shape)}`));
    return this.queue.submit({ x, steps: x.shape[0] }, o.signal);
  }

  /** Refuses new requests; the queued ones still run. */
  close(): void {
    this.queue.close();
  }

  /** Pads the requests to the longest, runs them as one batch with their lengths, and splits the rows. */
  private async run(batch: Request[]): Promise<Tensor[]> {
    const first = batch[0].x;
    const rest = first.shape.slice(1);
    for (const r of batch) {
      if (r.x.rank !== first.rank || r.x.shape.slice(1).some((d, i) => d !== rest[i])) {
        throw new ShapeError(`Expected requests of shape [steps${rest.map((d) => `, ${d}`).join('')}] in one batch but received ${formatShape(r.x.shape)}`);
      }
    }
    const T = Math.max(...batch.map((r) => r.steps));
    const row = rest.reduce((a, d) => a * d, 1);
    const data = new Float32Array(batch.length * T * row);
    batch.forEach((r, b) => data.set(r.x.toFloat32Array(), b * T * row));
    const x = new Tensor(data, [batch.length, T, ...rest]);
    const lengths = Int32Array.from(batch, (r) => r.steps);
    const y = (await noGrad(() => this.forward(x, lengths))) as Tensor;
    if (!(y instanceof Tensor) || y.shape[0] !== batch.length) throw new ShapeError(`Expected one output row per request from ${this.model.toString()} but received ${y instanceof Tensor ? formatShape(y.shape) : describe(y)}`);
    const perStep = y.rank >= 2 && y.shape[1] === T;
    return batch.map((r, b) => {
      const own = y.select(0, b);
      return (perStep ? own.slice(0, 0, r.steps) : own).contiguous();
    });
  }

  /** The model's forward, the Linear layers of a Sequential on their packed weights. */
  private async forward(x: Tensor, lengths: Int32Array): Promise<unknown> {
    const ctx = { lengths, training: false };
    if (!(this.model instanceof Sequential) || this.linears.size === 0) return this.model.forwardAsync(x, ctx);
    let y = x;
    for (const layer of this.model.layers) {
      const linear = this.linears.get(layer);
      y = linear ? linear.forward(y) : pick(await callLayerAsync(layer, [y], ctx), layer);
    }
    return y;
  }
}
