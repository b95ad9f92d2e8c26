/**
 * Batched matrix multiplication: one sgemm per batch entry. Each entry's
 * operands are handed to BLAS as 2-D views (offset, transpose flag, leading
 * dimension, as in matmul) and the product is written straight into its
 * slice of the output, so transposed and sliced batches copy nothing.
 */
import { recordSingleOutput } from '../autograd/tape';
import { ShapeError } from '../errors';
import { binding } from '../native';
import { checkTensor, Tensor } from '../tensor/tensor';
import { formatShape } from '../validate';
import { blasOperand } from './matmul';

/** Batch entry i of a 3-D tensor as a 2-D view (not recorded). */
function matrixAt(t: Tensor, i: number): Tensor {
  return new Tensor(t.data, [t.shape[1], t.shape[2]], [t.strides[1], t.strides[2]], t.offset + i * t.strides[0]);
}

/** The product without checks or recording; also what the backward uses. */
function batchedProduct(a: Tensor, b: Tensor): Tensor {
  const [B, n, k] = a.shape;
  const m = b.shape[2];
  const out = new Tensor(new Float32Array(B * n * m), [B, n, m]);
  if (n * m === 0 || k === 0) return out;
  for (let i = 0; i < B; i++) {
    const A = blasOperand(matrixAt(a, i));
    const Bm = blasOperand(matrixAt(b, i));
    binding.gemm(A.trans, Bm.trans, n, m, k, 1, A.data, A.offset, A.ld, Bm.data, Bm.offset, Bm.ld, 0, out.data, i * n * m, Math.max(1, m));
  }
  return out;
}

/**
 * The batched product of two 3-D tensors: [B, n, k] × [B, k, m] → [B, n, m]
 * (`torch.bmm`). For each batch entry, dA = dC·Bᵀ and dB = Aᵀ·dC; the
 * transposes are views, which BLAS takes as flags.
 * @param a - [batch, m, k].
 * @param b - [batch, k, n].
 * @throws {@link ShapeError} when the shapes do not fit.
 */
export function bmm(a: Tensor, b: Tensor): Tensor {
  checkTensor('a', a);
  checkTensor('b', b);
  if (a.rank !== 3) throw new ShapeError(`Expected a 3-D tensor for a in bmm but received shape ${formatShape(a.shape)}`);
  if (b.rank !== 3 || b.shape[0] !== a.shape[0] || b.shape[1] !== a.shape[2]) {
    throw new ShapeError(
      `Expected b of shape [${a.shape[0]}, ${a.shape[2]}, m] for bmm with a of shape ${formatShape(a.shape)} but received ${formatShape(b.shape)}`,
    );
  }
  const out = batchedProduct(a, b);
  recordSingleOutput('bmm', [a, b], out, (g) => [
    a.requiresGrad ? batchedProduct(g, b.detach().transpose(1, 2)) : null,
    b.requiresGrad ? batchedProduct(a.detach().transpose(1, 2), g) : null,
  ]);
  return out;
}
