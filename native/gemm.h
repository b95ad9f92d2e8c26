// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C,
// with op(A) of shape (m, k) and op(B) of shape (k, n).
#pragma once

namespace eddy {

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc);

}  // namespace eddy
