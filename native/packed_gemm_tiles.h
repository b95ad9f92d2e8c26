// The packed GEMM's loops, shared by every instruction set: each ISA file
// supplies a vector type V (width, zero, load, fused or plain multiply-add,
// store of the first n lanes) and its tile shapes, and includes this file.
//
// Loop order: rows in blocks small enough for A to stay in cache; in each
// block, groups of P panels, and within a group tiles of up to MR rows, so
// a group of B panels is read once per block while it sits in L1/L2. P
// depends only on how many rows the block has (few rows: more panels at a
// time, to keep enough independent accumulators in flight). None of this
// changes the arithmetic of an element: see packed_gemm.h.
#pragma once

#include <cstddef>

#include "packed_gemm.h"

// No std:: templates here: this file is compiled with wider instruction
// sets, and a shared inline instantiation could be picked up by baseline code.

namespace eddy {
namespace tiles {

static inline int lesser(int a, int b) { return a < b ? a : b; }

template <typename V, int M, int P>
inline void tile(int k, const float* a, int lda, const float* b, size_t panel_stride, bool accumulate, float* c, int ldc,
                 int cols) {
  typename V::Reg acc[M][P];
  for (int i = 0; i < M; ++i)
    for (int u = 0; u < P; ++u) acc[i][u] = V::zero();
  for (int p = 0; p < k; ++p) {
    typename V::Reg bv[P];
    for (int u = 0; u < P; ++u) bv[u] = V::load(b + u * panel_stride + static_cast<size_t>(p) * V::kWidth);
    for (int i = 0; i < M; ++i) {
      const float av = a[static_cast<size_t>(i) * lda + p];
      for (int u = 0; u < P; ++u) acc[i][u] = V::madd(av, bv[u], acc[i][u]);
    }
  }
  for (int i = 0; i < M; ++i) {
    for (int u = 0; u < P; ++u) {
      const int n = lesser(V::kWidth, cols - u * V::kWidth);
      if (n > 0) V::store(c + static_cast<size_t>(i) * ldc + u * V::kWidth, acc[i][u], n, accumulate);
    }
  }
}

// Rows [0, m) (m ≤ MR) against panels [0, panels): P at a time, then one by one.
template <typename V, int M, int P>
void row_tile(int n, int k, const float* a, int lda, const float* packed, bool accumulate, float* c, int ldc,
              int first, int last) {
  const size_t ps = static_cast<size_t>(k) * V::kWidth;
  int j = first;
  for (; j + P <= last; j += P) {
    tile<V, M, P>(k, a, lda, packed + j * ps, ps, accumulate, c + j * V::kWidth, ldc, n - j * V::kWidth);
  }
  for (; j < last; ++j) tile<V, M, 1>(k, a, lda, packed + j * ps, ps, accumulate, c + j * V::kWidth, ldc, n - j * V::kWidth);
}

// Shapes: MR rows per tile; P_SMALL[m−1] panels per group when a block has
// m < MR rows, P_FULL otherwise.
template <typename V, int MR, int P_FULL, int P1, int P2, int P3>
void gemm(int m, int n, int k, const float* a, int lda, const float* packed, bool accumulate, float* c, int ldc) {
  static_assert(MR == 4, "tiles of 4 rows");
  const int panels = (n + V::kWidth - 1) / V::kWidth;
  // About 64 KB of A per block.
  const int fit = (16384 / (k > 1 ? k : 1)) / MR * MR;
  const int block = fit > MR ? fit : MR;
  for (int i0 = 0; i0 < m; i0 += block) {
    const int rows = lesser(block, m - i0);
    const int group = rows >= MR ? P_FULL : rows == 1 ? P1 : rows == 2 ? P2 : P3;
    for (int j0 = 0; j0 < panels; j0 += group) {
      const int j1 = lesser(panels, j0 + group);
      for (int i = i0; i < i0 + rows; i += MR) {
        const float* ai = a + static_cast<size_t>(i) * lda;
        float* ci = c + static_cast<size_t>(i) * ldc;
        switch (lesser(MR, i0 + rows - i)) {
          case 1:
            if (group == P1) row_tile<V, 1, P1>(n, k, ai, lda, packed, accumulate, ci, ldc, j0, j1);
            else row_tile<V, 1, P_FULL>(n, k, ai, lda, packed, accumulate, ci, ldc, j0, j1);
            break;
          case 2:
            if (group == P2) row_tile<V, 2, P2>(n, k, ai, lda, packed, accumulate, ci, ldc, j0, j1);
            else row_tile<V, 2, P_FULL>(n, k, ai, lda, packed, accumulate, ci, ldc, j0, j1);
            break;
          case 3:
            if (group == P3) row_tile<V, 3, P3>(n, k, ai, lda, packed, accumulate, ci, ldc, j0, j1);
            else row_tile<V, 3, P_FULL>(n, k, ai, lda, packed, accumulate, ci, ldc, j0, j1);
            break;
          default: row_tile<V, 4, P_FULL>(n, k, ai, lda, packed, accumulate, ci, ldc, j0, j1);
        }
      }
    }
  }
}

// The kernel table entry of an instruction set's tiles.
template <typename V, int MR, int P_FULL, int P1, int P2, int P3>
PackedGemmKernels kernels(const char* name) {
  return {V::kWidth, name, &gemm<V, MR, P_FULL, P1, P2, P3>};
}

}  // namespace tiles
}  // namespace eddy
