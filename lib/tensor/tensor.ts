/**
 * Tensor: an n-dimensional float32 view over a Float32Array.
 *
 * A tensor is (storage, shape, strides, offset), so transposes, slices and
 * selections are views that share storage with their source; `contiguous()`
 * copies only when the layout demands it. Kernels receive storage plus
 * offsets and leading dimensions, never copies made for their sake.
 */
import type { BackwardOptions } from '../autograd/backward';
import type { GradNode } from '../autograd/node';
import { ShapeError, ValidationError } from '../errors';
import { checkBoolean, checkDim, checkInteger, checkOneOf, checkOptions, checkShape, describe, fail, formatShape, optionKeys } from '../validate';

/** A number or nested arrays of numbers, as `tensor([[1, 2], [3, 4]])` takes them. */
export type NestedArray = number | readonly NestedArray[];
/** Element types: Eddy computes in float32. */
export type DType = 'float32';

/** Options of `tensor()` and `zeros()`. */
export interface TensorOptions {
  /** Element type; Eddy computes in float32. @default 'float32' */
  dtype?: DType;
  /** Record operations on this tensor so `backward()` fills its `grad`. @default false */
  requiresGrad?: boolean;
}

/** The keys of TensorOptions, for checkOptions. */
export const TENSOR_OPTION_KEYS = optionKeys<TensorOptions>({ dtype: true, requiresGrad: true });

/** Row-major strides for a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * An n-dimensional float32 array: a view (shape, strides, offset) on a
 * Float32Array, with autograd (`requiresGrad`, `grad`, `backward()`).
 */
export class Tensor {
  /** Backing storage, possibly shared with other views. */
  readonly data: Float32Array;
  /** Size of each dimension. */
  readonly shape: readonly number[];
  /** Elements to skip in `data` for one step along each dimension. */
  readonly strides: readonly number[];
  /** Index in `data` of the first element. */
  readonly offset: number;

  /** Whether operations on this tensor are recorded for `backward()`. Change it on leaves with `requiresGrad_()`. */
  requiresGrad = false;
  /** The gradient accumulated by `backward()` (leaves only); it adds up until `zeroGrad()`. */
  grad: Tensor | null = null;
  /** The recorded operation that produced this tensor; null for leaves. Set by `record()`. */
  gradFn: GradNode | null = null;
  /** Which output of `gradFn` this tensor is. */
  outputIndex = 0;

  /**
   * Wraps storage without copying. Prefer `eddy.tensor()`, which validates
   * its arguments; this constructor trusts them.
   * @param data - The storage, kept (not copied).
   * @param shape - The tensor's shape.
   * @param strides - Elements between neighbours along each axis; row-major (contiguous) when
   *   omitted.
   * @param offset - Where the first element sits in `data`.
   */
  constructor(data: Float32Array, shape: readonly number[], strides?: readonly number[], offset = 0) {
    this.data = data;
    this.shape = Object.freeze(shape.slice());
    this.strides = Object.freeze(strides ? strides.slice() : contiguousStrides(shape));
    this.offset = offset;
  }

  /** The element type (always float32). */
  get dtype(): DType {
    return 'float32';
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return shapeSize(this.shape);
  }

  /** True when elements are laid out row-major without gaps. */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected) return false;
      expected *= this.shape[i];
    }
    return true;
  }

  /** This tensor if contiguous, otherwise a contiguous copy. */
  contiguous(): Tensor {
    return this.isContiguous() ? this : this.recordedView('contiguous', new Tensor(this.toFloat32Array(), this.shape), (g) => g);
  }

  /** A new Float32Array holding the elements in row-major order. */
  toFloat32Array(): Float32Array {
    checkAttached('tensor', this);
    const out = new Float32Array(this.size);
    if (out.length === 0) return out;
    if (this.isContiguous()) {
      out.set(this.data.subarray(this.offset, this.offset + out.length));
      return out;
    }
    let k = 0;
    const { data, shape, strides } = this;
    const last = shape.length - 1;
    const walk = (dim: number, base: number): void => {
      const n = shape[dim];
      const s = strides[dim];
      if (dim === last) {
        for (let i = 0; i < n; i++) out[k++] = data[base + i * s];
      } else {
        for (let i = 0; i < n; i++) walk(dim + 1, base + i * s);
      }
    };
    walk(0, this.offset);
    return out;
  }

  /** The elements as nested arrays of numbers (a number for rank 0). */
  toArray(): NestedArray {
    const flat = this.toFloat32Array();
    if (this.rank === 0) return flat[0];
    let k = 0;
    const build = (dim: number): NestedArray[] => {
      const n = this.shape[dim];
      const out = new Array<NestedArray>(n);
      for (let i = 0; i < n; i++) out[i] = dim === this.rank - 1 ? flat[k++] : build(dim + 1);
      return out;
    };
    return build(0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new ShapeError(`Expected a tensor with one element for item() but received shape ${formatShape(this.shape)}`);
    }
    return this.data[this.offset];
  }

  /**
   * The element at the given indices (negative indices count from the end).
   * @param indices - One index per axis.
   * @throws {@link ShapeError} when the number of indices is not the rank.
   * @throws {@link ValidationError} when an index is out of range.
   */
  get(...indices: number[]): number {
    if (indices.length !== this.rank) {
      throw new ShapeError(`Expected ${this.rank} indices for get() on shape ${formatShape(this.shape)} but received ${indices.length}`);
    }
    let pos = this.offset;
    for (let i = 0; i < indices.length; i++) pos += this.normalizeIndex(`indices[${i}]`, indices[i], i) * this.strides[i];
    return this.data[pos];
  }

  /**
   * Same elements, new shape; a view when contiguous. One dimension may be -1.
   * @param shape - The new shape, with as many elements.
   * @throws {@link ShapeError} when the sizes differ.
   */
  reshape(shape: readonly number[]): Tensor {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= -1)) {
      fail('an array of non-negative integers (one may be -1)', 'shape', shape);
    }
    const resolved = shape.slice();
    const unknown = resolved.indexOf(-1);
    if (unknown !== -1) {
      if (resolved.indexOf(-1, unknown + 1) !== -1) fail('at most one -1', 'shape', shape);
      const known = shapeSize(resolved.filter((d) => d !== -1));
      if (known === 0 || this.size % known !== 0) {
        throw new ShapeError(`Cannot reshape tensor of shape ${formatShape(this.shape)} (${this.size} elements) to ${formatShape(shape)}`);
      }
      resolved[unknown] = this.size / known;
    }
    if (shapeSize(resolved) !== this.size) {
      throw new ShapeError(`Cannot reshape tensor of shape ${formatShape(this.shape)} (${this.size} elements) to ${formatShape(shape)}`);
    }
    // Not this.contiguous(): that would record a node of its own.
    const out = this.isContiguous()
      ? new Tensor(this.data, resolved, undefined, this.offset)
      : new Tensor(this.toFloat32Array(), resolved);
    return this.recordedView('reshape', out, (g) => g.reshape(resolved));
  }

  /**
   * A view with dimensions dim0 and dim1 swapped.
   * @param dim0 - One axis (negative counts from the end).
   * @param dim1 - The other axis.
   */
  transpose(dim0 = -2, dim1 = -1): Tensor {
    const a = this.normalizeDim('dim0', dim0);
    const b = this.normalizeDim('dim1', dim1);
    const shape = this.shape.slice();
    const strides = this.strides.slice();
    [shape[a], shape[b]] = [shape[b], shape[a]];
    [strides[a], strides[b]] = [strides[b], strides[a]];
    return this.recordedView('transpose', new Tensor(this.data, shape, strides, this.offset), (g) => g.transpose(a, b));
  }

  /** The transpose of a 2-D tensor (a view). */
  get T(): Tensor {
    if (this.rank !== 2) throw new ShapeError(`Expected a 2-D tensor for .T but received shape ${formatShape(this.shape)}`);
    return this.transpose(0, 1);
  }

  /**
   * A view of elements start..end-1 along dim (negative values count from the end).
   * @param dim - The axis.
   * @param start - The first index kept.
   * @param end - One past the last index kept; the axis's size when omitted.
   */
  slice(dim: number, start: number, end?: number): Tensor {
    const d = this.normalizeDim('dim', dim);
    const n = this.shape[d];
    const clamp = (name: string, v: number): number => {
      checkInteger(name, v);
      return Math.min(n, Math.max(0, v < 0 ? v + n : v));
    };
    const s = clamp('start', start);
    const e = end === undefined ? n : clamp('end', end);
    const shape = this.shape.slice();
    shape[d] = Math.max(0, e - s);
    return this.recordedView('slice', new Tensor(this.data, shape, this.strides, this.offset + s * this.strides[d]), (g) => g.slice(d, s, e));
  }

  /**
   * A view of index along dim, with that dimension removed.
   * @param dim - The axis.
   * @param index - The index kept.
   */
  select(dim: number, index: number): Tensor {
    const d = this.normalizeDim('dim', dim);
    const i = this.normalizeIndex('index', index, d);
    const shape = this.shape.filter((_, k) => k !== d);
    const strides = this.strides.filter((_, k) => k !== d);
    return this.recordedView('select', new Tensor(this.data, shape, strides, this.offset + i * this.strides[d]), (g) => g.select(d, i));
  }

  // ---- autograd (see lib/autograd/tape.ts) ----

  /** True for tensors not produced by a recorded operation: the ones `backward()` fills `grad` on. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /**
   * Computes the gradient of this tensor with respect to the leaves it was
   * computed from and adds it to their `grad`. `grad` (the upstream
   * gradient, same shape as this) may be omitted only for one-element
   * tensors, where it is 1.
   * @param grad - The upstream gradient, shaped like this tensor.
   * @param opts - {@link BackwardOptions}.
   * @throws {@link ShapeError} when `grad` has the wrong shape.
   * @example
   * ```ts
   * const loss = eddy.losses.mse(model.forward(x) as eddy.Tensor, y);
   * loss.backward(); // fills every parameter's grad
   * ```
   */
  backward(grad?: Tensor | null, opts?: BackwardOptions): void {
    lazy.backward().backwardFrom(this, grad, opts);
  }

  /** Clears the accumulated gradient. */
  zeroGrad(): void {
    this.grad = null;
  }

  /** A view sharing this tensor's storage but outside any graph: it does not require grad. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.strides, this.offset);
  }

  /**
   * Sets `requiresGrad` on a leaf and returns it, for chaining.
   * @param flag - Whether the tensor requires grad.
   * @throws {@link ValidationError} when the tensor is not a leaf.
   */
  requiresGrad_(flag = true): this {
    checkBoolean('flag', flag);
    if (this.gradFn !== null) {
      throw new ValidationError(
        `Expected a leaf tensor for requiresGrad_() but received the output of ${this.gradFn.name} (use detach() for a leaf sharing its data)`,
      );
    }
    this.requiresGrad = flag;
    return this;
  }

  /**
   * `eddy.add(this, other)`.
   * @param other - The second operand.
   */
  add(other: Tensor | number): Tensor {
    return lazy.arithmetic().add(this, other);
  }

  /**
   * `eddy.sub(this, other)`.
   * @param other - The second operand.
   */
  sub(other: Tensor | number): Tensor {
    return lazy.arithmetic().sub(this, other);
  }

  /**
   * `eddy.mul(this, other)`.
   * @param other - The second operand.
   */
  mul(other: Tensor | number): Tensor {
    return lazy.arithmetic().mul(this, other);
  }

  /**
   * `eddy.div(this, other)`.
   * @param other - The divisor.
   */
  div(other: Tensor | number): Tensor {
    return lazy.arithmetic().div(this, other);
  }

  /** `eddy.neg(this)`. */
  neg(): Tensor {
    return lazy.arithmetic().neg(this);
  }

  /**
   * `eddy.matmul(this, other)`.
   * @param other - The right-hand matrix.
   */
  matmul(other: Tensor): Tensor {
    return lazy.matmul().matmul(this, other);
  }

  /**
   * `eddy.sum(this, dim, keepDim)`.
   * @param dim - The axis; all when omitted.
   * @param keepDim - Keep the reduced axis with size 1.
   */
  sum(dim?: number, keepDim?: boolean): Tensor {
    return lazy.reductions().sum(this, dim, keepDim);
  }

  /**
   * `eddy.mean(this, dim, keepDim)`.
   * @param dim - The axis; all when omitted.
   * @param keepDim - Keep the reduced axis with size 1.
   */
  mean(dim?: number, keepDim?: boolean): Tensor {
    return lazy.reductions().mean(this, dim, keepDim);
  }

  /** `Tensor(shape=[…], dtype=float32)`. */
  toString(): string {
    return `Tensor(shape=${formatShape(this.shape)}, dtype=float32)`;
  }

  /**
   * Returns `out`, a view (or copy) of this tensor, after recording it for
   * autograd. `project` applies the same view to a tensor shaped like this
   * one: that is all the backward of a view needs (see lib/ops/views.ts).
   */
  private recordedView(name: string, out: Tensor, project: (source: Tensor) => Tensor): Tensor {
    if (this.requiresGrad) lazy.views().recordView(name, this, out, project);
    return out;
  }

  private normalizeDim(name: string, dim: number): number {
    return checkDim(name, dim, this.rank);
  }

  private normalizeIndex(name: string, index: number, dim: number): number {
    checkInteger(name, index);
    const n = this.shape[dim];
    const i = index < 0 ? index + n : index;
    if (i < 0 || i >= n) {
      throw new ValidationError(`Expected ${name} between ${-n} and ${n - 1} for dimension ${dim} of size ${n} but received ${index}`);
    }
    return i;
  }
}

/**
 * The autograd and op modules behind some Tensor methods. They import this
 * file, so importing them here would be a cycle; they are required on first
 * use instead, once.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy = {
  backward: once((): typeof import('../autograd/backward') => require('../autograd/backward')),
  arithmetic: once((): typeof import('../ops/arithmetic') => require('../ops/arithmetic')),
  matmul: once((): typeof import('../ops/matmul') => require('../ops/matmul')),
  reductions: once((): typeof import('../ops/reductions') => require('../ops/reductions')),
  views: once((): typeof import('../ops/views') => require('../ops/views')),
};
/* eslint-enable @typescript-eslint/no-require-imports */

function once<T>(load: () => T): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load());
}

/**
 * A Float32Array of n elements whose contents are whatever its memory held:
 * only for a kernel that writes every element before anything reads it.
 * Large outputs skip the zero fill a `new Float32Array(n)` pays.
 */
export function unfilledFloats(n: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(n * Float32Array.BYTES_PER_ELEMENT);
  return new Float32Array(bytes.buffer, bytes.byteOffset, n);
}

/**
 * The elements of `t` as an exactly-sized row-major Float32Array: a view of
 * its storage when it is contiguous (so writes go through), else a copy.
 */
export function denseData(t: Tensor): Float32Array {
  checkAttached('tensor', t);
  if (!t.isContiguous()) return t.toFloat32Array();
  return t.offset === 0 && t.data.length === t.size ? t.data : t.data.subarray(t.offset, t.offset + t.size);
}

/** Checks that `value` is a Tensor, in the usual message shape. */
export function checkTensor(name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) fail('Tensor', name, value);
  return checkAttached(name, value);
}

/**
 * Refuses a tensor whose ArrayBuffer was detached (transferred to a worker,
 * or moved by structuredClone): its array then reads as empty, and
 * arithmetic on it would quietly give NaN.
 */
export function checkAttached(name: string, t: Tensor): Tensor {
  if (t.data.length === 0 && t.size > 0) {
    throw new ValidationError(`Expected ${name} to hold its ${t.size} elements but its ArrayBuffer was detached (transferred or moved by structuredClone)`);
  }
  return t;
}

/** Infers the shape of nested arrays and flattens them, checking every element. */
function flattenNested(data: readonly NestedArray[]): { values: Float32Array; shape: number[] } {
  const shape: number[] = [];
  for (let level: NestedArray = data; Array.isArray(level); level = (level as NestedArray[])[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values = new Float32Array(shapeSize(shape));
  let k = 0;
  const walk = (node: NestedArray, dim: number, path: number[]): void => {
    const where = `data${path.map((i) => `[${i}]`).join('')}`;
    if (dim === shape.length) {
      if (typeof node !== 'number') fail('number', where, node);
      values[k++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[dim]) {
      throw new ShapeError(
        `Expected nested arrays of equal length for data but ${where} is ${Array.isArray(node) ? `of length ${node.length}, not ${shape[dim]}` : describe(node)}`,
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], dim + 1, [...path, i]);
  };
  walk(data, 0, []);
  return { values, shape };
}

/** What `tensor()` accepts: a typed or plain array (flat with a shape, or nested), or a scalar. */
export type TensorData = Float32Array | ArrayLike<number> | readonly NestedArray[] | number;

function isNumericTypedArray(x: unknown): x is ArrayLike<number> {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);
}

/**
 * Creates a tensor. A Float32Array is used as storage without copying; other
 * typed arrays and (nested) arrays of numbers are copied. `shape` defaults
 * to the nesting of `data` (or its length for flat data).
 *
 * ```ts
 * eddy.tensor([[1, 2], [3, 4]])               // shape [2, 2]
 * eddy.tensor(new Float32Array(6), [2, 3])    // zero copy
 * ```
 * @param data - The values: a Float32Array (kept), another typed array, a number, or nested arrays
 *   of numbers.
 * @param shape - The shape; inferred from `data` when omitted.
 * @param opts - {@link TensorOptions}.
 * @throws {@link ShapeError} when `shape` does not hold as many elements as `data`.
 * @throws {@link ValidationError} when `data` is not numeric or nested arrays are ragged.
 */
export function tensor(data: TensorData, shape?: readonly number[], opts?: TensorOptions): Tensor {
  const options = checkOptions('opts', opts, TENSOR_OPTION_KEYS);
  if (options.dtype !== undefined) checkOneOf('opts.dtype', options.dtype, ['float32'] as const);
  const requiresGrad = options.requiresGrad === undefined ? false : checkBoolean('opts.requiresGrad', options.requiresGrad);
  let values: Float32Array;
  let inferred: number[];
  if (data instanceof Float32Array) {
    values = data;
    inferred = [data.length];
  } else if (typeof data === 'number') {
    values = Float32Array.of(data);
    inferred = [];
  } else if (isNumericTypedArray(data)) {
    values = Float32Array.from(data);
    inferred = [data.length];
  } else if (Array.isArray(data)) {
    ({ values, shape: inferred } = flattenNested(data));
  } else {
    fail('Float32Array, typed array, number or (nested) array of numbers', 'data', data);
  }
  let dims = inferred;
  if (shape !== undefined) {
    dims = checkShape('shape', shape);
    const size = shapeSize(dims);
    if (size !== values.length) {
      throw new ShapeError(`Expected data of length ${size} for shape ${formatShape(dims)} but received length ${values.length}`);
    }
  }
  return new Tensor(values, dims).requiresGrad_(requiresGrad);
}

/**
 * A tensor of zeros.
 * @param shape - The shape.
 * @throws {@link ValidationError} when the shape is malformed.
 */
export function zeros(shape: readonly number[]): Tensor {
  const dims = checkShape('shape', shape);
  return new Tensor(new Float32Array(shapeSize(dims)), dims);
}
