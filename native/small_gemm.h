// GEMM for 1 to 4 rows of A, not transposed (see small_gemm_avx2.cc).
#pragma once

namespace eddy {
namespace avx2 {

constexpr int kSmallGemmRows = 4;

// C (m×n) = alpha · A (m×k) · op(B) + beta · C, m ≤ kSmallGemmRows; B is
// n×k when trans_b, else k×n. AVX2+FMA: call only when the CPU has them.
void small_gemm(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta,
                float* c, int ldc);

}  // namespace avx2
}  // namespace eddy
