/**
 * The machinery under losses that compare input and target element by
 * element (mse, mae, huber, binary cross-entropy): one pass computes the
 * losses in float64, one autograd node maps the upstream gradient to both
 * input and target.
 */
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError } from '../errors';
import { sameShape } from '../tensor/strided';
import { Tensor, checkTensor, denseData } from '../tensor/tensor';
import { formatShape } from '../validate';
import { Reduction, itemGradients, reduceLoss } from './reduction';

/** One elementwise loss and its partial derivatives; `i` is the row-major element index. */
export interface ElementwiseLoss {
  loss(x: number, y: number, i: number): number;
  /** d loss / d x */
  dInput(x: number, y: number, i: number): number;
  /** d loss / d y */
  dTarget(x: number, y: number, i: number): number;
}

/** Checks that input and target are tensors of one shape; `what` names the loss in messages. */
export function checkInputAndTarget(what: string, input: unknown, target: unknown, inputName = 'input'): [Tensor, Tensor] {
  const x = checkTensor(inputName, input);
  const y = checkTensor('target', target);
  if (!sameShape(x.shape, y.shape)) {
    throw new ShapeError(`Expected target of shape ${formatShape(x.shape)} (the shape of ${inputName}) for ${what} but received ${formatShape(y.shape)}`);
  }
  return [x, y];
}

/**
 * The loss of `x` against `y` (same shape), reduced; 'mean' divides by the
 * number of elements (NaN for none, as in PyTorch).
 */
export function elementwiseLoss(name: string, x: Tensor, y: Tensor, reduction: Reduction, f: ElementwiseLoss): Tensor {
  const n = x.size;
  const xs = denseData(x);
  const ys = denseData(y);
  const losses = new Float64Array(n);
  for (let i = 0; i < n; i++) losses[i] = f.loss(xs[i], ys[i], i);
  const out = reduceLoss(losses, x.shape, reduction, n);
  recordSingleOutput(name, [x, y], out, (g) => {
    const scale = itemGradients(g, n, reduction, n);
    const gx = x.requiresGrad ? new Float32Array(n) : null;
    const gy = y.requiresGrad ? new Float32Array(n) : null;
    for (let i = 0; i < n; i++) {
      if (gx) gx[i] = scale[i] * f.dInput(xs[i], ys[i], i);
      if (gy) gy[i] = scale[i] * f.dTarget(xs[i], ys[i], i);
    }
    return [gx && new Tensor(gx, x.shape), gy && new Tensor(gy, y.shape)];
  });
  return out;
}
