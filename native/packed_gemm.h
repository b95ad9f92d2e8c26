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

// The widest panel any instruction set's kernels use (AVX-512: 16 floats).
constexpr int kMaxPanelWidth = 16;

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
// With bias (n values; not with accumulate) each row is A · op(B) + bias,
// added as the tiles store: the same sum as a pass adding it afterwards.
void packed_gemm(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc,
                 const float* bias = nullptr);

// Columns [j0, j1) of C = A · op(B) (+ C) only, written from c (column j0
// of C); j0 is a multiple of b.width. Each element is the same chain as in
// packed_gemm, so the columns come out bit-identical to a whole call's.
// bias, when given, holds the values of columns [j0, j1).
void packed_gemm_cols(int m, const float* a, int lda, const PackedMatrix& b, int j0, int j1, bool accumulate, float* c, int ldc,
                      const float* bias = nullptr);

// C[q] = A[q] · op(B) (+ bias) for q < count, each A[q] and C[q] of m rows
// (row strides lda, ldc): the very elements of count packed_gemm calls, but
// each panel of B is read once for several matrices while it is in cache.
void packed_gemm_list(int count, int m, const float* const* a, int lda, const PackedMatrix& b, float* const* c, int ldc,
                      const float* bias = nullptr);

// How many columns of op(B) the kernels take as one slab at K = k (a
// multiple of the panel width): the unit in which a caller can deal a
// GEMM's columns to threads without breaking the tiles' panel groups.
int packed_gemm_slab_columns(int k);
// Rows of the packed GEMM's tallest tile on the instruction set in use.
int packed_gemm_tile_rows();

// The same across the pool: blocks of rows, or whole panels of columns when
// there are fewer than 64 rows a thread, the calling thread alone for small
// products (each element's arithmetic unchanged).
void packed_gemm_parallel(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc);

// What runs, for runtimeInfo(): e.g. "avx512 8x(16x3) packed, …".
const char* packed_gemm_kernel_name();

// Rows of the tallest tile of the fused LSTM (lstm) or RNN forward step on
// the instruction set in use: how many rows share each load of a panel.
int fused_step_tile_rows(bool lstm);

// One forward step of a recurrent cell with its gate epilogue fused onto
// the recurrent GEMM's output tiles: for live rows [0, bs) and hidden units
// in blocks [u0, u1) of the kernel width, the G gates' panels of a block of
// units sit side by side (pack_gate_hidden), the tile keeps a · W_hhᵀ for
// all of them in registers (LSTM, RNN: after the input's part, see x
// below), and when the K loop ends the cell's epilogue adds the input
// projection (LSTM, RNN: the bias), applies the activations and writes the
// new state — one pass over memory per step. PyTorch's gate orders:
//   LSTM (i, f, g, o): i, f, o = σ, g = tanh, c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c');
//   GRU (r, z, n), linear before reset: r, z = σ(x-side + W_h h + b_h),
//     n = tanh(x-side + r ⊙ (W_hn h + b_hn)), h' = n + z ⊙ (h − n);
//   RNN: h' = tanh or relu(x-side + W_hh h).
// `a` (h_{t-1}, or h_{t-1} ⊙ mask) must not alias h, c or y: tiles read
// every row of it while others write.
// Batch invariance as for packed_gemm: a row's arithmetic (the GEMM chain
// and the epilogue's instruction sequence) is the same in any tile, at any
// position, with any split of the unit blocks.
struct CellStep {
  int bs = 0, H = 0;
  const float* a = nullptr;
  int lda = 0;
  float* gates = nullptr;        // [bs, G·H]: the input projection (GRU: plus folded biases; see x); the activated gates when keep (RNN: h')
  bool keep = false;             // training: also write the activated gates and `saved`
  float* saved = nullptr;        // LSTM [bs, 2H]: c_{t-1}, tanh(c_t); GRU [bs, H]: W_hn h + b_hn
  const float* b_hh = nullptr;   // GRU: [3H] added to W_hh h before the reset gate applies, or null
  bool relu = false;             // RNN: relu instead of tanh
  float* c = nullptr;            // LSTM: [bs, H] in and out
  float* h = nullptr;            // [bs, H] in (GRU) and out (may alias y)
  const float* h_in = nullptr;   // GRU: h_{t-1} when it is not h (the unit split double-buffers h), or null
  float* y = nullptr;
  int ldy = 0;
  int u0 = 0, u1 = 0;            // blocks of `width` hidden units to run
  // A step run in pieces of unit blocks: the end of the whole step's
  // blocks, up to which the tiles fetch the next blocks' panels into L2
  // (0: u1, the call's own end).
  int fetch_u1 = 0;
  // A single row: run the groups of unit blocks last to first. Consecutive
  // steps that alternate find the panels used last still in L1 when W_hh is
  // larger than it (a cyclic sweep evicts each panel just before its reuse).
  // Many rows keep the ascending sweep, which the prefetchers follow across
  // blocks. Blocks are independent, so the order never changes a result.
  bool descending = false;
  // LSTM and RNN: each element's chain starts with the input's part,
  // x_t · W_ihᵀ, and goes on with h_{t−1} · W_hhᵀ; then the epilogue adds
  // `bias` (the folded biases [G·H], or none when null). The input's part
  // is read from `gates` (projected there without bias), or, with the input
  // folded in (W_ih packed below W_hh: pack_gate_hidden), run in the tile
  // itself on x_t's rows (row r at x + r·ldx) — the same chain either way,
  // so the two give the same bits. Folded, `gates` is only written (keep).
  // The GRU reads neither: its input's part, with the biases, is in `gates`.
  const float* x = nullptr;
  int ldx = 0;
  const float* bias = nullptr;
};

// One backward step fused the same way, across two steps: the recurrent
// GEMM of step t, dh_{t-1} = dG_t · W_hh (W_hh packed by pack_b as op(B),
// k = G·H, n = H: one panel per block of units), for rows [0, bs) and unit
// blocks [u0, u1), and on its output tiles the gate gradients of step
// t − 1 (the step backward visits next), for its rows [0, bs_next):
//   LSTM: from dh = dh_{t-1} + dy, i, f, g, o, c_{t-2}, tanh(c_{t-1}) and dc:
//     dG = [di, df, dg, do] (pre-activation), dc ← (dc + dh ⊙ o ⊙ (1 − tanh²)) ⊙ f;
//   GRU (linear before reset): dh = dh_buf + dh_{t-1} + dy (dh_buf: the
//     direct path z ⊙ dh left by the step before), dG = [dr, dz, dn_pre],
//     saved ← dn_pre ⊙ r (the candidate's hidden-side gradient, the second
//     K segment of the next GEMM), dh_buf ← z ⊙ dh;
//   RNN: dG = dh ⊙ (1 − h'²), or dh ⊙ [h' > 0].
// Rows in [bs, bs_next) have no GEMM part (their sequences end at t − 1:
// dh_buf carries the final state's gradient); rows in [bs_next, bs) have
// no step t − 1 (the reverse direction's sequences start at t, and every
// row after the last step): their dh_{-1} is stored in dh (GRU: dh_buf
// plus the GEMM's part). With bs = 0 the call is the epilogue alone (the
// first step visited). Recurrent dropout multiplies the GEMM's part by the mask.
struct CellBackStep {
  int bs = 0, bs_next = 0, H = 0;
  const float* a = nullptr;       // dG_t [bs, G·H] (GRU: its first 2H columns, dr and dz)
  int lda = 0;
  const float* a2 = nullptr;      // GRU: dn_pre ⊙ r of step t [bs, H], the K columns [2H, 3H)
  const float* mask = nullptr;    // [bs, H] recurrent dropout mask, or null
  float* dh = nullptr;            // [bs_next, H] dh_buf in; out as above
  float* dc = nullptr;            // LSTM [bs_next, H] in and out
  const float* dy = nullptr;      // dL/dy of step t − 1 at dy + r·ldy, or null
  int ldy = 0;
  float* gates = nullptr;         // step t − 1: activated gates in (RNN: h'), dG out [bs_next, G·H]
  float* saved = nullptr;         // step t − 1: LSTM [c_{t-2}, tanh(c_{t-1})] [bs_next, 2H]; GRU W_hn h + b_hn in, dn_pre ⊙ r out [bs_next, H]
  const float* hprev = nullptr;   // GRU: h_{t-2} [bs_next, H]
  bool relu = false;              // RNN
  int u0 = 0, u1 = 0;
  int fetch_u1 = 0;               // as in CellStep
  bool descending = false;        // as in CellStep
};

// One instruction set's kernels (packed_gemm_<isa>.cc).
struct PackedGemmKernels {
  int width;
  int rows;  // the GEMM's tallest tile
  const char* name;
  void (*gemm)(int m, int n, int k, const float* a, int lda, const float* packed, bool accumulate, const float* bias, float* c,
               int ldc);
  void (*gemm_list)(int count, int m, int n, int k, const float* const* a, int lda, const float* packed, const float* bias,
                    float* const* c, int ldc);
  int (*slab_columns)(int k);
  void (*lstm_step)(const CellStep& s, const float* packed, int k);
  void (*gru_step)(const CellStep& s, const float* packed, int k);
  void (*rnn_step)(const CellStep& s, const float* packed, int k);
  void (*lstm_back)(const CellBackStep& s, const float* packed, int k);
  void (*gru_back)(const CellBackStep& s, const float* packed, int k);
  void (*rnn_back)(const CellBackStep& s, const float* packed, int k);
  int lstm_rows, rnn_rows;  // the fused forward steps' tallest tiles
};

// Packs W_hh (G·H × H, G gate blocks of H rows) for the fused steps: for
// each block of `width` hidden units the G gates' panels side by side, each
// block zero-padded to `width` units (for G = 1 this is pack_b's layout).
// With w_ih (G·H × in) each panel continues below W_hh's H rows of K with
// W_ih's `in` (K = H + in): the step's input folded in (CellStep::x).
void pack_gate_hidden(PackedMatrix& out, const float* w_hh, int G, int H, const float* w_ih = nullptr, int in = 0);
// How many blocks of the kernel width H hidden units make, in W_hh packed
// by pack_gate_hidden (forward) or by pack_b as op(B) = W_hh (backward).
int unit_blocks(const PackedMatrix& w, int H);
// Run s over the unit blocks [s.u0, s.u1) on the calling thread.
void lstm_fused_step(const CellStep& s, const PackedMatrix& w);
void gru_fused_step(const CellStep& s, const PackedMatrix& w);
void rnn_fused_step(const CellStep& s, const PackedMatrix& w);
void lstm_fused_backward_step(const CellBackStep& s, const PackedMatrix& w);
void gru_fused_backward_step(const CellBackStep& s, const PackedMatrix& w);
void rnn_fused_backward_step(const CellBackStep& s, const PackedMatrix& w);

namespace generic {
extern const PackedGemmKernels kPackedGemm;
}
namespace avx2 {
extern const PackedGemmKernels kPackedGemm;
// Panel rows from rows (as pack_rows in packed_gemm.cc: element (p, j) of
// dst = rows[j][p], null rows read as zeros) for a width w that is a
// multiple of 8, eight rows by eight steps at a time transposed in ymm
// registers: the same floats in the same places, 1.5–1.7× as fast as four
// by four on Zen 5. Packs the whole blocks of eight steps and returns how
// many steps that is; the caller packs the rest. Reached only on the AVX2
// and AVX-512 paths.
int pack_rows_by_eight(float* dst, const float* const* rows, int k, int w);
}
namespace avx512 {
extern const PackedGemmKernels kPackedGemm;
}

}  // namespace eddy
