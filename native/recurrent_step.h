// One time step of one recurrent layer (one direction) for a few streams
// with carried state — the serving path, one call per token. The layer's
// weights are copied and packed once, when the stepper is made; a step
// then does the input projection and the cell step on the packed
// weights with no allocation (scratch grows only when the batch does).
// Same kernels and per-row arithmetic as rnn_forward on the same ISA, so a
// stream stepped token by token matches a whole-sequence call bit for bit.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cell.h"
#include "linear_rows.h"
#include "packed_gemm.h"
#include "recurrent.h"

namespace eddy {

class RecurrentStepper {
 public:
  // s: the layer's shape with layers = dirs = 1 (T and B are ignored); p:
  // its parameters at index 0, copied here.
  RecurrentStepper(const RnnShape& s, const RnnParams& p);

  // Advances B streams one step: x [B, I] in, h [B, H] (and c [B, H] for
  // LSTM) from h_{t-1} to h_t in place; h_t is also the step's output.
  // From 2·kRowsPerTask streams on, blocks of rows run on the pool.
  void step(int B, const float* x, float* h, float* c);

  const RnnShape& shape() const { return s_; }

  // The same for B streams whose states are rows slots[b] of the slabs
  // h_slab (and c_slab for LSTM) [rows, H]: each row is gathered, stepped
  // and written back (or, when the slots are consecutive, stepped where it
  // is); y [B, H] receives the new h, the step's output.
  // Slots must be distinct and inside the slabs (the binding checks).
  // Each thread gathers, steps and writes back its own rows, so the rows
  // never leave that thread's cache between the three. With a head, out
  // [B, head->out()] also receives head(y) for the same rows in the same
  // pass (a Linear layer after the recurrent one: one native call a step).
  void step_slots(int B, const float* x, const int32_t* slots, float* h_slab, float* c_slab, float* y,
                  const LinearRows* head = nullptr, float* out = nullptr);

  // Rows per block handed to a thread: fewer cost more to hand over than
  // to step. A multiple of every kernel's rows per tile (4 for the GEMM; 6,
  // 3 or 2 for the fused LSTM step), so no block ends in a narrow tile.
  static constexpr int kRowsPerTask = 24;

 private:
  RnnShape s_;
  RnnParams p_;
  std::vector<std::vector<float>> owned_;  // the copied parameters
  PackedMatrix w_ih_;
  HiddenWeights w_hh_;
  // W_hh with W_ih below it, for steps of enough rows to fold the input in
  // (folds_input): packed at the first such step.
  HiddenWeights w_folded_;
  std::vector<float> bias_;
  // The context of a step of B rows with state h (and c), the scratch
  // grown to fit (it never shrinks).
  LayerCtx prepare(int B, float* h, float* c);
  // Input projection and cell step of rows [lo, hi).
  void advance(const LayerCtx& L, const float* x, int lo, int hi);
  // rows(lo, hi) over [0, B) in blocks, on the pool from 2·kRowsPerTask rows.
  template <typename Fn>
  void for_row_blocks(int B, Fn&& rows);

  std::vector<float> gates_, scratch_, scratch2_;
  std::vector<float> cells_;  // [B, H] gathered c for step_slots
};

}  // namespace eddy
