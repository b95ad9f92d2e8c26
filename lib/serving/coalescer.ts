/**
 * The queue behind request batching: concurrent `submit` calls wait (at
 * most `maxDelayMs`, or until `maxBatch` are waiting) and then run as one
 * call of `run` over all their inputs; each caller gets its own result. A
 * full queue refuses at once with an `OverloadedError`; an aborted request
 * leaves the queue (or its result is dropped) without disturbing the others,
 * and a request that makes its batch fail fails alone: the members of a
 * failed batch run again one by one (so `run` must be safe to repeat).
 * `Batcher` (padded sequences) and the forecast route of `eddy serve` (many
 * histories through one forecaster) are built on it.
 */
import { AbortError, OverloadedError, ValidationError } from '../errors';
import { checkInteger, checkNumber, checkOptions, describe, optionKeys } from '../validate';

/** The options of {@link Coalescer}. */
export interface CoalescerOptions {
  /** The most requests one batch runs. @default 32 */
  maxBatch?: number;
  /** How long the first waiting request waits for others before its batch runs. @default 2 */
  maxDelayMs?: number;
  /** The most requests waiting; one more is refused with an OverloadedError. @default 1024 */
  maxQueue?: number;
  /**
   * Called with the number of requests of each batch as it starts (for metrics). @default none
   * @param size - The number of requests in the batch.
   */
  onBatch?: (size: number) => void;
}

/** The keys of CoalescerOptions, for checkOptions. */
export const COALESCER_OPTION_KEYS = optionKeys<CoalescerOptions>({ maxBatch: true, maxDelayMs: true, maxQueue: true, onBatch: true });

/**
 * What {@link Coalescer.submit} needs of a signal: an AbortSignal fits, and
 * so does anything this small (the request context of `createHttpService`,
 * which makes no AbortSignal for it).
 */
export interface Abortable {
  /** Whether the request was cancelled. */
  readonly aborted: boolean;
  /**
   * Calls `listener` once, when the request is cancelled.
   * @param type - Always 'abort'.
   * @param listener - What to call.
   */
  addEventListener(type: 'abort', listener: () => void): void;
  /**
   * Forgets a listener given to `addEventListener`.
   * @param type - Always 'abort'.
   * @param listener - The listener.
   */
  removeEventListener(type: 'abort', listener: () => void): void;
}

interface Waiting<I, O> {
  input: I;
  resolve(out: O): void;
  reject(err: unknown): void;
  signal?: Abortable;
  onAbort?: () => void;
}

/**
 * Coalesces concurrent requests into batches: `run` receives the inputs of
 * up to `maxBatch` requests and returns one result per input, in order.
 * When a batch of several fails, each of its requests runs again alone, so
 * only a request that fails by itself rejects (with its own error) and its
 * batch-mates get their results: `run` must be safe to call again.
 * @example
 * ```ts
 * const c = new eddy.serving.Coalescer((histories: number[][]) => forecaster.forecastMany(histories, 1), { maxBatch: 64 });
 * const [result] = await Promise.all([c.submit(history)]);
 * ```
 */
export class Coalescer<I, O> {
  /** The most requests one batch runs. */
  readonly maxBatch: number;
  /** How long the first waiting request waits for others, in milliseconds. */
  readonly maxDelayMs: number;
  /** The most requests waiting. */
  readonly maxQueue: number;
  private readonly onBatch?: (size: number) => void;
  private queue: Waiting<I, O>[] = [];
  private timer: { cancel(): void; immediate: boolean } | null = null;
  private running = 0;
  private closed = false;

  /**
   * @param run - Runs one batch: the requests' inputs in, one result per input out (in order).
   * @param opts - {@link CoalescerOptions}.
   * @throws {@link ValidationError} when `run` or an option is malformed.
   */
  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]> | O[],
    opts: CoalescerOptions = {},
  ) {
    if (typeof run !== 'function') throw new ValidationError(`Expected a function for run but received ${describe(run)}`);
    const o = checkOptions('opts', opts, COALESCER_OPTION_KEYS);
    this.maxBatch = checkInteger('opts.maxBatch', o.maxBatch ?? 32, 1, 65536);
    this.maxDelayMs = checkNumber('opts.maxDelayMs', o.maxDelayMs ?? 2, { min: 0, max: 60000 });
    this.maxQueue = checkInteger('opts.maxQueue', o.maxQueue ?? 1024, 1);
    if (o.onBatch !== undefined && typeof o.onBatch !== 'function') throw new ValidationError(`Expected a function for opts.onBatch but received ${describe(o.onBatch)}`);
    this.onBatch = o.onBatch;
  }

  /** Batches running now. */
  get batchesRunning(): number {
    return this.running;
  }

  /** Requests waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queues one request; it resolves with its own result once its batch has run.
   * @param input - The request's input, as `run` takes it.
   * @param signal - Cancels the request (an AbortError): an AbortSignal, or any {@link Abortable}.
   * @throws {@link OverloadedError} (as a rejection) when `maxQueue` requests are already waiting.
   * @throws {@link AbortError} (as a rejection) when `signal` aborts.
   */
  submit(input: I, signal?: Abortable): Promise<O> {
    if (this.closed) return Promise.reject(new ValidationError('Expected an open batcher but it was closed'));
    if (signal?.aborted) return Promise.reject(new AbortError('The request was aborted'));
    if (this.queue.length >= this.maxQueue) return Promise.reject(new OverloadedError(`The queue is full (${this.maxQueue} requests waiting); try again later`));
    return new Promise<O>((resolve, reject) => {
      const waiting: Waiting<I, O> = { input, resolve, reject, signal };
      if (signal) {
        waiting.onAbort = () => {
          const i = this.queue.indexOf(waiting);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new AbortError('The request was aborted'));
        };
        signal.addEventListener('abort', waiting.onAbort);
      }
      this.queue.push(waiting);
      this.flushSoon(this.queue.length >= this.maxBatch ? 0 : this.maxDelayMs);
    });
  }

  /** Refuses new requests; the queued ones still run. */
  close(): void {
    this.closed = true;
  }

  /** Runs the next batch after `delayMs`, or on the next turn of the event loop for 0 (a timer would wait at least 1 ms); an earlier run replaces a later one. */
  private flushSoon(delayMs: number): void {
    if (this.timer !== null) {
      if (delayMs > 0 || this.timer.immediate) return;
      this.timer.cancel();
    }
    const run = (): void => {
      this.timer = null;
      void this.flush();
    };
    if (delayMs > 0) {
      const handle = setTimeout(run, delayMs);
      this.timer = { cancel: () => clearTimeout(handle), immediate: false };
    } else {
      const handle = setImmediate(run);
      this.timer = { cancel: () => clearImmediate(handle), immediate: true };
    }
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) this.flushSoon(this.queue.length >= this.maxBatch ? 0 : this.maxDelayMs);
    if (batch.length === 0) return;
    for (const r of batch) if (r.onAbort) r.signal!.removeEventListener('abort', r.onAbort);
    this.running++;
    try {
      // One bad request must not fail its batch-mates: after a failed batch each member runs
      // again alone, and only those that fail alone reject, each with its own error.
      if (!(await this.runBatch(batch, batch.length === 1))) {
        for (const r of batch) {
          if (r.signal?.aborted) r.reject(new AbortError('The request was aborted'));
          else await this.runBatch([r], true);
        }
      }
    } finally {
      this.running--;
    }
  }

  /**
   * Runs one batch and settles its requests; when the run fails, rejects them only if
   * `rejectOnFailure` (else leaves them waiting). Returns whether the run succeeded.
   */
  private async runBatch(batch: Waiting<I, O>[], rejectOnFailure: boolean): Promise<boolean> {
    let out: O[];
    try {
      this.onBatch?.(batch.length);
      out = await this.run(batch.map((r) => r.input));
      if (!Array.isArray(out) || out.length !== batch.length) throw new ValidationError(`Expected ${batch.length} results (one per request) from the batch but received ${describe(out)}`);
    } catch (err) {
      if (rejectOnFailure) for (const r of batch) r.reject(err);
      return false;
    }
    batch.forEach((r, i) => {
      if (r.signal?.aborted) r.reject(new AbortError('The request was aborted'));
      else r.resolve(out[i]);
    });
    return true;
  }
}
