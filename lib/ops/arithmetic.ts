/**
 * add, sub, mul, div and neg, with numpy broadcasting; either operand of a
 * binary op may be a number. The backward of a broadcast op sums the
 * gradient over the dimensions that were broadcast (`sumToShape`).
 */
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError } from '../errors';
import { Tensor, checkAttached, checkTensor } from '../tensor/tensor';
import { fail, formatShape } from '../validate';
import { broadcastShapes, map, sumToShape, zip } from '../tensor/strided';

/** A tensor, or a number standing for a tensor of shape [] holding it. */
export type Operand = Tensor | number;

function toTensor(name: string, value: unknown): Tensor {
  if (value instanceof Tensor) return checkAttached(name, value);
  if (typeof value === 'number') return new Tensor(Float32Array.of(value), []);
  fail('Tensor or number', name, value);
}

/** Both operands as tensors, and the shape they broadcast to. */
function operands(op: string, a: unknown, b: unknown): [Tensor, Tensor, number[]] {
  const x = toTensor('a', a);
  const y = toTensor('b', b);
  const shape = broadcastShapes(x.shape, y.shape);
  if (shape === null) {
    throw new ShapeError(`Expected a and b of broadcastable shapes for ${op} but received ${formatShape(x.shape)} and ${formatShape(y.shape)}`);
  }
  return [x, y, shape];
}

function negate(t: Tensor): Tensor {
  return new Tensor(map(t, (v) => -v), t.shape);
}

/**
 * a + b, elementwise with broadcasting.
 * @param a - The first operand.
 * @param b - The second operand, broadcastable with `a`.
 * @throws {@link ShapeError} when the shapes do not broadcast.
 */
export function add(a: Operand, b: Operand): Tensor {
  const [x, y, shape] = operands('add', a, b);
  const out = new Tensor(zip(x, y, shape, (p, q) => p + q), shape);
  recordSingleOutput('add', [x, y], out, (g) => [
    x.requiresGrad ? sumToShape(g, x.shape) : null,
    y.requiresGrad ? sumToShape(g, y.shape) : null,
  ]);
  return out;
}

/**
 * a - b, elementwise with broadcasting.
 * @param a - The first operand.
 * @param b - The second operand, broadcastable with `a`.
 * @throws {@link ShapeError} when the shapes do not broadcast.
 */
export function sub(a: Operand, b: Operand): Tensor {
  const [x, y, shape] = operands('sub', a, b);
  const out = new Tensor(zip(x, y, shape, (p, q) => p - q), shape);
  recordSingleOutput('sub', [x, y], out, (g) => [
    x.requiresGrad ? sumToShape(g, x.shape) : null,
    y.requiresGrad ? negate(sumToShape(g, y.shape)) : null,
  ]);
  return out;
}

/**
 * a * b, elementwise with broadcasting.
 * @param a - The first operand.
 * @param b - The second operand, broadcastable with `a`.
 * @throws {@link ShapeError} when the shapes do not broadcast.
 */
export function mul(a: Operand, b: Operand): Tensor {
  const [x, y, shape] = operands('mul', a, b);
  const out = new Tensor(zip(x, y, shape, (p, q) => p * q), shape);
  recordSingleOutput('mul', [x, y], out, (g) => [
    x.requiresGrad ? sumToShape(new Tensor(zip(g, y, shape, (d, q) => d * q), shape), x.shape) : null,
    y.requiresGrad ? sumToShape(new Tensor(zip(g, x, shape, (d, p) => d * p), shape), y.shape) : null,
  ]);
  return out;
}

/**
 * a / b, elementwise with broadcasting.
 * @param a - The dividend.
 * @param b - The divisor, broadcastable with `a`.
 * @throws {@link ShapeError} when the shapes do not broadcast.
 */
export function div(a: Operand, b: Operand): Tensor {
  const [x, y, shape] = operands('div', a, b);
  const out = new Tensor(zip(x, y, shape, (p, q) => p / q), shape);
  recordSingleOutput('div', [x, y], out, (g) => {
    let gy: Tensor | null = null;
    if (y.requiresGrad) {
      // d(p/q)/dq = -p/q²
      const gp = new Tensor(zip(g, x, shape, (d, p) => d * p), shape);
      gy = sumToShape(new Tensor(zip(gp, y, shape, (dp, q) => -dp / (q * q)), shape), y.shape);
    }
    return [x.requiresGrad ? sumToShape(new Tensor(zip(g, y, shape, (d, q) => d / q), shape), x.shape) : null, gy];
  });
  return out;
}

/**
 * -t, elementwise.
 * @param t - The input.
 */
export function neg(t: Tensor): Tensor {
  const x = checkTensor('t', t);
  const out = negate(x);
  recordSingleOutput('neg', [x], out, (g) => [negate(g)]);
  return out;
}
