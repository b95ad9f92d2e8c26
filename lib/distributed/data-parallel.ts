/**
 * Data-parallel training over MPI: what `fit({ distributed: true })` uses.
 * Gradients travel in buckets of about `bucketBytes`, last layers first
 * (the order backward finishes them, as Horovod and PyTorch DDP do); a
 * bucket's all-reduce is queued to the communication thread as soon as
 * backward has completed its gradients, so it travels while backward works
 * on the earlier layers.
 */
import { DistributedError } from '../errors';
import type { DataParallel, GradientReduction } from '../model/parallel';
import type { Model } from '../model/model';
import { binding } from '../native';
import { denseData, Tensor } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOptions, optionKeys } from '../validate';
import { allReduce, broadcast, CollectiveOptions, collectiveTimeout, rank, reduceScaled, worldSize } from './collectives';

/** The options of {@link dataParallel} and of `fit({ distributed: options })`. */
export interface DataParallelOptions {
  /** Gradient bytes per all-reduce bucket (a larger tensor travels alone). @default 26214400 (25 MiB, PyTorch DDP's default) */
  bucketBytes?: number;
  /** Seconds each collective waits for the other ranks. @default `init`'s timeout */
  timeout?: number;
}

const DATA_PARALLEL_OPTION_KEYS = optionKeys<DataParallelOptions>({ bucketBytes: true, timeout: true });

/** A run of consecutive tensors that travel in one all-reduce. */
interface Bucket {
  tensors: Tensor[];
  buffer: Float32Array;
}

/** Bytes of a rank's model description exchanged when the replicas differ. */
const DESCRIPTION_BYTES = 480;

/** FNV-1a over the UTF-16 code units: equal on every rank for equal text. */
function fingerprint(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function describeModel(model: Model): { summary: string; layout: string } {
  const named = model.namedParameters();
  const values = named.reduce((a, [, p]) => a + p.data.size, 0);
  const layout = named.map(([n, p]) => `${n}[${p.shape.join('x')}]`).join(', ');
  return { summary: `${model.toString()} with ${named.length} parameter tensors (${values} values): ${layout}`, layout };
}

/**
 * Data-parallel training over MPI: the {@link DataParallel} that `fit({ distributed: true })` uses
 * after {@link init}. Build one with {@link dataParallel} to pass options.
 */
export class MpiDataParallel implements DataParallel {
  readonly rank: number;
  readonly worldSize: number;
  private readonly bucketFloats: number;
  private readonly collective: CollectiveOptions;
  private buckets: Bucket[] = [];
  private bucketsFor: readonly Tensor[] = [];
  private bucketIndex = new Map<Tensor, number>();

  /**
   * @param opts - {@link DataParallelOptions}.
   * @throws {@link DistributedError} when {@link init} has not run.
   */
  constructor(opts?: DataParallelOptions) {
    const o = checkOptions('distributed', opts, DATA_PARALLEL_OPTION_KEYS) as DataParallelOptions;
    this.bucketFloats = Math.max(1, Math.floor(checkInteger('bucketBytes', o.bucketBytes ?? 25 * 1024 * 1024, 4) / 4));
    this.collective = o.timeout === undefined ? {} : { timeout: checkNumber('timeout', o.timeout, { min: 0 }) };
    this.rank = rank();
    this.worldSize = worldSize();
  }

  async setup(model: Model): Promise<void> {
    await this.checkSameModel(model);
    const params = model.parameters().map((p) => p.data);
    for (const bucket of this.bucketsOf(params)) {
      pack(bucket, (t) => denseData(t));
      await broadcast(bucket.buffer, 0, this.collective);
      let at = 0;
      for (const t of bucket.tensors) {
        t.data.set(bucket.buffer.subarray(at, at + t.size), t.offset);
        at += t.size;
      }
    }
  }

  /** Fails on every rank, naming rank 0's model and the first differing rank's, when the replicas' descriptions differ. */
  private async checkSameModel(model: Model): Promise<void> {
    const { summary } = describeModel(model);
    const h = fingerprint(summary);
    const range = await allReduce(Float64Array.of(h, -h), 'max', this.collective);
    if (range[0] === -range[1]) return;
    const all = new Int32Array(this.worldSize * DESCRIPTION_BYTES);
    const mine = Buffer.from(summary.length > DESCRIPTION_BYTES - 1 ? summary.slice(0, DESCRIPTION_BYTES - 2) + '…' : summary, 'utf8').subarray(0, DESCRIPTION_BYTES);
    all.set(mine, this.rank * DESCRIPTION_BYTES);
    await allReduce(all, 'sum', this.collective);
    const text = (r: number): string => Buffer.from(Uint8Array.from(all.subarray(r * DESCRIPTION_BYTES, (r + 1) * DESCRIPTION_BYTES))).toString('utf8').replace(/\0+$/, '');
    const first = text(0);
    let other = 1;
    while (other < this.worldSize - 1 && text(other) === first) other++;
    throw new DistributedError(`The model differs between ranks: rank 0 has ${first} but rank ${other} has ${text(other)}`, 'ERR_EDDY_DISTRIBUTED_MISMATCH');
  }

  sum(values: Float64Array): Promise<Float64Array> {
    return allReduce(values, 'sum', this.collective);
  }

  gradients(params: readonly Tensor[], weight: number): GradientReduction {
    const buckets = this.bucketsOf(params);
    // Alone, the weighted mean is the gradient itself.
    if (this.worldSize === 1) return { ready: () => undefined, finish: async (total) => (total === weight ? undefined : this.scaleAlone(params, weight / total)) };
    const missing = buckets.map((b) => b.tensors.length);
    const grads = new Map<Tensor, Float32Array>();
    const started: Promise<void>[] = [];
    const timeout = collectiveTimeout(this.collective);
    // Buckets start strictly in order, each once it and all before it are
    // complete, so every rank issues the same all-reduces in the same order
    // whatever the order its gradients completed in.
    const launch = (): void => {
      while (started.length < buckets.length && missing[started.length] === 0) {
        const bucket = buckets[started.length];
        pack(bucket, (t) => grads.get(t) ?? null);
        // Weighted on the communication thread while it waits for the other ranks: a row count is
        // exact in float32, so each element is the rounded exact product on every rank.
        started.push(reduceScaled(bucket.buffer, 0, timeout, weight, 1));
      }
    };
    return {
      ready: (t, g) => {
        const b = this.bucketIndex.get(t);
        if (b === undefined || grads.has(t)) return;
        grads.set(t, denseData(g));
        missing[b]--;
        launch();
      },
      finish: async (total) => {
        missing.fill(0);
        launch();
        for (const [i, bucket] of buckets.entries()) {
          await started[i];
          // Scaled in one native pass, then copied out: JavaScript's element loop took as long as the all-reduce.
          binding.scaleArrays([bucket.buffer], 1 / total);
          let at = 0;
          for (const t of bucket.tensors) {
            const n = t.size;
            // The gradient backward just made for this step is this module's to overwrite; a
            // parameter backward did not reach gets a new one.
            const own = t.grad !== null && t.grad.isContiguous() && t.grad.size === n;
            const g = own ? denseData(t.grad as Tensor) : new Float32Array(n);
            g.set(bucket.buffer.subarray(at, at + n));
            if (!own) t.grad = new Tensor(g, t.shape);
            at += n;
          }
        }
      },
    };
  }

  /** One process whose weight is not the total (a caller's choice): the gradients scaled in place. */
  private scaleAlone(params: readonly Tensor[], factor: number): void {
    for (const t of params) if (t.grad) t.grad = new Tensor(Float32Array.from(t.grad.toFloat32Array(), (v) => v * factor), t.shape);
  }

  async agree(flag: boolean): Promise<boolean> {
    const v = await broadcast(Int32Array.of(flag ? 1 : 0), 0, this.collective);
    return v[0] === 1;
  }

  /** Buckets of at most bucketFloats values over `params` in reverse order, made once per parameter list. */
  private bucketsOf(params: readonly Tensor[]): Bucket[] {
    const same = params.length === this.bucketsFor.length && params.every((p, i) => p === this.bucketsFor[i]);
    if (same) return this.buckets;
    const buckets: Bucket[] = [];
    let current: Tensor[] = [];
    let size = 0;
    const close = (): void => {
      if (current.length) buckets.push({ tensors: current, buffer: new Float32Array(size) });
      current = [];
      size = 0;
    };
    for (let i = params.length - 1; i >= 0; i--) {
      const t = params[i];
      if (size > 0 && size + t.size > this.bucketFloats) close();
      current.push(t);
      size += t.size;
    }
    close();
    this.buckets = buckets;
    this.bucketsFor = [...params];
    this.bucketIndex = new Map(buckets.flatMap((b, i) => b.tensors.map((t) => [t, i] as [Tensor, number])));
    return buckets;
  }
}

/** Copies `source(t)` of every tensor of the bucket into its buffer, zeros where source gives null. */
function pack(bucket: Bucket, source: (t: Tensor) => Float32Array | null): void {
  let at = 0;
  for (const t of bucket.tensors) {
    const n = t.size; // a getter: read once, not per element
    const src = source(t);
    const dst = bucket.buffer.subarray(at, at + n);
    if (!src) dst.fill(0);
    else dst.set(src);
    at += n;
  }
}
