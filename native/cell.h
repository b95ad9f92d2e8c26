// What a cell sees of one (layer, direction) while the time loop in
// recurrent.cc runs it, and the per-step functions each cell file provides.
// Rows are batch entries sorted by length: at step t rows [0, bs) are live.
#pragma once

#include <cstring>
#include <vector>

#include "layernorm.h"
#include "packed_gemm.h"
#include "recurrent.h"

namespace eddy {

// The per-row buffers of one (layer, direction), declared once:
//   X(type, name, floats per row, what it holds)
// A row is one batch entry; [T, B, ·] buffers advance B rows per step.
// for_group (layer_loop.cc) moves every one of them to a task's first row.
#define EDDY_LAYER_ROWS(X)                                                                                   \
  /* Workspace (training) or scratch (inference), per step t: */                                            \
  X(float*, gates, GH, "[T, B, G·H] from step gates_t0: input projection in, activations out; dG in backward") \
  X(float*, extra, E, "[T, B, E·H] cell-specific, see each cell")                                           \
  X(float*, y, ldy, "output h_t of row b at y + t·y_step + b·ldy")                                           \
  X(float*, h, H, "[B, H] state: h_{t-1} in, h_t out")                                                       \
  X(float*, c, H, "[B, H] LSTM cell state")                                                                  \
  X(float*, scratch, GH, "[B, G·H] recurrent GEMM results")                                                  \
  X(float*, scratch2, H, "[B, H]")                                                                           \
  X(float*, scratch3, H, "[B, H] h ⊙ mask in forward; its gradient in backward")                             \
  X(const float*, mask, H, "[B, H] recurrent dropout mask, or null")                                         \
  /* Layer-normalized cells (see recurrent.h): */                                                            \
  X(float*, rhat, GH, "[T, B, G·H] normalized recurrent projection (training)")                              \
  X(float*, rrstd, 1, "[T, B] its 1/std")                                                                    \
  X(float*, chat, H, "[T, B, H] normalized cell state (LSTM, training)")                                     \
  X(float*, crstd, 1, "[T, B]")                                                                              \
  X(float*, drp, GH, "backward: [T, B, G·H] gradient of the recurrent projection W_hh·h")                    \
  X(float*, dlnc, H, "backward: [T, B, H] gradient of LN_c(c') (LSTM)")                                      \
  /* Backward only: */                                                                                       \
  X(float*, hprev, H, "[T, B, H] saved h_{t-1}")                                                             \
  X(const float*, dy, ldy, "gradient of y, same layout as y")                                                \
  X(float*, dh, H, "[B, H] dL/dh_t in, dL/dh_{t-1} out")                                                     \
  X(float*, dc, H, "[B, H] LSTM")

// W_hh packed for the per-step GEMMs, by blocks of its rows [r0, r1): the
// forward step multiplies h · W_hh[r0:r1]ᵀ, backward dG · W_hh[r0:r1].
// Packed once per call (layer_loop.cc pack_hidden_weights) and shared
// read-only by every task of the (layer, direction).
struct HiddenWeights {
  struct Block {
    bool backward;
    int r0, r1;
    PackedMatrix packed;
  };
  std::vector<Block> blocks;
  // The steps of LSTM and linear-before-reset GRU without layer norm, and
  // of the RNN, run fused (packed_gemm.h) on this packing instead of the
  // blocks: gate-interleaved W_hh forward, W_hh as op(B) backward.
  bool fused = false;
  PackedMatrix gates;
  // The forward steps' input folded into `gates` (folds_input in
  // layer_loop.h): W_ih's `folded_in` rows of K below W_hh's, 0 when the
  // input is projected apart.
  int folded_in = 0;
};

struct LayerCtx {
  int B = 0, H = 0, G = 0;
  bool training = false;
  bool reset_after = true;  // GRU variant
  bool relu = false;        // vanilla RNN nonlinearity
  const float* w_hh = nullptr;  // [G·H, H]
  const HiddenWeights* packed_w_hh = nullptr;
  const float* b_hh = nullptr;  // [G·H] — only cells that cannot fold it into the input projection read it
  bool ln = false;
  const float *ln_hh_w = nullptr, *ln_hh_b = nullptr, *ln_c_w = nullptr, *ln_c_b = nullptr;
  int ldy = 0;
  size_t y_step = 0;  // floats between steps of y and dy: B·ldy when 0 (internal order); else the caller's layout
#define EDDY_LAYER_ROW_FIELD(type, name, width, doc) type name = nullptr;
  EDDY_LAYER_ROWS(EDDY_LAYER_ROW_FIELD)
#undef EDDY_LAYER_ROW_FIELD

  int gates_t0 = 0;  // the step whose gates start at `gates` (inference projects a block of steps at a time)
  // The layer input, when the fused steps fold it in (HiddenWeights::folded_in):
  // row b of step t at x + t·x_step + b·x_ld.
  const float* x = nullptr;
  size_t x_ld = 0, x_step = 0;
  // The folded bias ([G·H]) that fused LSTM and RNN steps add (their input
  // projection adds none: step_adds_bias in layer_loop.h), or null.
  const float* step_bias = nullptr;
  // The unit blocks [units0, units1) a fused backward step runs: a
  // unit-split team member's own (backward_loop_units), all when units1 < 0.
  int units0 = 0, units1 = -1;
  // A step run in pieces (backward_chains_together): the tiles fetch
  // the next blocks' panels on past units1, to the step's end.
  bool fetch_past_units = false;

  const float* hprev_at(int t) const { return hprev + static_cast<size_t>(t) * B * H; }
  float* gates_at(int t) const { return gates + static_cast<size_t>(t - gates_t0) * B * G * H; }
  float* extra_at(int t, int e) const { return extra + static_cast<size_t>(t) * B * e * H; }
  float* y_at(int t) const { return y + static_cast<size_t>(t) * (y_step ? y_step : static_cast<size_t>(B) * ldy); }
  const float* dy_at(int t) const { return dy + static_cast<size_t>(t) * (y_step ? y_step : static_cast<size_t>(B) * ldy); }
  size_t row(int t) const { return static_cast<size_t>(t) * B; }  // first row of step t in [T, B, ·] buffers
};

// The recurrent GEMMs of a step, on the packed W_hh: forward
// C (bs × (r1−r0)) = A · W_hh[r0:r1]ᵀ, backward C (bs × H) = A · W_hh[r0:r1];
// C += … when accumulate.
void hidden_gemm(const LayerCtx& L, bool backward, int r0, int r1, int bs, const float* a, int lda, bool accumulate, float* c,
                 int ldc);

// What the recurrent GEMM multiplies: h_{t-1}, or h_{t-1} ⊙ mask (written to
// scratch3) under recurrent dropout.
inline const float* recurrent_input(const LayerCtx& L, const float* h, int bs) {
  if (!L.mask) return h;
  const size_t n = static_cast<size_t>(bs) * L.H;
  for (size_t i = 0; i < n; ++i) L.scratch3[i] = h[i] * L.mask[i];
  return L.scratch3;
}

// Where backward puts the gradient reaching the recurrent GEMM's input:
// straight into dh, or into scratch3 first under recurrent dropout.
inline float* recurrent_grad(const LayerCtx& L) { return L.mask ? L.scratch3 : L.dh; }

// A fused step's GEMM input: h_{t-1} ⊙ mask under recurrent dropout, else
// a copy of h_{t-1} (the step writes h while its tiles read every row): the
// one training keeps in hprev, or one made in scratch2.
inline const float* fused_step_input(const LayerCtx& L, int t, int bs) {
  if (L.mask) return recurrent_input(L, L.h, bs);
  if (L.training) return L.hprev_at(t);
  std::memcpy(L.scratch2, L.h, sizeof(float) * bs * L.H);
  return L.scratch2;
}

// A fused step's bias and folded input (LayerCtx::x), from row `row` of
// step t. With the input folded, inference never reads or writes `gates`,
// which is left pointing at the start of the buffer.
inline void fold_input(CellStep& st, const LayerCtx& L, int t, int row = 0) {
  st.bias = L.step_bias;
  if (!L.x) return;
  st.x = L.x + static_cast<size_t>(t) * L.x_step + static_cast<size_t>(row) * L.x_ld;
  st.ldx = static_cast<int>(L.x_ld);
  if (!L.training) st.gates = L.gates;
}

// The fields every fused step shares, for live rows [0, bs) of step t and all unit blocks.
inline CellStep fused_step_args(const LayerCtx& L, int t, int bs) {
  CellStep st;
  st.bs = bs;
  st.H = L.H;
  st.a = fused_step_input(L, t, bs);
  st.lda = L.H;
  st.gates = L.gates_at(t);
  st.keep = L.training;
  st.h = L.h;
  st.y = L.y_at(t);
  st.ldy = L.ldy;
  st.u0 = 0;
  st.u1 = unit_blocks(L.packed_w_hh->gates, L.H);
  st.descending = (t & 1) != 0;
  fold_input(st, L, t);
  return st;
}

// The step backward visits after t (t − 1, or t + 1 in the reverse
// direction) and its live rows; bs = 0 when there is none.
struct NextStep {
  int t = 0, bs = 0;
};

// The fields every fused backward step shares: the GEMM of step t over
// rows [0, bs) and the epilogue of `next` (packed_gemm.h CellBackStep).
inline CellBackStep fused_backward_args(const LayerCtx& L, int t, int bs, NextStep next) {
  CellBackStep st;
  st.bs = bs;
  st.bs_next = next.bs;
  st.H = L.H;
  st.a = L.gates_at(t);
  st.lda = L.G * L.H;
  st.mask = L.mask;
  st.dh = L.dh;
  st.dy = L.dy && next.bs > 0 ? L.dy_at(next.t) : nullptr;
  st.ldy = L.ldy;
  st.gates = next.bs > 0 ? L.gates_at(next.t) : nullptr;
  st.u0 = L.units0;
  st.u1 = L.units1 >= 0 ? L.units1 : unit_blocks(L.packed_w_hh->gates, L.H);
  st.fetch_u1 = L.fetch_past_units ? unit_blocks(L.packed_w_hh->gates, L.H) : 0;
  st.descending = (t & 1) != 0;
  return st;
}

// Runs a fused backward step t of live rows [0, bs): on the first step
// visited, the epilogue of t alone first (its dG from dh and dy), then
// step t's GEMM with the epilogue of `next`. fill(st, next) sets the
// cell's own fields of the step whose epilogue st runs.
template <typename Fill>
void run_fused_backward(const LayerCtx& L, int t, int bs, NextStep next, bool first,
                        void (*kernel)(const CellBackStep&, const PackedMatrix&), Fill&& fill) {
  if (first) {
    const NextStep self{t, bs};
    CellBackStep st = fused_backward_args(L, t, 0, self);
    fill(st, self);
    kernel(st, L.packed_w_hh->gates);
  }
  CellBackStep st = fused_backward_args(L, t, bs, next);
  fill(st, next);
  kernel(st, L.packed_w_hh->gates);
}

// Under recurrent dropout, dh (+)= scratch3 ⊙ mask for the live rows.
inline void add_recurrent_grad(const LayerCtx& L, int bs, bool accumulate) {
  if (!L.mask) return;
  const size_t n = static_cast<size_t>(bs) * L.H;
  for (size_t i = 0; i < n; ++i) L.dh[i] = (accumulate ? L.dh[i] : 0.0f) + L.scratch3[i] * L.mask[i];
}

// LN_hh over row b of step t's recurrent projection r ([G·H], in place);
// training keeps the normalized row and its 1/std for backward.
inline void ln_hh_forward(const LayerCtx& L, int t, int b, float* r) {
  const int n = L.G * L.H;
  const size_t row = L.row(t) + b;
  ln_forward_row(r, L.training ? L.rhat + row * n : nullptr, L.training ? L.rrstd + row : nullptr, r, L.ln_hh_w, L.ln_hh_b, n);
}

// dx = the gradient dy of row b at step t taken back through LN_hh (dx may be dy).
inline void ln_hh_backward(const LayerCtx& L, int t, int b, float* dx, const float* dy) {
  const int n = L.G * L.H;
  const size_t row = L.row(t) + b;
  ln_backward_row(dx, dy, L.rhat + row * n, L.rrstd[row], L.ln_hh_w, n);
}

// Whether the cell's hidden-side bias b_hh can be added to the hoisted input
// projection (true for all but the linear-before-reset GRU).
inline bool folds_b_hh(const RnnShape& s) { return !(s.cell == CellKind::kGru && s.reset_after); }

// One time step over live rows [0, bs): forward consumes gates_at(t) (the
// input projection plus folded biases) and h (and c); backward turns the
// saved activations at t into dG (pre-activation gradients, written over
// gates_at(t)) and dh (and dc) into the gradient for step t-1. Fused
// backward steps (HiddenWeights::fused) compute dG of `next` on the GEMM's
// tiles instead, and dG of t first when t is the `first` step visited.
void lstm_forward_step(const LayerCtx& L, int t, int bs);
void lstm_backward_step(const LayerCtx& L, int t, int bs, NextStep next, bool first);
void gru_forward_step(const LayerCtx& L, int t, int bs);
void gru_backward_step(const LayerCtx& L, int t, int bs, NextStep next, bool first);
void rnn_forward_step(const LayerCtx& L, int t, int bs);
void rnn_backward_step(const LayerCtx& L, int t, int bs, NextStep next, bool first);

// Gradients of the recurrent weights over all steps at once, after the
// backward time loop: dW_hh += Σ_t dG_tᵀ h_{t-1}. db_hh += Σ_t dG_t is added
// with db_ih's sums in one pass (add_column_sums), except the GRU
// candidate's part, which differs and which gru_recurrent_weight_grads adds.
void recurrent_weight_grads(const LayerCtx& L, int T, float* dw_hh);
void gru_recurrent_weight_grads(const LayerCtx& L, int T, float* dw_hh, float* db_hh);
// Units [j0, j1) of the GRU candidate's rows of dW_hh (rows 2H + j) and
// of its part of db_hh, without layer norm: what gru_recurrent_weight_grads
// adds (for all H units) after the r and z rows, dG[:, 0:2H]ᵀ · h_{t-1}.
void gru_candidate_weight_grads(const LayerCtx& L, int T, float* dw_hh, float* db_hh, int j0, int j1);

// Column sums of a row-major (rows, cols) matrix with leading dimension ld,
// added to out and, in the same pass, the first also_cols of them to `also`
// (the bias gradients b_ih and b_hh of one dG); either output may be null.
// Each sum adds the rows in order, whatever the thread count.
void add_column_sums(float* out, const float* a, size_t rows, int cols, int ld, float* also = nullptr, int also_cols = 0);

}  // namespace eddy
