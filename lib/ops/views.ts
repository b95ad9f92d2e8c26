/**
 * View ops: reshape, transpose, slice, select. The geometry lives in the
 * Tensor methods (which return views sharing storage); these function forms
 * call them, and `recordView` gives them all one backward.
 */
import { recordSingleOutput } from '../autograd/tape';
import { Tensor, checkTensor, zeros } from '../tensor/tensor';
import { copyInto } from '../tensor/strided';

/**
 * Records `view`, computed from `source` by a view op, for autograd. The
 * backward needs no formula of its own: the source's gradient is zero except
 * where the view looks, and `project` (the same view op applied to a zero
 * tensor shaped like the source) says where that is. Views that repeat no
 * element (all of these) make this a plain copy.
 */
export function recordView(name: string, source: Tensor, view: Tensor, project: (t: Tensor) => Tensor): void {
  recordSingleOutput(name, [source], view, (g) => {
    const gradSource = zeros(source.shape);
    copyInto(project(gradSource), g);
    return [gradSource];
  });
}

/**
 * `t.reshape(shape)`: same elements, new shape; a view when `t` is contiguous. One dimension may be
 * -1.
 * @param t - The input.
 * @param shape - The new shape, with as many elements.
 * @throws {@link ShapeError} when the sizes differ.
 */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  return checkTensor('t', t).reshape(shape);
}

/**
 * `t.transpose(dim0, dim1)`: a view with two dimensions swapped.
 * @param t - The input.
 * @param dim0 - One axis (negative counts from the end).
 * @param dim1 - The other axis.
 */
export function transpose(t: Tensor, dim0 = -2, dim1 = -1): Tensor {
  return checkTensor('t', t).transpose(dim0, dim1);
}

/**
 * `t.slice(dim, start, end)`: a view of elements start..end-1 along dim.
 * @param t - The input.
 * @param dim - The axis.
 * @param start - The first index kept.
 * @param end - One past the last index kept; the axis's size when omitted.
 */
export function slice(t: Tensor, dim: number, start: number, end?: number): Tensor {
  return checkTensor('t', t).slice(dim, start, end);
}

/**
 * `t.select(dim, index)`: a view of one index along dim, with that dimension removed.
 * @param t - The input.
 * @param dim - The axis.
 * @param index - The index kept.
 */
export function select(t: Tensor, dim: number, index: number): Tensor {
  return checkTensor('t', t).select(dim, index);
}
