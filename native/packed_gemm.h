// Eddy's own GEMM for the recurrent hot path: C (m×n) = A (m×k) · op(B)
// (+ C), with op(B) packed once into panels of `width` columns — the layout
// the micro-kernel of the chosen instruction set (isa.h) reads:
//   panel j: [k][width], columns j·width … j·width + width − 1, zero-padded.
// Batch invariance by design: every element of C is one chain of
// multiply-adds over p = 0 … k−1 in order, started from zero, then stored
// (or added to C); neither the row count, the row's position, the tile it
// falls in nor the thread that runs it changes that chain. So a row's
// result is bit-identical alone or inside any batch, for a given ISA.
#pragma once

#include <cstddef>
#include <vector>

#include "isa.h"

namespace eddy {

struct PackedMatrix {
  Isa isa = Isa::kGeneric;  // the kernels it was packed for
  int k = 0, n = 0, width = 0;
  std::vector<float> data;  // [ceil(n / width)][k][width]

  size_t panel_stride() const { return static_cast<size_t>(k) * width; }
};

// Packs op(B) of shape (k, n) for the ISA in use: B is stored (n, k) when
// trans (C = A · Bᵀ, as for h · W_hhᵀ), else (k, n); ldb is its row stride.
void pack_b(PackedMatrix& out, bool trans, const float* b, int ldb, int k, int n);

// C = A · op(B), or C += A · op(B) when accumulate; runs on the calling thread.
void packed_gemm(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc);

// Columns [j0, j1) of C = A · op(B) (+ C) only, written from c (column j0
// of C); j0 is a multiple of b.width. Each element is the same chain as in
// packed_gemm, so the columns come out bit-identical to a whole call's.
void packed_gemm_cols(int m, const float* a, int lda, const PackedMatrix& b, int j0, int j1, bool accumulate, float* c, int ldc);

// The same, rows dealt across the pool (each row's arithmetic unchanged).
void packed_gemm_parallel(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc);

// What runs, for runtimeInfo(): e.g. "avx512 4x(16·6) packed".
const char* packed_gemm_kernel_name();

// One LSTM forward step with its gate epilogue fused onto the recurrent
// GEMM's output tiles (PyTorch gate order i, f, g, o): for live rows
// [0, bs) and hidden units in blocks [u0, u1) of the kernel width,
//   pre = gates + a · W_hhᵀ,  i, f, o = σ(pre), g = tanh(pre),
//   c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c'),
// with the four gates of a block of units side by side in registers, so the
// step makes one pass over memory. `a` (h_{t-1}, or h_{t-1} ⊙ mask) must not
// alias h, c or y: tiles read every row of it while others write.
// Batch invariance as for packed_gemm: a row's arithmetic (the GEMM chain
// and the epilogue's instruction sequence) is the same in any tile, at any
// position, with any split of the unit blocks.
struct LstmStep {
  int bs = 0, H = 0;
  const float* a = nullptr;
  int lda = 0;
  float* gates = nullptr;  // [bs, 4H]: the input projection plus folded biases; activated i, f, g, o when keep
  bool keep = false;       // training: also write the activated gates and `saved`
  float* saved = nullptr;  // [bs, 2H]: c_{t-1}, tanh(c_t)
  float* c = nullptr;      // [bs, H] in and out
  float* h = nullptr;      // [bs, H] out (may alias y)
  float* y = nullptr;
  int ldy = 0;
  int u0 = 0, u1 = 0;      // blocks of `width` hidden units to run
};

// One instruction set's kernels (packed_gemm_<isa>.cc).
struct PackedGemmKernels {
  int width;
  const char* name;
  void (*gemm)(int m, int n, int k, const float* a, int lda, const float* packed, bool accumulate, float* c, int ldc);
  void (*lstm_step)(const LstmStep& s, const float* packed, int k);
};

// Packs W_hh (4H × H, gate blocks i, f, g, o) for lstm_step: for each block
// of `width` hidden units the four gates' panels side by side, each block
// zero-padded to `width` units.
void pack_lstm_hidden(PackedMatrix& out, const float* w_hh, int H);
// How many unit blocks a matrix packed by pack_lstm_hidden has.
int lstm_unit_blocks(const PackedMatrix& w);
// Runs s over the unit blocks [s.u0, s.u1) on the calling thread.
void lstm_fused_step(const LstmStep& s, const PackedMatrix& w);

namespace generic {
extern const PackedGemmKernels kPackedGemm;
}
namespace avx2 {
extern const PackedGemmKernels kPackedGemm;
}
namespace avx512 {
extern const PackedGemmKernels kPackedGemm;
}

}  // namespace eddy
