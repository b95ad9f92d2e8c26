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
#include <type_traits>

#include "packed_gemm.h"

// No std:: templates here: this file is compiled with wider instruction
// sets, and a shared inline instantiation could be picked up by baseline code.

// A row's epilogue is kept out of line: inlined into the tile, its
// constants (the activations' polynomials) would be hoisted above the K
// loop and push the accumulators out of registers (AVX2 has 16). Passing a
// row's few accumulators through memory once per tile costs far less.
#define EDDY_EPILOGUE __attribute__((noinline))

namespace eddy {
namespace tiles {

static inline int lesser(int a, int b) { return a < b ? a : b; }

template <typename V, int M, int P>
inline void tile(int k, const float* a, int lda, const float* b, size_t panel_stride, bool accumulate, const float* bias, float* c,
                 int ldc, int cols) {
  typename V::Reg acc[M][P];
  for (int i = 0; i < M; ++i)
    for (int u = 0; u < P; ++u) acc[i][u] = V::zero();
  for (int p = 0; p < k; ++p) {
    typename V::Reg bv[P];
    // As in the fused steps (madd_panels): AVX-512 tiles of four rows or more fetch 8 rows of K ahead.
    if constexpr (M >= 4 && V::kWidth >= 16)
      for (int u = 0; u < P; ++u) __builtin_prefetch(b + u * panel_stride + static_cast<size_t>(p + 8) * V::kWidth);
    for (int u = 0; u < P; ++u) bv[u] = V::load(b + u * panel_stride + static_cast<size_t>(p) * V::kWidth);
    for (int i = 0; i < M; ++i) {
      const float av = a[static_cast<size_t>(i) * lda + p];
      for (int u = 0; u < P; ++u) acc[i][u] = V::madd(av, bv[u], acc[i][u]);
    }
  }
  for (int i = 0; i < M; ++i) {
    for (int u = 0; u < P; ++u) {
      const int n = lesser(V::kWidth, cols - u * V::kWidth);
      if (n <= 0) continue;
      const typename V::Reg v = bias ? V::add(acc[i][u], V::loadn(bias + u * V::kWidth, n)) : acc[i][u];
      V::store(c + static_cast<size_t>(i) * ldc + u * V::kWidth, v, n, accumulate);
    }
  }
}

// A tile of M rows against `count` (1 … P) consecutive panels.
template <typename V, int M, int P>
inline void tile_n(int count, int k, const float* a, int lda, const float* b, size_t panel_stride, bool accumulate,
                   const float* bias, float* c, int ldc, int cols) {
  if constexpr (P > 1) {
    if (count < P) return tile_n<V, M, P - 1>(count, k, a, lda, b, panel_stride, accumulate, bias, c, ldc, cols);
  }
  tile<V, M, P>(k, a, lda, b, panel_stride, accumulate, bias, c, ldc, cols);
}

// The GEMM's shapes: tiles of up to MR = sizeof...(P) rows, and at most
// P[m−1] panels per group for a tile of m rows — the last entry for a full
// tile, more for short ones so they keep enough accumulators in flight.
template <int... P>
struct GemmShapes {
  static constexpr int kRows = sizeof...(P);
  static constexpr int kPanels[sizeof...(P)] = {P...};
};

// A tile of m (1 … M) rows, m known at run time, against `count` panels.
template <typename V, typename S, int M = S::kRows>
inline void tile_rows(int m, int count, int k, const float* a, int lda, const float* b, size_t ps, bool accumulate,
                      const float* bias, float* c, int ldc, int cols) {
  if constexpr (M > 1) {
    if (m < M) return tile_rows<V, S, M - 1>(m, count, k, a, lda, b, ps, accumulate, bias, c, ldc, cols);
  }
  tile_n<V, M, S::kPanels[M - 1]>(count, k, a, lda, b, ps, accumulate, bias, c, ldc, cols);
}

template <typename S, int M = S::kRows>
constexpr bool short_tiles_take_full_groups() {
  if constexpr (M > 1) return S::kPanels[M - 2] >= S::kPanels[S::kRows - 1] && short_tiles_take_full_groups<S, M - 1>();
  return true;
}

// One block of rows (pieces of `rows` rows each, at most kBlockFloats of A
// together) against panels [p0, p1) of B: the panels are dealt into groups
// of equal size (within one), so no group is left with a few panels and too
// few accumulators in flight, and each group is read once per block while
// it sits in L1/L2. piece(q, i) is the q-th piece's A and C at its row i.
template <typename V, typename S, typename Piece>
inline void block_tiles(int pieces, int rows, int n, int k, const float* packed, bool accumulate, const float* bias, int lda, int ldc,
                        int p0, int p1, Piece&& piece) {
  constexpr int MR = S::kRows;
  const int panels = p1 - p0;
  const size_t ps = static_cast<size_t>(k) * V::kWidth;
  const int most = S::kPanels[lesser(rows, MR) - 1];
  const int groups = (panels + most - 1) / most;
  for (int g = 0; g < groups; ++g) {
    const int j0 = p0 + panels * g / groups, count = p0 + panels * (g + 1) / groups - j0;
    const int cols = n - j0 * V::kWidth;
    for (int q = 0; q < pieces; ++q) {
      for (int i = 0; i < rows; i += MR) {
        const float* a;
        float* c;
        piece(q, i, a, c);
        tile_rows<V, S>(lesser(MR, rows - i), count, k, a, lda, packed + j0 * ps, ps, accumulate, bias ? bias + j0 * V::kWidth : nullptr,
                        c + j0 * V::kWidth, ldc, cols);
      }
    }
  }
}

// Floats of A per block (64 KB).
constexpr int kBlockFloats = 16384;
// Floats of packed B per slab (512 KB): a slab's panels stay in L2 while
// every block of rows passes them, so a B larger than L2 (C3's second W_ih,
// 8 MB) is read from memory once per call, not once per block of rows.
constexpr int kSlabFloats = 1 << 17;

// Panels of a slab of B (of `panels` panels at K = k): see for_slabs.
template <typename V, typename S>
inline int slab_panels(int panels, int k) {
  constexpr int group = S::kPanels[S::kRows - 1];
  const int fit = kSlabFloats / (k > 1 ? k : 1) / V::kWidth;
  return fit >= panels ? panels : fit >= group ? fit / group * group : fit > 1 ? fit : 1;
}

// B's panels (n columns, K = k) in slabs of about kSlabFloats: fn(s0, s1)
// for each slab of panels [s0, s1). A B that fits is one slab; otherwise a
// slab holds whole groups of a full tile's panels (S::kPanels' last entry)
// where it holds one at all: at K = 2048 (an input gradient of C3) 4 panels
// fit, and as two groups of 2 every tile ran on 16 accumulators, not 24.
template <typename V, typename S, typename Fn>
inline void for_slabs(int n, int k, Fn&& fn) {
  const int panels = (n + V::kWidth - 1) / V::kWidth;
  const int per = slab_panels<V, S>(panels, k);
  for (int s0 = 0; s0 < panels; s0 += per) fn(s0, lesser(panels, s0 + per));
}

// Columns of op(B) in a full slab at K = k (for_slabs): a caller that deals
// a GEMM's columns out by slabs keeps the tiles' panel groups whole.
template <typename V, typename S>
int slab_columns(int k) {
  return slab_panels<V, S>(1 << 20, k) * V::kWidth;
}

// Rows in blocks of about 64 KB of A (block_tiles), B in slabs. Each element
// of C is one tile's chain over k whichever slab, block or group it falls in.
template <typename V, typename S>
void gemm(int m, int n, int k, const float* a, int lda, const float* packed, bool accumulate, const float* bias, float* c, int ldc) {
  constexpr int MR = S::kRows;
  static_assert(short_tiles_take_full_groups<S>(), "a short tile takes any group of a full block");
  const int fit = (kBlockFloats / (k > 1 ? k : 1)) / MR * MR;
  const int block = fit > MR ? fit : MR;
  for_slabs<V, S>(n, k, [&](int s0, int s1) {
    for (int i0 = 0; i0 < m; i0 += block) {
      block_tiles<V, S>(1, lesser(block, m - i0), n, k, packed, accumulate, bias, lda, ldc, s0, s1, [&](int, int i, const float*& ai, float*& ci) {
        ai = a + static_cast<size_t>(i0 + i) * lda;
        ci = c + static_cast<size_t>(i0 + i) * ldc;
      });
    }
  });
}

// C[q] = A[q] · op(B) (+ bias) for count matrices of m rows that share B,
// as count gemm calls would compute them, element for element; but whole
// matrices go in blocks of about 64 KB of A, so each group of panels is read
// once per block rather than once per matrix.
template <typename V, typename S>
void gemm_list(int count, int m, int n, int k, const float* const* a, int lda, const float* packed, const float* bias, float* const* c,
               int ldc) {
  const int fit = kBlockFloats / (k > 1 ? k : 1);
  const int per = m > 0 && m < fit ? fit / m : 1;
  if (per <= 1) {
    for (int q = 0; q < count; ++q) gemm<V, S>(m, n, k, a[q], lda, packed, false, bias, c[q], ldc);
    return;
  }
  for_slabs<V, S>(n, k, [&](int s0, int s1) {
    for (int q0 = 0; q0 < count; q0 += per) {
      block_tiles<V, S>(lesser(count - q0, per), m, n, k, packed, false, bias, lda, ldc, s0, s1, [&](int q, int i, const float*& ai, float*& ci) {
        ai = a[q0 + q] + static_cast<size_t>(i) * lda;
        ci = c[q0 + q] + static_cast<size_t>(i) * ldc;
      });
    }
  });
}

// ---- The fused cell steps (CellStep in packed_gemm.h). The vector type
// also supplies add, sub, mul, fma (a·b + c), relu, loadn/storen (the first
// n lanes), sigmoid and tanh; the backward steps also set (a broadcast) and
// where_positive(x, y) (y where x > 0, else 0). A cell is its gate count, the epilogue of one
// row over the units [j0, j0 + n) of a block (acc: a · W_hhᵀ for its G gates
// of those units) and the operands that epilogue reads, fetched while the
// K loop runs (the input projection is long out of cache by then).

// Prefetches (for writing) the G gate slices of row r's units from j0 in a
// [rows, G·H] gate array.
inline void prefetch_gates(float* gates, int G, int H, int r, int j0) {
  const float* gr = gates + static_cast<size_t>(r) * G * H + j0;
  for (int g = 0; g < G; ++g) __builtin_prefetch(gr + static_cast<size_t>(g) * H, 1);
}

// acc + bias[0, n), or acc when there is no bias.
template <typename V>
inline typename V::Reg with_bias(const float* bias, int n, typename V::Reg acc) {
  return bias ? V::add(V::loadn(bias, n), acc) : acc;
}

// LSTM and RNN tiles start each element's chain with the input's part,
// x_t · W_ihᵀ (kInputFirst): read from `gates`, where the projection left
// it, or run in the tile itself when the input is folded in (CellStep::x).
// Either way the element is one chain — the input's K, then h_{t−1}'s —
// so folding or not never changes a bit. The GRU keeps the input's part
// apart (its candidate adds it outside the reset gate's product).
struct LstmCell {
  static constexpr int kGates = 4;
  static constexpr bool kInputFirst = true;
  static void prefetch(const CellStep& s, int r, int j0) {
    if (s.keep || !s.x) prefetch_gates(s.gates, 4, s.H, r, j0);
    __builtin_prefetch(s.c + static_cast<size_t>(r) * s.H + j0, 1);
  }
  template <typename V, int R>
  static EDDY_EPILOGUE void rows(const CellStep& s, int r, int j0, int n, const typename V::Reg* acc, int stride) {
    using Reg = typename V::Reg;
    const size_t H = static_cast<size_t>(s.H);
    float* gr[R];
    float* cr[R];
    Reg gi[R], gf[R], gg[R], go[R], c[R], c2[R], tc[R];
    for (int q = 0; q < R; ++q) {
      gr[q] = s.gates + (r + q) * 4 * H + j0;
      cr[q] = s.c + (r + q) * H + j0;
    }
    // The accumulators hold both projections; the folded bias is all that is left to add.
    const float* b = s.bias ? s.bias + j0 : nullptr;
    for (int q = 0; q < R; ++q) gi[q] = V::sigmoid(with_bias<V>(b, n, acc[q * stride]));
    for (int q = 0; q < R; ++q) gf[q] = V::sigmoid(with_bias<V>(b ? b + H : b, n, acc[q * stride + 1]));
    for (int q = 0; q < R; ++q) gg[q] = V::tanh(with_bias<V>(b ? b + 2 * H : b, n, acc[q * stride + 2]));
    for (int q = 0; q < R; ++q) go[q] = V::sigmoid(with_bias<V>(b ? b + 3 * H : b, n, acc[q * stride + 3]));
    for (int q = 0; q < R; ++q) {
      c[q] = V::loadn(cr[q], n);
      c2[q] = V::fma(gf[q], c[q], V::mul(gi[q], gg[q]));
    }
    for (int q = 0; q < R; ++q) tc[q] = V::tanh(c2[q]);
    for (int q = 0; q < R; ++q) {
      const Reg hv = V::mul(go[q], tc[q]);
      V::storen(cr[q], c2[q], n);
      V::storen(s.h + (r + q) * H + j0, hv, n);
      V::storen(s.y + static_cast<size_t>(r + q) * s.ldy + j0, hv, n);
    }
    if (s.keep) {
      for (int q = 0; q < R; ++q) {
        V::storen(gr[q], gi[q], n);
        V::storen(gr[q] + H, gf[q], n);
        V::storen(gr[q] + 2 * H, gg[q], n);
        V::storen(gr[q] + 3 * H, go[q], n);
        float* sr = s.saved + (r + q) * 2 * H + j0;
        V::storen(sr, c[q], n);
        V::storen(sr + H, tc[q], n);
      }
    }
  }
};

struct GruCell {
  static constexpr int kGates = 3;
  static constexpr bool kInputFirst = false;
  static void prefetch(const CellStep& s, int r, int j0) {
    prefetch_gates(s.gates, 3, s.H, r, j0);
    __builtin_prefetch(s.h + static_cast<size_t>(r) * s.H + j0, 1);
  }
  template <typename V, int R>
  static EDDY_EPILOGUE void rows(const CellStep& s, int r, int j0, int n, const typename V::Reg* acc, int stride) {
    using Reg = typename V::Reg;
    const size_t H = static_cast<size_t>(s.H);
    const float* hin = s.h_in ? s.h_in : s.h;
    float* gr[R];
    Reg hn[R], rg[R], zg[R], ng[R];
    for (int q = 0; q < R; ++q) gr[q] = s.gates + (r + q) * 3 * H + j0;
    for (int q = 0; q < R; ++q) {
      Reg hr = acc[q * stride], hz = acc[q * stride + 1];
      hn[q] = acc[q * stride + 2];
      if (s.b_hh) {
        hr = V::add(hr, V::loadn(s.b_hh + j0, n));
        hz = V::add(hz, V::loadn(s.b_hh + H + j0, n));
        hn[q] = V::add(hn[q], V::loadn(s.b_hh + 2 * H + j0, n));
      }
      rg[q] = V::sigmoid(V::add(V::loadn(gr[q], n), hr));
      zg[q] = V::sigmoid(V::add(V::loadn(gr[q] + H, n), hz));
    }
    for (int q = 0; q < R; ++q) ng[q] = V::tanh(V::fma(rg[q], hn[q], V::loadn(gr[q] + 2 * H, n)));
    for (int q = 0; q < R; ++q) {
      const Reg hv = V::fma(zg[q], V::sub(V::loadn(hin + (r + q) * H + j0, n), ng[q]), ng[q]);
      V::storen(s.h + (r + q) * H + j0, hv, n);
      V::storen(s.y + static_cast<size_t>(r + q) * s.ldy + j0, hv, n);
    }
    if (s.keep) {
      for (int q = 0; q < R; ++q) {
        V::storen(gr[q], rg[q], n);
        V::storen(gr[q] + H, zg[q], n);
        V::storen(gr[q] + 2 * H, ng[q], n);
        V::storen(s.saved + (r + q) * H + j0, hn[q], n);
      }
    }
  }
};

struct RnnCell {
  static constexpr int kGates = 1;
  static constexpr bool kInputFirst = true;
  static void prefetch(const CellStep& s, int r, int j0) {
    if (s.keep || !s.x) __builtin_prefetch(s.gates + static_cast<size_t>(r) * s.H + j0, 1);
  }
  template <typename V, int R>
  static EDDY_EPILOGUE void rows(const CellStep& s, int r, int j0, int n, const typename V::Reg* acc, int stride) {
    using Reg = typename V::Reg;
    const size_t H = static_cast<size_t>(s.H);
    Reg hv[R];
    for (int q = 0; q < R; ++q) {
      const Reg pre = with_bias<V>(s.bias ? s.bias + j0 : nullptr, n, acc[q * stride]);
      hv[q] = s.relu ? V::relu(pre) : V::tanh(pre);
    }
    for (int q = 0; q < R; ++q) {
      V::storen(s.h + (r + q) * H + j0, hv[q], n);
      V::storen(s.y + static_cast<size_t>(r + q) * s.ldy + j0, hv[q], n);
      if (s.keep) V::storen(s.gates + (r + q) * H + j0, hv[q], n);
    }
  }
};

// Rows [r, r + M) of one unit block's epilogue, kEpilogueRows at a time
// (the rows' activation chains are independent; several in one call may
// overlap their latencies — on Zen 5 it measured level, see
// docs/kernels.md). A row's instructions are the same whichever call it
// falls in.
template <typename V, typename Cell, int M>
inline void epilogue_rows(const CellStep& s, int r, int j0, int n, const typename V::Reg* acc, int stride) {
  constexpr int R = V::kEpilogueRows < M ? V::kEpilogueRows : M;
  if constexpr (M > 0) {
    Cell::template rows<V, R>(s, r, j0, n, acc, stride);
    epilogue_rows<V, Cell, M - R>(s, r + R, j0, n, acc + R * stride, stride);
  }
}

// The epilogues of a tile's M rows and P unit blocks from u, a group of
// kEpilogueRows rows at a time across the blocks (one row's units are
// contiguous in memory).
template <typename V, typename Cell, int M, int P>
inline void tile_epilogues(const CellStep& s, int r0, int u, const typename V::Reg* acc) {
  constexpr int R = V::kEpilogueRows < M ? V::kEpilogueRows : M, N = P * Cell::kGates;
  if constexpr (M > 0) {
    for (int q = 0; q < P; ++q) {
      const int j0 = (u + q) * V::kWidth;
      epilogue_rows<V, Cell, R>(s, r0, j0, lesser(V::kWidth, s.H - j0), acc + q * Cell::kGates, N);
    }
    tile_epilogues<V, Cell, M - R, P>(s, r0 + R, u, acc + R * N);
  }
}

// A share of the panels a step reads after the current tile's, to be
// fetched into L2 while the tile runs (next_group_floats below).
struct NextPanels {
  const char* at = nullptr;
  int lines = 0, per_row = 0;  // cache lines from `at`, per_row of them at each row of K
};

// The register tile's K loop: acc[i][j] += a[i·lda + p] · (panel j)[p0 + p]
// for p = 0 … k−1, M rows and N panels `ps` floats apart, each element one
// chain over p in order (what keeps a row's bits independent of its tile).
// With Fetch, `next`'s lines go to L2 alongside, per_row at each p.
template <typename V, int M, int N, bool Fetch = false>
inline __attribute__((always_inline)) void madd_panels(typename V::Reg (&acc)[M][N], const float* a, size_t lda,
                                                       const float* panels, size_t ps, int p0, int k,
                                                       const NextPanels& next = NextPanels()) {
  for (int p = 0; p < k; ++p) {
    if (Fetch && p * next.per_row < next.lines)
      for (int q = 0; q < next.per_row; ++q) __builtin_prefetch(next.at + static_cast<size_t>(p * next.per_row + q) * 64, 0, 2);
    typename V::Reg bv[N];
    // Tiles of several rows fetch the panels' lines 8 rows of K ahead: a
    // unit block's panels (64 KB for K = 256) stream from L2 for every tile
    // of rows. A tile of one to three rows is bound by its FMA chain, and the
    // prefetches only add to it. AVX-512 only: with AVX2's 8-float panels (two
    // rows of K a line, half the FMAs a row) they cost C1 and C2 training 7–8 %.
    if constexpr (M >= 4 && V::kWidth >= 16)
      for (int j = 0; j < N; ++j) __builtin_prefetch(panels + j * ps + static_cast<size_t>(p0 + p + 8) * V::kWidth);
    for (int j = 0; j < N; ++j) bv[j] = V::load(panels + j * ps + static_cast<size_t>(p0 + p) * V::kWidth);
    for (int i = 0; i < M; ++i) {
      const float av = a[static_cast<size_t>(i) * lda + p];
      for (int j = 0; j < N; ++j) acc[i][j] = V::madd(av, bv[j], acc[i][j]);
    }
  }
}

// Rows [r0, r0 + M) of the P unit blocks from u: their G·P panels are
// consecutive at `panels` (block u's G gates, then block u + 1's, …).
template <typename V, typename Cell, int M, int P, bool Fetch>
inline void cell_tile(const CellStep& s, int k, const float* panels, size_t ps, int r0, int u, const NextPanels& next) {
  constexpr int N = P * Cell::kGates;
  for (int i = 0; i < M; ++i)
    for (int q = 0; q < P; ++q) Cell::prefetch(s, r0 + i, (u + q) * V::kWidth);
  typename V::Reg acc[M][N];
  if (Cell::kInputFirst && !s.x) {
    // The input's chains as the projection left them (x_t · W_ihᵀ, no bias).
    constexpr int G = Cell::kGates;
    for (int i = 0; i < M; ++i) {
      const float* row = s.gates + static_cast<size_t>(r0 + i) * G * s.H;
      for (int q = 0; q < P; ++q) {
        const int j0 = (u + q) * V::kWidth, n = lesser(V::kWidth, s.H - j0);
        for (int g = 0; g < G; ++g) acc[i][q * G + g] = V::loadn(row + static_cast<size_t>(g) * s.H + j0, n);
      }
    }
  } else {
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) acc[i][j] = V::zero();
  }
  // The folded input (K rows [H, k) of the panels) against x_t: the very
  // chains the projection would have stored, continued below by h_{t−1}'s.
  if (Cell::kInputFirst && s.x) madd_panels<V, M, N>(acc, s.x + static_cast<size_t>(r0) * s.ldx, s.ldx, panels, ps, s.H, k - s.H);
  madd_panels<V, M, N, Fetch>(acc, s.a + static_cast<size_t>(r0) * s.lda, s.lda, panels, ps, 0, s.H, next);
  tile_epilogues<V, Cell, M, P>(s, r0, u, acc[0]);
}

// Rows [r0, r0 + rem), rem <= M, as one tile of rem rows.
template <typename V, typename Cell, int M, int P, bool Fetch>
inline void cell_tail(const CellStep& s, int k, const float* panels, size_t ps, int r0, int u, int rem, const NextPanels& next) {
  if constexpr (M > 0) {
    if (rem == M) return cell_tile<V, Cell, M, P, Fetch>(s, k, panels, ps, r0, u, next);
    cell_tail<V, Cell, M - 1, P, Fetch>(s, k, panels, ps, r0, u, rem, next);
  }
}

// Compile-time panel counts for a count known at run time: fn(Count<c>())
// for count c in 1 … P.
template <int N>
struct Count {
  static constexpr int value = N;
};
template <int P, typename Fn>
inline void with_count(int count, Fn&& fn) {
  if constexpr (P > 1) {
    if (count < P) return with_count<P - 1>(count, fn);
  }
  fn(Count<P>());
}

// Unit blocks [u0, u1) dealt into groups of at most P of equal size (within
// one): fn(u, Count<size>()) for each group, last to first when descending.
template <int P, typename Fn>
inline void for_unit_groups(int u0, int u1, bool descending, Fn&& fn) {
  const int blocks = u1 - u0, groups = (blocks + P - 1) / P;
  for (int i = 0; i < groups; ++i) {
    const int g = descending ? groups - 1 - i : i;
    const int u = u0 + blocks * g / groups;
    with_count<P>(u0 + blocks * (g + 1) / groups - u, [&](auto c) { fn(u, c); });
  }
}

// A W_hh larger than kL2FetchFloats does not stay in L2 from one step to
// the next (C3's 4 MB a direction), so every unit group's first tile of rows
// would wait for its panels to arrive from L3. On AVX-512, with tiles of
// several rows, the tiles of one group fetch the next group's panels into
// L2 instead, each a share, a line or so per row of h_{t−1}'s K. next_group_floats:
// the floats of the P blocks from `next` (at most up to u1) whose panels
// are `ps` floats, or 0 when none are to be fetched. The size test counts
// W_hh's rows of K alone (k_hh of the panels' k): C1's 1 MB W_hh with its
// W_ih folded in below (1.5 MB) ran 4–5 % slower with the fetches than
// without (docs/kernels.md). A step run in pieces (fetch_u1 > u1:
// CellStep) fetches on to the step's end, fetch_u1.
constexpr size_t kL2FetchFloats = size_t(1) << 18;

template <typename V, int MR>
inline size_t next_group_floats(int gates, int u0, int u1, int fetch_u1, int next, int P, size_t ps, int k, int k_hh) {
  if constexpr (V::kWidth < 16 || MR < 4) return 0;
  if (fetch_u1 > u1) {
    u0 = 0;
    u1 = fetch_u1;
  }
  const size_t per_block = static_cast<size_t>(gates) * ps;
  if (next >= u1 || k <= 0 || per_block / k * k_hh * (u1 - u0) <= kL2FetchFloats) return 0;
  return per_block * lesser(P, u1 - next);
}

// Tile g of `tiles` fetches its share of `floats` from `at` over k rows of K.
inline NextPanels share_of_next(const float* at, size_t floats, int g, int tiles, int k) {
  NextPanels n;
  if (floats == 0 || k == 0) return n;
  const size_t lines = floats * sizeof(float) / 64;
  const size_t first = lines * g / tiles, last = lines * (g + 1) / tiles;
  n.at = reinterpret_cast<const char*>(at) + first * 64;
  n.lines = static_cast<int>(last - first);
  n.per_row = static_cast<int>((last - first + k - 1) / k);
  return n;
}

// Rows [0, bs) dealt into tiles of equal size (within one) of at most MR:
// in tiles of up to 7, 32 rows are 6 + 6 + 7 + 6 + 7, not 4 × 7 and a tile
// of 4 whose few accumulators leave the FMA pipes idle while it streams the
// whole panel. fn(r0, rows, next, fetch) for each tile, where fetch is
// std::true_type when `floats` of the next group's panels at `at` are to
// be fetched (next: the tile's share over k rows of K), else false_type.
template <int MR, typename Fn>
inline void for_row_tiles(int bs, const float* at, size_t floats, int k, Fn&& fn) {
  const int tiles = (bs + MR - 1) / MR;
  for (int g = 0; g < tiles; ++g) {
    const int r0 = bs * g / tiles, rows = bs * (g + 1) / tiles - r0;
    if (floats) {
      fn(r0, rows, share_of_next(at, floats, g, tiles, k), std::true_type());
    } else {
      fn(r0, rows, NextPanels(), std::false_type());
    }
  }
}

// All rows of P unit blocks from u, in tiles of at most MR.
template <typename V, typename Cell, int MR, int P>
inline void cell_rows(const CellStep& s, int k, const float* packed, size_t ps, int u) {
  const float* panels = packed + static_cast<size_t>(Cell::kGates) * u * ps;
  const size_t next_floats = next_group_floats<V, MR>(Cell::kGates, s.u0, s.u1, s.fetch_u1, u + P, P, ps, k, s.H);
  for_row_tiles<MR>(s.bs, panels + static_cast<size_t>(Cell::kGates) * P * ps, next_floats, s.H,
                    [&](int r0, int rows, const NextPanels& next, auto fetch) {
                      cell_tail<V, Cell, MR, P, decltype(fetch)::value>(s, k, panels, ps, r0, u, rows, next);
                    });
}

// Whether bs rows, dealt into tiles of at most MR as for_row_tiles deals
// them, make tiles of fewer than MR − 1 rows: such tiles take the wider
// groups of unit blocks (PS below) so that they keep enough accumulators in
// flight.
template <int MR>
inline bool short_row_tiles(int bs) {
  const int tiles = (bs + MR - 1) / MR;
  return tiles > 0 && bs / tiles < MR - 1;
}

// for_unit_groups (ascending) in groups of up to P blocks, or PS for bs
// rows in short tiles.
template <int MR, int P, int PS, typename Fn>
inline void for_step_groups(int bs, int u0, int u1, Fn&& fn) {
  if (PS != P && short_row_tiles<MR>(bs)) return for_unit_groups<PS>(u0, u1, false, fn);
  for_unit_groups<P>(u0, u1, false, fn);
}

// Groups of up to P unit blocks one by one (their panels stay in cache
// while every row passes), or PS where the rows' tiles are short
// (short_row_tiles). A single row (one stream) takes up to P1 blocks a
// tile instead, so that enough independent accumulators hide the FMA
// latency; a row's arithmetic is the same either way.
template <typename V, typename Cell, int MR, int P, int PS, int P1>
void cell_step(const CellStep& s, const float* packed, int k) {
  const size_t ps = static_cast<size_t>(k) * V::kWidth;
  if (s.bs == 1) {
    for_unit_groups<P1>(s.u0, s.u1, s.descending, [&](int u, auto c) { cell_rows<V, Cell, 1, decltype(c)::value>(s, k, packed, ps, u); });
    return;
  }
  for_step_groups<MR, P, PS>(s.bs, s.u0, s.u1, [&](int u, auto c) { cell_rows<V, Cell, MR, decltype(c)::value>(s, k, packed, ps, u); });
}

// ---- The fused backward steps (CellBackStep in packed_gemm.h). A cell is
// whether the GEMM's part adds to dh_buf (kDirect, GRU) or replaces it,
// the epilogue of one row of step t − 1 over the units [j0, j0 + n) given
// dL/dh there (dy not yet added), and the operands it reads.

struct LstmBack {
  static constexpr bool kDirect = false;
  static void prefetch(const CellBackStep& s, int r, int j0) {
    const size_t H = static_cast<size_t>(s.H);
    prefetch_gates(s.gates, 4, s.H, r, j0);
    __builtin_prefetch(s.saved + r * 2 * H + j0);
    __builtin_prefetch(s.saved + r * 2 * H + H + j0);
    __builtin_prefetch(s.dc + r * H + j0, 1);
  }
  template <typename V>
  static inline void row(const CellBackStep& s, int r, int j0, int n, typename V::Reg dh) {
    using R = typename V::Reg;
    const size_t H = static_cast<size_t>(s.H);
    float* gr = s.gates + r * 4 * H + j0;
    const float* sr = s.saved + r * 2 * H + j0;
    float* dcr = s.dc + r * H + j0;
    const R one = V::set(1.0f);
    const R i = V::loadn(gr, n), f = V::loadn(gr + H, n), g = V::loadn(gr + 2 * H, n), o = V::loadn(gr + 3 * H, n);
    const R cp = V::loadn(sr, n), tc = V::loadn(sr + H, n);
    const R dtc = V::mul(V::mul(dh, o), V::sub(one, V::mul(tc, tc)));
    const R dc = V::add(V::loadn(dcr, n), dtc);
    V::storen(gr, V::mul(V::mul(dc, g), V::mul(i, V::sub(one, i))), n);
    V::storen(gr + H, V::mul(V::mul(dc, cp), V::mul(f, V::sub(one, f))), n);
    V::storen(gr + 2 * H, V::mul(V::mul(dc, i), V::sub(one, V::mul(g, g))), n);
    V::storen(gr + 3 * H, V::mul(V::mul(dh, tc), V::mul(o, V::sub(one, o))), n);
    V::storen(dcr, V::mul(dc, f), n);
  }
};

struct GruBack {
  static constexpr bool kDirect = true;
  static void prefetch(const CellBackStep& s, int r, int j0) {
    const size_t H = static_cast<size_t>(s.H);
    prefetch_gates(s.gates, 3, s.H, r, j0);
    __builtin_prefetch(s.saved + r * H + j0, 1);
    __builtin_prefetch(s.hprev + r * H + j0);
  }
  template <typename V>
  static inline void row(const CellBackStep& s, int r, int j0, int n, typename V::Reg dh) {
    using R = typename V::Reg;
    const size_t H = static_cast<size_t>(s.H);
    float* gr = s.gates + r * 3 * H + j0;
    float* er = s.saved + r * H + j0;
    const R one = V::set(1.0f);
    const R rg = V::loadn(gr, n), zg = V::loadn(gr + H, n), ng = V::loadn(gr + 2 * H, n);
    const R dn = V::mul(V::mul(dh, V::sub(one, zg)), V::sub(one, V::mul(ng, ng)));
    const R hp = V::loadn(s.hprev + r * H + j0, n);
    V::storen(gr, V::mul(V::mul(dn, V::loadn(er, n)), V::mul(rg, V::sub(one, rg))), n);
    V::storen(gr + H, V::mul(V::mul(dh, V::sub(hp, ng)), V::mul(zg, V::sub(one, zg))), n);
    V::storen(gr + 2 * H, dn, n);
    V::storen(er, V::mul(dn, rg), n);
    V::storen(s.dh + r * H + j0, V::mul(dh, zg), n);
  }
};

struct RnnBack {
  static constexpr bool kDirect = false;
  static void prefetch(const CellBackStep& s, int r, int j0) { __builtin_prefetch(s.gates + static_cast<size_t>(r) * s.H + j0, 1); }
  template <typename V>
  static inline void row(const CellBackStep& s, int r, int j0, int n, typename V::Reg dh) {
    float* gr = s.gates + static_cast<size_t>(r) * s.H + j0;
    const typename V::Reg h = V::loadn(gr, n);
    const typename V::Reg d = s.relu ? V::where_positive(h, dh) : V::mul(dh, V::sub(V::set(1.0f), V::mul(h, h)));
    V::storen(gr, d, n);
  }
};

// Row r of the units [j0, j0 + n): dL/dh_{t-1} from the GEMM's part d (when
// gemm), dh_buf and dy, then the cell's epilogue for step t − 1 (or, for a
// row without one, dh_{-1} stored).
template <typename V, typename Cell>
EDDY_EPILOGUE void back_row(const CellBackStep& s, int r, int j0, int n, typename V::Reg d, bool gemm) {
  float* dhr = s.dh + static_cast<size_t>(r) * s.H + j0;
  if (gemm && s.mask) d = V::mul(d, V::loadn(s.mask + static_cast<size_t>(r) * s.H + j0, n));
  typename V::Reg dh = !gemm ? V::loadn(dhr, n) : Cell::kDirect ? V::add(V::loadn(dhr, n), d) : d;
  if (r >= s.bs_next) return V::storen(dhr, dh, n);
  if (s.dy) dh = V::add(dh, V::loadn(s.dy + static_cast<size_t>(r) * s.ldy + j0, n));
  Cell::template row<V>(s, r, j0, n, dh);
}

// The operands of a row's epilogue, fetched before the K loop: the cell's
// own and dy of step t − 1 (a [T, B, ·] array far out of cache, whose load
// stalled the epilogue when it was left to the epilogue itself).
template <typename Cell>
inline void prefetch_back_row(const CellBackStep& s, int r, int j0) {
  Cell::prefetch(s, r, j0);
  if (s.dy) __builtin_prefetch(s.dy + static_cast<size_t>(r) * s.ldy + j0);
}

// Rows [r0, r0 + M) of the P unit blocks from u (panels of op(B) = W_hh,
// one per block, at `panels`): the GEMM over the K segments of a (k1
// columns) and a2 (the rest), then each row's epilogue.
template <typename V, typename Cell, int M, int P, bool Fetch>
inline void back_tile(const CellBackStep& s, int k1, int k, const float* panels, size_t ps, int r0, int u, const NextPanels& next) {
  for (int i = 0; i < M && r0 + i < s.bs_next; ++i)
    for (int q = 0; q < P; ++q) prefetch_back_row<Cell>(s, r0 + i, (u + q) * V::kWidth);
  typename V::Reg acc[M][P];
  for (int i = 0; i < M; ++i)
    for (int q = 0; q < P; ++q) acc[i][q] = V::zero();
  madd_panels<V, M, P, Fetch>(acc, s.a + static_cast<size_t>(r0) * s.lda, s.lda, panels, ps, 0, k1, next);
  // K column k1 + p is a2's column p.
  madd_panels<V, M, P>(acc, s.a2 + static_cast<size_t>(r0) * s.H, s.H, panels, ps, k1, k - k1);
  for (int i = 0; i < M; ++i) {
    for (int q = 0; q < P; ++q) {
      const int j0 = (u + q) * V::kWidth;
      back_row<V, Cell>(s, r0 + i, j0, lesser(V::kWidth, s.H - j0), acc[i][q], true);
    }
  }
}

template <typename V, typename Cell, int M, int P, bool Fetch>
inline void back_tail(const CellBackStep& s, int k1, int k, const float* panels, size_t ps, int r0, int u, int rem, const NextPanels& next) {
  if constexpr (M > 0) {
    if (rem == M) return back_tile<V, Cell, M, P, Fetch>(s, k1, k, panels, ps, r0, u, next);
    back_tail<V, Cell, M - 1, P, Fetch>(s, k1, k, panels, ps, r0, u, rem, next);
  }
}

// The C unit blocks from u: the GEMM rows in tiles of MR, then the rows
// without a GEMM part.
template <typename V, typename Cell, int MR, int C>
inline void back_rows(const CellBackStep& s, int k1, int k, const float* packed, size_t ps, int u) {
  const float* panels = packed + u * ps;
  const size_t next_floats = next_group_floats<V, MR>(1, s.u0, s.u1, s.fetch_u1, u + C, C, ps, k, k);
  for_row_tiles<MR>(s.bs, panels + C * ps, next_floats, k1, [&](int r0, int rows, const NextPanels& next, auto fetch) {
    back_tail<V, Cell, MR, C, decltype(fetch)::value>(s, k1, k, panels, ps, r0, u, rows, next);
  });
  const int rows = s.bs > s.bs_next ? s.bs : s.bs_next;
  for (int r = s.bs; r < rows; ++r) {
    for (int q = 0; q < C; ++q) {
      const int j0 = (u + q) * V::kWidth;
      back_row<V, Cell>(s, r, j0, lesser(V::kWidth, s.H - j0), V::zero(), false);
    }
  }
}

// Groups of up to P unit blocks, PS where the rows' tiles are short, P1
// for a single row, as in cell_step.
template <typename V, typename Cell, int MR, int P, int PS, int P1>
void back_step(const CellBackStep& s, const float* packed, int k) {
  const size_t ps = static_cast<size_t>(k) * V::kWidth;
  // GRU: dG's first 2H columns from a, the candidate's H from a2.
  const int k1 = s.a2 ? k - s.H : k;
  if (s.bs <= 1 && s.bs_next <= 1) {
    for_unit_groups<P1>(s.u0, s.u1, s.descending, [&](int u, auto c) { back_rows<V, Cell, 1, decltype(c)::value>(s, k1, k, packed, ps, u); });
    return;
  }
  for_step_groups<MR, P, PS>(s.bs, s.u0, s.u1, [&](int u, auto c) { back_rows<V, Cell, MR, decltype(c)::value>(s, k1, k, packed, ps, u); });
}

// The fused steps' shapes, per instruction set: rows per tile and unit
// blocks per tile (LSTM and GRU forward tiles take one block: their gates
// fill the registers; RNN and backward tiles take the ...Short count when
// their rows are few: short_row_tiles), and unit blocks per tile for a
// single row.
template <int LstmRows, int GruRows, int RnnRows, int RnnBlocks, int RnnBlocksShort, int BackRows, int BackBlocks,
          int BackBlocksShort, int LstmBlocks1, int GruBlocks1, int RnnBlocks1, int BackBlocks1>
struct StepShapes {};

// The kernel table entry of an instruction set's tiles: the GEMM's shapes (see gemm) and the fused steps'.
// constexpr, so that the table is constant-initialized: a dynamic initializer in a file compiled for
// AVX-512 runs when the addon loads, on any CPU, and the compiler may vectorize it with AVX-512 stores.
template <typename V, int... P, int LR, int GR, int RR, int RB, int RS, int BR, int BB, int BS, int L1, int G1, int R1, int B1>
constexpr PackedGemmKernels kernels(const char* name, GemmShapes<P...>, StepShapes<LR, GR, RR, RB, RS, BR, BB, BS, L1, G1, R1, B1>) {
  return {V::kWidth,
          static_cast<int>(sizeof...(P)),
          name,
          &gemm<V, GemmShapes<P...>>,
          &gemm_list<V, GemmShapes<P...>>,
          &slab_columns<V, GemmShapes<P...>>,
          &cell_step<V, LstmCell, LR, 1, 1, L1>,
          &cell_step<V, GruCell, GR, 1, 1, G1>,
          &cell_step<V, RnnCell, RR, RB, RS, R1>,
          &back_step<V, LstmBack, BR, BB, BS, B1>,
          &back_step<V, GruBack, BR, BB, BS, B1>,
          &back_step<V, RnnBack, BR, BB, BS, B1>,
          LR,
          RR};
}

}  // namespace tiles
}  // namespace eddy

#undef EDDY_EPILOGUE
