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

// The last rem (< P) panels of a group as one tile, so they keep several accumulators in flight.
template <typename V, int M, int P>
inline void panel_tail(int rem, int k, const float* a, int lda, const float* b, size_t ps, bool accumulate, float* c, int ldc,
                       int cols) {
  if constexpr (P > 0) {
    if (rem == P) return tile<V, M, P>(k, a, lda, b, ps, accumulate, c, ldc, cols);
    panel_tail<V, M, P - 1>(rem, k, a, lda, b, ps, accumulate, c, ldc, cols);
  }
}

// Rows [0, m) (m ≤ MR) against panels [0, panels): P at a time, then the rest as one tile.
template <typename V, int M, int P>
void row_tile(int n, int k, const float* a, int lda, const float* packed, bool accumulate, float* c, int ldc,
              int first, int last) {
  const size_t ps = static_cast<size_t>(k) * V::kWidth;
  int j = first;
  for (; j + P <= last; j += P) {
    tile<V, M, P>(k, a, lda, packed + j * ps, ps, accumulate, c + j * V::kWidth, ldc, n - j * V::kWidth);
  }
  if (j < last) panel_tail<V, M, P - 1>(last - j, k, a, lda, packed + j * ps, ps, accumulate, c + j * V::kWidth, ldc, n - j * V::kWidth);
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

// ---- The fused LSTM step (LstmStep in packed_gemm.h). The vector type
// also supplies add, mul, fma (a·b + c), loadn/storen (the first n lanes),
// sigmoid and tanh.

// Row r's epilogue for the units [j0, j0 + n) of one block: acc holds
// a · W_hhᵀ for the gates i, f, g, o of those units.
template <typename V>
inline void lstm_cell(const LstmStep& s, int r, int j0, int n, const typename V::Reg* acc) {
  const size_t H = static_cast<size_t>(s.H);
  float* gr = s.gates + r * 4 * H + j0;
  const typename V::Reg gi = V::sigmoid(V::add(V::loadn(gr, n), acc[0]));
  const typename V::Reg gf = V::sigmoid(V::add(V::loadn(gr + H, n), acc[1]));
  const typename V::Reg gg = V::tanh(V::add(V::loadn(gr + 2 * H, n), acc[2]));
  const typename V::Reg go = V::sigmoid(V::add(V::loadn(gr + 3 * H, n), acc[3]));
  float* cr = s.c + r * H + j0;
  const typename V::Reg c = V::loadn(cr, n);
  const typename V::Reg c2 = V::fma(gf, c, V::mul(gi, gg));
  const typename V::Reg tc = V::tanh(c2);
  const typename V::Reg hv = V::mul(go, tc);
  V::storen(cr, c2, n);
  V::storen(s.h + r * H + j0, hv, n);
  V::storen(s.y + static_cast<size_t>(r) * s.ldy + j0, hv, n);
  if (s.keep) {
    V::storen(gr, gi, n);
    V::storen(gr + H, gf, n);
    V::storen(gr + 2 * H, gg, n);
    V::storen(gr + 3 * H, go, n);
    float* sr = s.saved + r * 2 * H + j0;
    V::storen(sr, c, n);
    V::storen(sr + H, tc, n);
  }
}

// Rows [r0, r0 + M) of unit block u: the four gate panels at `panels`.
template <typename V, int M>
inline void lstm_tile(const LstmStep& s, int k, const float* panels, size_t ps, int r0, int u) {
  const int j0 = u * V::kWidth, n = lesser(V::kWidth, s.H - j0);
  // The epilogue's operands (the input projection, long out of cache, and
  // c) are fetched while the K loop runs.
  for (int i = 0; i < M; ++i) {
    const float* gr = s.gates + static_cast<size_t>(r0 + i) * 4 * s.H + j0;
    for (int g = 0; g < 4; ++g) __builtin_prefetch(gr + static_cast<size_t>(g) * s.H, 1);
    __builtin_prefetch(s.c + static_cast<size_t>(r0 + i) * s.H + j0, 1);
  }
  typename V::Reg acc[M][4];
  for (int i = 0; i < M; ++i)
    for (int g = 0; g < 4; ++g) acc[i][g] = V::zero();
  const float* a = s.a + static_cast<size_t>(r0) * s.lda;
  for (int p = 0; p < k; ++p) {
    typename V::Reg bv[4];
    for (int g = 0; g < 4; ++g) bv[g] = V::load(panels + g * ps + static_cast<size_t>(p) * V::kWidth);
    for (int i = 0; i < M; ++i) {
      const float av = a[static_cast<size_t>(i) * s.lda + p];
      for (int g = 0; g < 4; ++g) acc[i][g] = V::madd(av, bv[g], acc[i][g]);
    }
  }
  for (int i = 0; i < M; ++i) lstm_cell<V>(s, r0 + i, j0, n, acc[i]);
}

// The last rem (< M) rows of a block, as one tile of rem rows.
template <typename V, int M>
inline void lstm_tail(const LstmStep& s, int k, const float* panels, size_t ps, int r0, int u, int rem) {
  if constexpr (M > 0) {
    if (rem == M) return lstm_tile<V, M>(s, k, panels, ps, r0, u);
    lstm_tail<V, M - 1>(s, k, panels, ps, r0, u, rem);
  }
}

// Unit blocks one by one (its four panels stay in cache), all rows in tiles of MR.
template <typename V, int MR>
void lstm_step(const LstmStep& s, const float* packed, int k) {
  const size_t ps = static_cast<size_t>(k) * V::kWidth;
  for (int u = s.u0; u < s.u1; ++u) {
    const float* panels = packed + static_cast<size_t>(4 * u) * ps;
    int r = 0;
    for (; r + MR <= s.bs; r += MR) lstm_tile<V, MR>(s, k, panels, ps, r, u);
    if (r < s.bs) lstm_tail<V, MR - 1>(s, k, panels, ps, r, u, s.bs - r);
  }
}

// The kernel table entry of an instruction set's tiles (LMR: rows per fused LSTM tile).
template <typename V, int MR, int P_FULL, int P1, int P2, int P3, int LMR>
PackedGemmKernels kernels(const char* name) {
  return {V::kWidth, name, &gemm<V, MR, P_FULL, P1, P2, P3>, &lstm_step<V, LMR>};
}

}  // namespace tiles
}  // namespace eddy
