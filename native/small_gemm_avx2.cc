// GEMMs with at most 4 rows in A — a recurrent step for a single stream or
// the last few sequences of a sorted batch. OpenBLAS spends several
// microseconds packing operands for these; reading B once with every row
// of A in registers is several times faster. Compiled with -mavx2 -mfma and
// reached only after a runtime CPU check (gemm.cc).
// The body exists only on x86-64: other targets build the generic path.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "small_gemm.h"

namespace eddy {
namespace avx2 {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

inline void store(float* c, float value, float alpha, float beta) { *c = beta == 0.0f ? alpha * value : alpha * value + beta * *c; }

// C (m×n) = alpha · A (m×k) · Bᵀ + beta · C, with B stored n×k: dot
// products of rows of A with rows of B, J rows of B at a time so M·J
// independent accumulators hide the FMA latency.
template <int M, int J>
void gemm_nt_block(int j, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  __m256 acc[M][J];
  for (int i = 0; i < M; ++i)
    for (int u = 0; u < J; ++u) acc[i][u] = _mm256_setzero_ps();
  int p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 av[M];
    for (int i = 0; i < M; ++i) av[i] = _mm256_loadu_ps(a + static_cast<size_t>(i) * lda + p);
    for (int u = 0; u < J; ++u) {
      const __m256 bv = _mm256_loadu_ps(b + static_cast<size_t>(j + u) * ldb + p);
      for (int i = 0; i < M; ++i) acc[i][u] = _mm256_fmadd_ps(av[i], bv, acc[i][u]);
    }
  }
  for (int i = 0; i < M; ++i) {
    for (int u = 0; u < J; ++u) {
      const float* bj = b + static_cast<size_t>(j + u) * ldb;
      float sum = hsum(acc[i][u]);
      for (int q = p; q < k; ++q) sum += a[static_cast<size_t>(i) * lda + q] * bj[q];
      store(c + static_cast<size_t>(i) * ldc + j + u, sum, alpha, beta);
    }
  }
}

template <int M>
void gemm_nt(int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  constexpr int J = M == 1 ? 8 : M == 2 ? 4 : 2;
  int j = 0;
  for (; j + J <= n; j += J) gemm_nt_block<M, J>(j, k, alpha, a, lda, b, ldb, beta, c, ldc);
  for (; j < n; ++j) gemm_nt_block<M, 1>(j, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// C (m×n) = alpha · A (m×k) · B + beta · C, with B stored k×n: J blocks of
// 8 columns at a time; every row of B is read once and broadcast-multiplied
// into M·J independent accumulators.
template <int M, int J>
void gemm_nn_block(int j, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  __m256 acc[M][J];
  for (int i = 0; i < M; ++i)
    for (int u = 0; u < J; ++u) acc[i][u] = _mm256_setzero_ps();
  for (int p = 0; p < k; ++p) {
    __m256 av[M];
    for (int i = 0; i < M; ++i) av[i] = _mm256_set1_ps(a[static_cast<size_t>(i) * lda + p]);
    for (int u = 0; u < J; ++u) {
      const __m256 bv = _mm256_loadu_ps(b + static_cast<size_t>(p) * ldb + j + 8 * u);
      for (int i = 0; i < M; ++i) acc[i][u] = _mm256_fmadd_ps(av[i], bv, acc[i][u]);
    }
  }
  for (int i = 0; i < M; ++i) {
    for (int u = 0; u < J; ++u) {
      float* ci = c + static_cast<size_t>(i) * ldc + j + 8 * u;
      __m256 r = _mm256_mul_ps(_mm256_set1_ps(alpha), acc[i][u]);
      if (beta != 0.0f) r = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(ci), r);
      _mm256_storeu_ps(ci, r);
    }
  }
}

template <int M>
void gemm_nn(int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  constexpr int J = M == 1 ? 8 : M == 2 ? 4 : 2;
  int j = 0;
  for (; j + 8 * J <= n; j += 8 * J) gemm_nn_block<M, J>(j, k, alpha, a, lda, b, ldb, beta, c, ldc);
  for (; j + 8 <= n; j += 8) gemm_nn_block<M, 1>(j, k, alpha, a, lda, b, ldb, beta, c, ldc);
  for (; j < n; ++j) {
    for (int i = 0; i < M; ++i) {
      float sum = 0.0f;
      for (int p = 0; p < k; ++p) sum += a[static_cast<size_t>(i) * lda + p] * b[static_cast<size_t>(p) * ldb + j];
      store(c + static_cast<size_t>(i) * ldc + j, sum, alpha, beta);
    }
  }
}

template <int M>
void dispatch(bool trans_b, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (trans_b) {
    gemm_nt<M>(n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    gemm_nn<M>(n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace

void small_gemm(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta,
                float* c, int ldc) {
  switch (m) {
    case 1: return dispatch<1>(trans_b, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    case 2: return dispatch<2>(trans_b, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    case 3: return dispatch<3>(trans_b, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    default: return dispatch<4>(trans_b, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace avx2
}  // namespace eddy

#endif  // x86-64
