/**
 * Data-parallel training over MPI: what `fit({ distributed: true })` uses.
 * Gradients travel in buckets of about `bucketBytes`, last layers first
 * (the order backward finishes them, as Horovod and PyTorch DDP do); every
 * bucket's all-reduce is queued to the communication thread as soon as it
 * is packed, so packing and unpacking overlap the transfers of the others.
 */
import { DistributedError } from '../errors';
import type { DataParallel } from '../model/parallel';
import type { Model } from '../model/model';
import { denseData, Tensor } from '../tensor/tensor';
import { checkInteger, checkNumber } from '../validate';
import { allReduce, broadcast, CollectiveOptions, rank, worldSize } from './collectives';
import { checkKnownOptions } from './known-keys';

export interface DataParallelOptions {
  /** Gradient bytes per all-reduce bucket (a larger tensor travels alone). @default 26214400 (25 MiB, PyTorch DDP's default) */
  bucketBytes?: number;
  /** Seconds each collective waits for the other ranks. @default `init`'s timeout */
  timeout?: number;
}

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

export class MpiDataParallel implements DataParallel {
  readonly rank: number;
  readonly worldSize: number;
  private readonly bucketFloats: number;
  private readonly collective: CollectiveOptions;
  private buckets: Bucket[] = [];
  private bucketsFor: readonly Tensor[] = [];

  constructor(opts?: DataParallelOptions) {
    const o = checkKnownOptions('distributed', opts, ['bucketBytes', 'timeout']);
    this.bucketFloats = Math.max(1, Math.floor(checkInteger('bucketBytes', o.bucketBytes ?? 25 * 1024 * 1024, 4) / 4));
    this.collective = o.timeout === undefined ? {} : { timeout: checkNumber('timeout', o.timeout, { min: 0 }) };
    this.rank = rank();
    this.worldSize = worldSize();
  }

  async setup(model: Model): Promise<void> {
    await this.checkSameModel(model);
    const params = model.parameters().map((p) => p.data);
    for (const bucket of this.bucketsOf(params)) {
      pack(bucket, (t) => denseData(t), 1);
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

  async reduceGradients(params: readonly Tensor[], weight: number, total: number): Promise<void> {
    // Alone, the weighted mean is the gradient itself.
    if (this.worldSize === 1 && weight === total) return;
    const pending = this.bucketsOf(params).map((bucket) => {
      pack(bucket, (t) => (t.grad ? denseData(t.grad) : null), weight);
      return allReduce(bucket.buffer, 'sum', this.collective);
    });
    const scale = 1 / total;
    for (const [i, bucket] of this.bucketsOf(params).entries()) {
      await pending[i];
      let at = 0;
      for (const t of bucket.tensors) {
        const g = new Float32Array(t.size);
        for (let j = 0; j < t.size; j++) g[j] = bucket.buffer[at + j] * scale;
        t.grad = new Tensor(g, t.shape);
        at += t.size;
      }
    }
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
    return buckets;
  }
}

/** Copies `source(t) · weight` of every tensor of the bucket into its buffer (zeros where source gives null). */
function pack(bucket: Bucket, source: (t: Tensor) => Float32Array | null, weight: number): void {
  let at = 0;
  for (const t of bucket.tensors) {
    const src = source(t);
    if (!src) bucket.buffer.fill(0, at, at + t.size);
    else if (weight === 1) bucket.buffer.set(src, at);
    else for (let j = 0; j < t.size; j++) bucket.buffer[at + j] = src[j] * weight;
    at += t.size;
  }
}
