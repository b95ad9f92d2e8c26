// Weight gradients of the recurrent layers over all steps at once:
// C (m×n) += Aᵀ · B with A (k×m) and B (k×n) row-major — dW_hh += dGᵀ·h_{t-1},
// dW_ih += dGᵀ·x, where k = T·B runs over every row of every step.
//
// Eddy's own K-blocked AVX-512 kernel where OpenBLAS would run slower
// kernels than its AVX-512 ones (its Haswell kernels, as under
// OPENBLAS_CORETYPE=Haswell, run these shapes at about half the speed);
// everywhere else, the AVX2 and generic paths included, gemm().
// EDDY_WEIGHT_GRADIENTS=own|blas overrides the rule. B is packed into
// micro-kernel panels a block of rows of K at a time, A is read in place,
// and each tile of C is loaded, accumulates a block's products in registers
// with fused multiply-adds and is stored back.
//
// Deterministic: every element of C is one chain, C + a_0·b_0 + a_1·b_1 + …
// over p = 0 … k−1 in order, whatever tile or thread computes it, so the
// result is bit-identical for any thread count on a given ISA. Threads
// take disjoint blocks of C's rows.
#pragma once

namespace eddy {

void weight_grad(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);

// The same product on Eddy's own kernel whatever the rule says, where the
// instruction set in use has one (AVX-512): returns false, and leaves C
// alone, where it has none. gemm() uses it for Aᵀ·B when it runs on Eddy's
// own kernels (gemm.h).
bool weight_grad_own(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);

// The input gradient over all steps, C (m×n) = A (m×k) · B (k×n), or C += …
// when accumulate: dX = dG · W_ih with m = T·B, k = G·H, n = the input width.
// On the AVX-512 path it runs on Eddy's packed GEMM (packed_gemm.h, B
// packed once per call) whichever kernels OpenBLAS runs: 1.6–2.2× its
// Haswell kernels on these shapes, and ahead of its AVX-512 ones in a
// training step (weight_grad.cc). On the AVX2 and generic paths, gemm().
// EDDY_WEIGHT_GRADIENTS=blas puts it on gemm() everywhere. Deterministic on
// the packed GEMM: each element is one chain over k in order.
void input_grad(int m, int n, int k, const float* a, int lda, const float* b, int ldb, bool accumulate, float* c, int ldc);

// Whether weight_grad and input_grad give every element of C the same bits
// however a caller splits C's rows between calls: true where both run on
// Eddy's own kernels (one chain per element), false where either runs on a
// BLAS, whose edge kernels may sum a row's products in another order than
// its main kernel.
bool grad_products_row_invariant();

// What runs input_grad, for runtimeInfo(): the packed GEMM's name, else
// gemm()'s.
const char* input_grad_kernel_name();

// One instruction set's kernels (weight_grad_<isa>.cc). tile: C[0:mr, 0:n]
// += Apᵀ·Bp over kc steps, A's rows lda apart, Bp packed [kc][nr]
// (zero-padded). column, for a single column of C (n = 1, as a Linear
// layer's bias gradient): c[0:m] += A[0:k, 0:m]ᵀ · b with b's values ldb
// apart and c contiguous, the vectors along C's rows (a tile would pad the
// column to nr); each element the same chain of FMAs as in a tile.
struct WeightGradKernels {
  int mr, nr;
  const char* name;
  void (*tile)(int kc, const float* a, int lda, const float* bp, float* c, int ldc, int mr, int n);
  void (*column)(int k, const float* a, int lda, const float* b, int ldb, float* c, int m);
};

// What runs, for runtimeInfo(): e.g. "avx512 6x64 k-blocked", else the
// BLAS's name (blas_name(): "OpenBLAS").
const char* weight_grad_kernel_name();

namespace avx512 {
extern const WeightGradKernels kWeightGrad;
}

}  // namespace eddy
