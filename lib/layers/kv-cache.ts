/**
 * Cached keys and values for step-by-step decoding: each new step's
 * projected key and value are appended, and attention reads the cache
 * through strided views, so no step re-projects the prefix. Storage is
 * [B, heads, capacity, headDim] and doubles when full.
 */
import { ValidationError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { describe, formatShape } from '../validate';

/** Checks `indices` (batch rows to keep, in order; rows may repeat) against a batch of `B`. */
export function checkRowIndices(indices: unknown, B: number): Int32Array {
  const ok = (Array.isArray(indices) || indices instanceof Int32Array) && (indices as ArrayLike<number>).length > 0;
  if (!ok) throw new ValidationError(`Expected indices to be a non-empty Int32Array or array of batch rows but received ${describe(indices)}`);
  const out = Int32Array.from(indices as ArrayLike<number>);
  out.forEach((v, i) => {
    if (!Number.isInteger((indices as ArrayLike<number>)[i]) || v < 0 || v >= B) {
      throw new ValidationError(`Expected indices between 0 and ${B - 1} (the batch rows) but received indices[${i}] = ${String((indices as ArrayLike<number>)[i])}`);
    }
  });
  return out;
}

/** Rows `indices` of a tensor's first dimension, as a new contiguous tensor. */
export function gatherRows(t: Tensor, indices: Int32Array): Tensor {
  const src = t.toFloat32Array();
  const row = t.shape.slice(1).reduce((a, d) => a * d, 1);
  const out = new Float32Array(indices.length * row);
  indices.forEach((r, i) => out.set(src.subarray(r * row, (r + 1) * row), i * row));
  return new Tensor(out, [indices.length, ...t.shape.slice(1)]);
}

export class KeyValueCache {
  private keys: Float32Array;
  private values: Float32Array;
  private capacity: number;
  /** Steps cached. */
  length = 0;

  constructor(
    readonly batch: number,
    readonly heads: number,
    readonly headDim: number,
    capacity = 16,
  ) {
    this.capacity = capacity;
    this.keys = new Float32Array(batch * heads * capacity * headDim);
    this.values = new Float32Array(batch * heads * capacity * headDim);
  }

  /** Appends n steps: k and v [B, heads, n, headDim], any layout. */
  append(k: Tensor, v: Tensor): void {
    const [B, H, n, D] = k.shape;
    if (B !== this.batch || H !== this.heads || D !== this.headDim || v.shape.join() !== k.shape.join()) {
      throw new ValidationError(`Expected keys and values of shape [${this.batch}, ${this.heads}, steps, ${this.headDim}] for the cache but received ${formatShape(k.shape)} and ${formatShape(v.shape)}`);
    }
    if (this.length + n > this.capacity) this.grow(Math.max(this.length + n, 2 * this.capacity));
    const kd = k.toFloat32Array(), vd = v.toFloat32Array();
    for (let bh = 0; bh < B * H; bh++) {
      const to = (bh * this.capacity + this.length) * D;
      this.keys.set(kd.subarray(bh * n * D, (bh + 1) * n * D), to);
      this.values.set(vd.subarray(bh * n * D, (bh + 1) * n * D), to);
    }
    this.length += n;
  }

  /** The cached keys, [B, heads, length, headDim] (a view: valid until the next append). */
  get k(): Tensor {
    return this.view(this.keys);
  }

  /** The cached values, like `k`. */
  get v(): Tensor {
    return this.view(this.values);
  }

  /** A cache holding rows `indices` of this one (beam search: reorder or expand the batch). */
  select(indices: Int32Array): KeyValueCache {
    const out = new KeyValueCache(indices.length, this.heads, this.headDim, this.capacity);
    const block = this.heads * this.capacity * this.headDim;
    indices.forEach((r, i) => {
      out.keys.set(this.keys.subarray(r * block, (r + 1) * block), i * block);
      out.values.set(this.values.subarray(r * block, (r + 1) * block), i * block);
    });
    out.length = this.length;
    return out;
  }

  private view(storage: Float32Array): Tensor {
    const { heads: H, capacity: C, headDim: D } = this;
    return new Tensor(storage, [this.batch, H, this.length, D], [H * C * D, C * D, D, 1]);
  }

  private grow(capacity: number): void {
    const { batch: B, heads: H, headDim: D } = this;
    const move = (old: Float32Array): Float32Array => {
      const next = new Float32Array(B * H * capacity * D);
      for (let bh = 0; bh < B * H; bh++) next.set(old.subarray(bh * this.capacity * D, (bh * this.capacity + this.length) * D), bh * capacity * D);
      return next;
    };
    this.keys = move(this.keys);
    this.values = move(this.values);
    this.capacity = capacity;
  }
}
