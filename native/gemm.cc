#include "gemm.h"

#include <algorithm>

#include "activations.h"
#include "blas.h"
#include "parallel.h"
#include "small_gemm.h"

namespace eddy {
namespace {

void gemm_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                 int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
}

// Below this many FLOPs a GEMM runs on the calling thread: waking the pool
// costs about as much as the work.
constexpr double kParallelFlops = 4e6;

}  // namespace

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // OpenBLAS handles k == 0, but its argument checks want lda >= 1 even
    // for empty operands; scaling C ourselves keeps the edge case simple.
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        float& v = c[static_cast<size_t>(i) * ldc + j];
        v = beta == 0.0f ? 0.0f : beta * v;
      }
    return;
  }
#if defined(__x86_64__) || defined(_M_X64)
  if (m <= avx2::kSmallGemmRows && !trans_a && use_avx2()) {
    avx2::small_gemm(trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#endif
  const int threads = num_threads();
  if (threads < 2 || 2.0 * m * n * k < kParallelFlops) {
    gemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Split C into blocks of rows (or of columns when it is short and wide),
  // in multiples of 16 so every block keeps full-width micro-kernels.
  const bool by_rows = m >= 32 * threads || m >= n;
  const int extent = by_rows ? m : n;
  const int64_t units = (extent + 15) / 16;
  parallel_for(units, 1, [&](int64_t u0, int64_t u1) {
    const int lo = static_cast<int>(u0 * 16), hi = std::min(extent, static_cast<int>(u1 * 16));
    if (lo >= hi) return;
    if (by_rows) {
      const float* ab = trans_a ? a + lo : a + static_cast<size_t>(lo) * lda;
      gemm_serial(trans_a, trans_b, hi - lo, n, k, alpha, ab, lda, b, ldb, beta, c + static_cast<size_t>(lo) * ldc, ldc);
    } else {
      const float* bb = trans_b ? b + static_cast<size_t>(lo) * ldb : b + lo;
      gemm_serial(trans_a, trans_b, m, hi - lo, k, alpha, a, lda, bb, ldb, beta, c + lo, ldc);
    }
  });
}

}  // namespace eddy
