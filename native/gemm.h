// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C,
// with op(A) of shape (m, k) and op(B) of shape (k, n).
//
// Where OpenBLAS's core is not an AVX2 or AVX-512 one (a CPU newer than
// the library falls back to Prescott's SSE3 kernels) and Eddy's own kernels
// run AVX2 or AVX-512, gemm() runs on those instead: the packed GEMM, and
// the weight-gradient kernel for Aᵀ·B on AVX-512. EDDY_GEMM=own|blas
// overrides the rule.
//
// The one door to OpenBLAS: code elsewhere must not call cblas_* itself,
// since gemm() is what keeps OpenBLAS from mapping memory mid-call (see
// gemm.cc). Throws ResourceExhausted (parallel.h) when OpenBLAS's buffers
// cannot be reserved.
#pragma once

namespace eddy {

// Whether gemm() runs on Eddy's own kernels (the rule above), and what runs
// there, for runtimeInfo(): the packed GEMM's name, else the BLAS's.
bool gemm_runs_own_kernels();
const char* gemm_kernel_name();

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc);

}  // namespace eddy
