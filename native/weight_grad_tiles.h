// The weight-gradient tile shared by the instruction sets (weight_grad.h),
// written once over a vector type V (weight_grad_<isa>.cc): MR rows of C ×
// NV vectors of columns held in registers across the K block. Per step p it
// loads NV vectors of packed B and broadcasts MR values of A straight from
// A's row p (consecutive floats: A needs no packing, and its lines are
// reused from L2 by every panel of columns), so the FMAs outnumber the
// loads more than two to one.
#pragma once

namespace eddy {
namespace wgrad {

// C[0:R, 0:n] += A[0:kc, 0:R]ᵀ · Bp, R ≤ MR rows known at compile time, so
// a short last tile reads no column of A beyond its own.
template <class V, int R, int NV, int NR>
void tile_rows(int kc, const float* a, int lda, const float* bp, float* c, int ldc, int n) {
  constexpr int W = V::kWidth;
  typename V::Reg acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V::loadn(c + static_cast<long>(i) * ldc + v * W, n - v * W);
  for (int p = 0; p < kc; ++p) {
    typename V::Reg b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = V::load(bp + p * NR + v * W);
    const float* ap = a + static_cast<long>(p) * lda;
    // A's rows are lda floats apart (4 KB and more), a stride the hardware
    // prefetchers leave alone: fetch the line 8 rows ahead.
    __builtin_prefetch(ap + 8 * static_cast<long>(lda));
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const typename V::Reg ai = V::set(ap[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(ai, b[v], acc[i][v]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) V::storen(c + static_cast<long>(i) * ldc + v * W, acc[i][v], n - v * W);
}

// The tile of MR rows × NV vectors for any mr ≤ MR live rows. Each element
// of C gets the same chain of FMAs whichever instantiation runs it.
template <class V, int MR, int NV>
void tile(int kc, const float* a, int lda, const float* bp, float* c, int ldc, int mr, int n) {
  static_assert(MR >= 1 && MR <= 8, "tile dispatches 1 to 8 rows");
  constexpr int NR = NV * V::kWidth;
  switch (mr < MR ? mr : MR) {
#define EDDY_WGRAD_ROWS(R) \
  case R:                  \
    if constexpr (R <= MR) return tile_rows<V, R, NV, NR>(kc, a, lda, bp, c, ldc, n); \
    break;
    EDDY_WGRAD_ROWS(8)
    EDDY_WGRAD_ROWS(7)
    EDDY_WGRAD_ROWS(6)
    EDDY_WGRAD_ROWS(5)
    EDDY_WGRAD_ROWS(4)
    EDDY_WGRAD_ROWS(3)
    EDDY_WGRAD_ROWS(2)
#undef EDDY_WGRAD_ROWS
    default: return tile_rows<V, 1, NV, NR>(kc, a, lda, bp, c, ldc, n);
  }
}

// c[0:m] += A[0:k, 0:m]ᵀ · b, m ≤ NV vectors: NV vectors of C's rows held
// in registers over all of K, A's row p loaded, b[p] broadcast — per
// element fma(a_pi, b_p, c), the chain a tile gives it.
template <class V, int NV>
void column_rows(int k, const float* a, int lda, const float* b, int ldb, float* c, int m) {
  constexpr int W = V::kWidth;
  typename V::Reg acc[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) acc[v] = V::loadn(c + v * W, m - v * W);
  for (int p = 0; p < k; ++p) {
    const float* ap = a + static_cast<long>(p) * lda;
    const typename V::Reg bp = V::set(b[static_cast<long>(p) * ldb]);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[v] = V::fma(V::loadn(ap + v * W, m - v * W), bp, acc[v]);
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) V::storen(c + v * W, acc[v], m - v * W);
}

// Any m, NV vectors of rows at a time.
template <class V, int NV>
void column(int k, const float* a, int lda, const float* b, int ldb, float* c, int m) {
  constexpr int R = NV * V::kWidth;
  for (int i = 0; i < m; i += R) column_rows<V, NV>(k, a + i, lda, b, ldb, c + i, m - i < R ? m - i : R);
}

}  // namespace wgrad
}  // namespace eddy
