/**
 * Matrix multiplication through OpenBLAS sgemm. Transposed and sliced views
 * are passed to BLAS as they are (transpose flag plus leading dimension);
 * only layouts BLAS cannot express are copied.
 */
import { isGradEnabled } from '../autograd/grad-mode';
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError, ValidationError } from '../errors';
import { binding } from '../native';
import { Tensor } from '../tensor/tensor';
import { describe, formatShape } from '../validate';

/** How a 2-D view is handed to BLAS: storage, offset, transpose flag and leading dimension. */
export interface BlasOperand {
  data: Float32Array;
  offset: number;
  trans: boolean;
  ld: number;
}

export function blasOperand(t: Tensor): BlasOperand {
  const [rows, cols] = t.shape;
  const [rs, cs] = t.strides;
  // Row-major with unit column stride (rows of length `cols` start `rs` apart).
  if ((cs === 1 || cols <= 1) && (rows <= 1 || rs >= cols)) {
    return { data: t.data, offset: t.offset, trans: false, ld: rows <= 1 ? Math.max(1, cols) : rs };
  }
  // Column-major: the transpose of a row-major matrix.
  if ((rs === 1 || rows <= 1) && (cols <= 1 || cs >= rows)) {
    return { data: t.data, offset: t.offset, trans: true, ld: cols <= 1 ? Math.max(1, rows) : cs };
  }
  // A plain copy: t.contiguous() would record an autograd node.
  return { data: t.toFloat32Array(), offset: 0, trans: false, ld: Math.max(1, cols) };
}

function checkMatmul(a: unknown, b: unknown): [Tensor, Tensor] {
  if (!(a instanceof Tensor)) throw new ValidationError(`Expected Tensor for a but received ${describe(a)}`);
  if (!(b instanceof Tensor)) throw new ValidationError(`Expected Tensor for b but received ${describe(b)}`);
  if (a.rank !== 2) throw new ShapeError(`Expected a 2-D tensor for a in matmul but received shape ${formatShape(a.shape)}`);
  if (b.rank !== 2) throw new ShapeError(`Expected a 2-D tensor for b in matmul but received shape ${formatShape(b.shape)}`);
  if (a.shape[1] !== b.shape[0]) {
    throw new ShapeError(
      `Expected b of shape [${a.shape[1]}, n] for matmul with a of shape ${formatShape(a.shape)} but received ${formatShape(b.shape)}`,
    );
  }
  return [a, b];
}

type Gemm = typeof binding.gemm;

function gemmArgs(a: Tensor, b: Tensor, out: Tensor): Parameters<Gemm> {
  const [m, k] = a.shape;
  const n = b.shape[1];
  const A = blasOperand(a);
  const B = blasOperand(b);
  // For transposed operands BLAS wants the leading dimension of the stored
  // (k x m) or (n x k) matrix; blasOperand already gives that.
  return [A.trans, B.trans, m, n, k, 1, A.data, A.offset, A.ld, B.data, B.offset, B.ld, 0, out.data, 0, Math.max(1, n)];
}

/** The product without checks or recording; also what the backward uses. */
function product(a: Tensor, b: Tensor): Tensor {
  const out = new Tensor(new Float32Array(a.shape[0] * b.shape[1]), [a.shape[0], b.shape[1]]);
  if (out.size > 0 && a.shape[1] > 0) binding.gemm(...gemmArgs(a, b, out));
  return out;
}

/**
 * For C = A·B: dA = dC·Bᵀ and dB = Aᵀ·dC. The transposes are views, which
 * BLAS takes as transpose flags. Each backward product needs the other
 * operand as it was at the forward call, so a copy of it is kept: the
 * caller may write into its array before calling backward.
 */
function recordMatmul(a: Tensor, b: Tensor, out: Tensor): void {
  if (!isGradEnabled() || !(a.requiresGrad || b.requiresGrad)) return;
  const snapshot = (t: Tensor): Tensor => new Tensor(t.toFloat32Array(), t.shape);
  const bKept = a.requiresGrad ? snapshot(b) : null;
  const aKept = b.requiresGrad ? snapshot(a) : null;
  recordSingleOutput('matmul', [a, b], out, (g) => [bKept ? product(g, bKept.T) : null, aKept ? product(aKept.T, g) : null]);
}

/**
 * The matrix product of two 2-D tensors: [m, k] × [k, n] → [m, n] (zeros when k is 0).
 * @param a - [m, k].
 * @param b - [k, n].
 * @throws {@link ShapeError} when the inner sizes differ or a tensor is not 2-D.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkMatmul(a, b);
  const out = product(a, b);
  recordMatmul(a, b, out);
  return out;
}

/**
 * `matmul` on a worker thread: the event loop stays free while it runs.
 * Recorded like `matmul`; its backward runs synchronously.
 * @param a - [m, k].
 * @param b - [k, n].
 * @throws {@link ShapeError} when the inner sizes differ or a tensor is not 2-D.
 */
export async function matmulAsync(a: Tensor, b: Tensor): Promise<Tensor> {
  checkMatmul(a, b);
  const out = new Tensor(new Float32Array(a.shape[0] * b.shape[1]), [a.shape[0], b.shape[1]]);
  if (out.size > 0 && a.shape[1] > 0) await binding.gemmAsync(...gemmArgs(a, b, out));
  recordMatmul(a, b, out);
  return out;
}
