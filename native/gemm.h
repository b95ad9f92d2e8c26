// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C,
// with op(A) of shape (m, k) and op(B) of shape (k, n).
//
// The one door to OpenBLAS: code elsewhere must not call cblas_* itself,
// since gemm() is what keeps OpenBLAS from mapping memory mid-call (see
// gemm.cc). Throws ResourceExhausted (parallel.h) when OpenBLAS's buffers
// cannot be reserved.
#pragma once

namespace eddy {

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc);

}  // namespace eddy
