/**
 * concat and stack: several tensors into one new tensor. Each input is
 * copied into a view of the output, and its gradient is the matching view
 * of the output's gradient.
 */
import { record } from '../autograd/tape';
import { ShapeError } from '../errors';
import { Tensor, checkTensor, zeros } from '../tensor/tensor';
import { checkDim, fail, formatShape } from '../validate';
import { copyInto } from '../tensor/strided';

function checkTensors(tensors: unknown): Tensor[] {
  if (!Array.isArray(tensors) || tensors.length === 0) fail('a non-empty array of tensors', 'tensors', tensors);
  return tensors.map((t, i) => checkTensor(`tensors[${i}]`, t));
}

/** Records one node for all inputs; `part(g, i)` is the part of the output gradient that belongs to input i. */
function recordJoin(name: string, inputs: Tensor[], out: Tensor, part: (g: Tensor, i: number) => Tensor): void {
  record(name, inputs, [out], ([g]) => inputs.map((t, i) => (t.requiresGrad ? part(g as Tensor, i) : null)));
}

/**
 * Joins tensors along an existing dimension; the others must match.
 * @param tensors - The tensors to join; the other dimensions must agree.
 * @param dim - The axis to join along (negative counts from the end).
 * @throws {@link ShapeError} when the other dimensions differ.
 */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  const inputs = checkTensors(tensors);
  const first = inputs[0].shape;
  const d = checkDim('dim', dim, first.length);
  inputs.forEach((t, i) => {
    if (t.rank !== first.length || t.shape.some((n, k) => k !== d && n !== first[k])) {
      const expected = first.map((n, k) => (k === d ? '*' : String(n))).join(', ');
      throw new ShapeError(`Expected tensors[${i}] of shape [${expected}] for concat along dim ${d} but received ${formatShape(t.shape)}`);
    }
  });
  const starts: number[] = [];
  let length = 0;
  for (const t of inputs) {
    starts.push(length);
    length += t.shape[d];
  }
  const shape = first.slice();
  shape[d] = length;
  const out = zeros(shape);
  inputs.forEach((t, i) => copyInto(out.slice(d, starts[i], starts[i] + t.shape[d]), t));
  recordJoin('concat', inputs, out, (g, i) => g.slice(d, starts[i], starts[i] + inputs[i].shape[d]));
  return out;
}

/**
 * Joins tensors of one shape along a new dimension inserted at `dim`.
 * @param tensors - Tensors of one shape.
 * @param dim - Where the new axis goes (negative counts from the end).
 * @throws {@link ShapeError} when the shapes differ.
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  const inputs = checkTensors(tensors);
  const first = inputs[0].shape;
  const d = checkDim('dim', dim, first.length + 1, `stacking tensors of rank ${first.length}`);
  inputs.forEach((t, i) => {
    if (t.rank !== first.length || t.shape.some((n, k) => n !== first[k])) {
      throw new ShapeError(`Expected tensors[${i}] of shape ${formatShape(first)} for stack but received ${formatShape(t.shape)}`);
    }
  });
  const shape = first.slice();
  shape.splice(d, 0, inputs.length);
  const out = zeros(shape);
  inputs.forEach((t, i) => copyInto(out.select(d, i), t));
  recordJoin('stack', inputs, out, (g, i) => g.select(d, i));
  return out;
}
