/**
 * Elementwise loops over strided views, with numpy broadcasting: the
 * machinery under the differentiable ops. Results are new contiguous
 * arrays; inputs are read through their strides and never copied first.
 */
import { binding } from '../native';
import { Tensor, checkAttached, contiguousStrides, shapeSize } from './tensor';

export type Shape = readonly number[];

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The numpy broadcast of two shapes (align right; a 1 stretches), or null when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 1; i <= rank; i++) {
    const x = i <= a.length ? a[a.length - i] : 1;
    const y = i <= b.length ? b[b.length - i] : 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out[rank - i] = x === 1 ? y : x;
  }
  return out;
}

/**
 * Strides that read a tensor of shape `from` as the broadcast shape `to`:
 * dimensions it lacks or has as 1 get stride 0, so one element repeats.
 */
export function broadcastStrides(from: Shape, strides: Shape, to: Shape): number[] {
  const out = new Array<number>(to.length).fill(0);
  const lead = to.length - from.length;
  for (let i = 0; i < from.length; i++) out[lead + i] = from[i] === 1 ? 0 : strides[i];
  return out;
}

/**
 * Walks `shape` in row-major order, one innermost row at a time, over
 * operands laid out by `strides[j]` starting at `offsets[j]`. `visit` gets
 * the row's first row-major index `k`, its length `n` and where the row
 * starts in each operand; within the row operand j advances by its last
 * stride (see `innerStride`). Iterative, so rank costs no stack.
 */
export function forEachRow(
  shape: Shape,
  strides: readonly Shape[],
  offsets: readonly number[],
  visit: (k: number, n: number, pos: readonly number[]) => void,
): void {
  const size = shapeSize(shape);
  if (size === 0) return;
  const rank = shape.length;
  const pos = offsets.slice();
  if (rank === 0) {
    visit(0, 1, pos);
    return;
  }
  const n = shape[rank - 1];
  const index = new Array<number>(rank).fill(0);
  for (let k = 0; k < size; k += n) {
    visit(k, n, pos);
    // Odometer over the outer dimensions.
    for (let d = rank - 2; d >= 0; d--) {
      for (let j = 0; j < pos.length; j++) pos[j] += strides[j][d];
      if (++index[d] < shape[d]) break;
      for (let j = 0; j < pos.length; j++) pos[j] -= strides[j][d] * shape[d];
      index[d] = 0;
    }
  }
}

/** The stride along the innermost dimension (0 for rank 0, where rows have one element). */
export function innerStride(strides: Shape): number {
  return strides.length === 0 ? 0 : strides[strides.length - 1];
}

/** f applied to every element, in row-major order. */
export function map(t: Tensor, f: (x: number) => number): Float32Array {
  const out = new Float32Array(t.size);
  const src = t.data;
  if (t.isContiguous()) {
    const o = t.offset;
    for (let i = 0; i < out.length; i++) out[i] = f(src[o + i]);
    return out;
  }
  const s = innerStride(t.strides);
  forEachRow(t.shape, [t.strides], [t.offset], (k, n, pos) => {
    const p = pos[0];
    for (let i = 0; i < n; i++) out[k + i] = f(src[p + i * s]);
  });
  return out;
}

/** f applied to pairs of elements of a and b broadcast to `shape` (which must be their broadcast shape). */
export function zip(a: Tensor, b: Tensor, shape: Shape, f: (x: number, y: number) => number): Float32Array {
  const out = new Float32Array(shapeSize(shape));
  const ad = a.data;
  const bd = b.data;
  const aFull = a.isContiguous() && sameShape(a.shape, shape);
  const bFull = b.isContiguous() && sameShape(b.shape, shape);
  if (aFull && (bFull || b.size === 1)) {
    const oa = a.offset;
    if (bFull) {
      const ob = b.offset;
      for (let i = 0; i < out.length; i++) out[i] = f(ad[oa + i], bd[ob + i]);
    } else {
      const y = bd[b.offset];
      for (let i = 0; i < out.length; i++) out[i] = f(ad[oa + i], y);
    }
    return out;
  }
  if (bFull && a.size === 1) {
    const x = ad[a.offset];
    const ob = b.offset;
    for (let i = 0; i < out.length; i++) out[i] = f(x, bd[ob + i]);
    return out;
  }
  const sa = broadcastStrides(a.shape, a.strides, shape);
  const sb = broadcastStrides(b.shape, b.strides, shape);
  const ia = innerStride(sa);
  const ib = innerStride(sb);
  forEachRow(shape, [sa, sb], [a.offset, b.offset], (k, n, pos) => {
    const pa = pos[0];
    const pb = pos[1];
    for (let i = 0; i < n; i++) out[k + i] = f(ad[pa + i * ia], bd[pb + i * ib]);
  });
  return out;
}

/** dst = src, elementwise; same shapes, any layouts (dst must not overlap itself). */
export function copyInto(dst: Tensor, src: Tensor): void {
  transfer(dst, src, false);
}

/** dst += src, elementwise; same shapes, any layouts (dst must not overlap itself). */
export function addInto(dst: Tensor, src: Tensor): void {
  transfer(dst, src, true);
}

/** Below this many elements a contiguous transfer stays in JavaScript (a native call costs about a microsecond). */
const NATIVE_TRANSFER_MIN = 2048;

function transfer(dst: Tensor, src: Tensor, accumulate: boolean): void {
  checkAttached('dst', dst);
  checkAttached('src', src);
  const dd = dst.data;
  const sd = src.data;
  const size = src.size;
  // Contiguous operands of one size in different buffers: one native pass
  // (accumulating gradients over steps adds whole parameters at a time).
  if (size >= NATIVE_TRANSFER_MIN && dst.size === size && dd.buffer !== sd.buffer && dst.isContiguous() && src.isContiguous()) {
    const d = dd.subarray(dst.offset, dst.offset + size);
    const v = sd.subarray(src.offset, src.offset + size);
    if (accumulate) binding.addArrays([d], [v]);
    else d.set(v);
    return;
  }
  const id = innerStride(dst.strides);
  const is = innerStride(src.strides);
  forEachRow(src.shape, [dst.strides, src.strides], [dst.offset, src.offset], (_, n, pos) => {
    const pd = pos[0];
    const ps = pos[1];
    if (accumulate) for (let i = 0; i < n; i++) dd[pd + i * id] += sd[ps + i * is];
    else for (let i = 0; i < n; i++) dd[pd + i * id] = sd[ps + i * is];
  });
}

/** `t` repeated along broadcast dimensions to `shape`, as a new contiguous tensor. */
export function expandTo(t: Tensor, shape: Shape): Tensor {
  return new Tensor(new Tensor(t.data, shape, broadcastStrides(t.shape, t.strides, shape), t.offset).toFloat32Array(), shape);
}

/**
 * The inverse of broadcasting for gradients: sums `g` (of a broadcast shape)
 * over the dimensions that `shape` lacks or has as 1. Accumulates in float64,
 * since a broadcast dimension can fold thousands of terms into one.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const acc = new Float64Array(shapeSize(shape));
  const gd = g.data;
  const sa = broadcastStrides(shape, contiguousStrides(shape), g.shape);
  const ia = innerStride(sa);
  const ig = innerStride(g.strides);
  forEachRow(g.shape, [sa, g.strides], [0, g.offset], (_, n, pos) => {
    const pa = pos[0];
    const pg = pos[1];
    for (let i = 0; i < n; i++) acc[pa + i * ia] += gd[pg + i * ig];
  });
  return new Tensor(Float32Array.from(acc), shape);
}
