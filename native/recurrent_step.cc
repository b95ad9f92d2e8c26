#include "recurrent_step.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "layer_loop.h"
#include "parallel.h"

namespace eddy {

RecurrentStepper::RecurrentStepper(const RnnShape& s, const RnnParams& p) : s_(s), p_(p) {
  if (s.layers != 1 || s.dirs != 1 || s.rec_dropout) throw std::invalid_argument("a stepper runs one layer in one direction");
  s_.T = 1;
  s_.B = 1;
  for (const ParamKind& kind : kParamKinds) {
    for (const float*& v : p_.*kind.value) {
      if (!v) continue;
      owned_.emplace_back(v, v + s_.param_size(kind.size, 0));
      v = owned_.back().data();
    }
  }
  pack_b(w_ih_, true, p_.w_ih[0], s_.I, s_.I, s_.gates() * s_.H);
  pack_hidden_weights(w_hh_, s_, p_.w_hh[0], false);
  folded_bias(bias_, s_, p_, 0);
}

LayerCtx RecurrentStepper::prepare(int B, float* h, float* c) {
  const size_t GH = static_cast<size_t>(s_.gates()) * s_.H;
  if (gates_.size() < B * GH) {
    gates_.resize(B * GH);
    scratch_.resize(B * GH);
    scratch2_.resize(static_cast<size_t>(B) * s_.H);
  }
  s_.B = B;
  LayerCtx L = make_ctx(s_, p_, 0, false);
  L.packed_w_hh = &w_hh_;
  if (folds_input(s_, s_.I, B)) {
    // Each row's bits are those of the projected step (CellStep::x), so a
    // stream's results do not depend on the rows stepped beside it.
    if (!w_folded_.folded_in) pack_hidden_weights(w_folded_, s_, p_.w_hh[0], false, p_.w_ih[0], s_.I);
    if (w_folded_.folded_in) L.packed_w_hh = &w_folded_;
  }
  note_input_projection(L.packed_w_hh->folded_in > 0);
  L.step_bias = step_bias(s_, bias_);
  L.gates = gates_.data();
  L.h = h;
  L.c = c;
  // The step's output is the new state itself (every cell writes h and y from one value).
  L.y = h;
  L.ldy = s_.H;
  L.scratch = scratch_.data();
  L.scratch2 = scratch2_.data();
  return L;
}

void RecurrentStepper::advance(const LayerCtx& L, const float* x, int lo, int hi) {
  if (L.packed_w_hh->folded_in) {
    LayerCtx f = L;
    f.x = x;
    f.x_ld = static_cast<size_t>(s_.I);
    return forward_step(s_.cell, for_group(f, lo, s_), 0, hi - lo);
  }
  project_rows(s_, p_, 0, w_ih_, projection_bias(s_, bias_), x, s_.I, lo, hi, gates_.data(), nullptr, nullptr);
  forward_step(s_.cell, for_group(L, lo, s_), 0, hi - lo);
}

// Whether slots[b] = slots[0] + b for every b.
static bool consecutive(int B, const int32_t* slots) {
  for (int b = 1; b < B; ++b) {
    if (slots[b] != slots[0] + b) return false;
  }
  return true;
}

template <typename Fn>
void RecurrentStepper::for_row_blocks(int B, Fn&& rows) {
  if (B < 2 * kRowsPerTask) return rows(0, B);
  // Rows are independent, so splitting the batch changes no row's
  // arithmetic. Blocks of kRowsPerTask rows go to whichever thread is free,
  // and the step never waits for a thread that has not started: a thread
  // of the pool that wakes late (or is preempted on a busy machine) takes
  // fewer blocks, or none, instead of holding the step back.
  const int blocks = (B + kRowsPerTask - 1) / kRowsPerTask;
  parallel_blocks(blocks, [&](int64_t i) { rows(static_cast<int>(i) * kRowsPerTask, std::min(B, static_cast<int>(i + 1) * kRowsPerTask)); });
}

void RecurrentStepper::step(int B, const float* x, float* h, float* c) {
  if (B < 1) return;
  const LayerCtx L = prepare(B, h, c);
  for_row_blocks(B, [&](int lo, int hi) { advance(L, x, lo, hi); });
}

void RecurrentStepper::step_slots(int B, const float* x, const int32_t* slots, float* h_slab, float* c_slab, float* y,
                                  const LinearRows* head, float* out) {
  if (B < 1) return;
  const size_t H = static_cast<size_t>(s_.H);
  if (consecutive(B, slots)) {
    // The rows are one run of the slabs (streams stepped in the order they
    // were opened, round after round): the cell updates them where they
    // are, and only the output goes to y.
    const size_t at = static_cast<size_t>(slots[0]) * H;
    LayerCtx L = prepare(B, h_slab + at, c_slab ? c_slab + at : nullptr);
    L.y = y;
    for_row_blocks(B, [&](int lo, int hi) {
      advance(L, x, lo, hi);
      if (head) head->run_rows(lo, hi, y, out);
    });
    return;
  }
  if (c_slab && cells_.size() < B * H) cells_.resize(B * H);
  float* c = c_slab ? cells_.data() : nullptr;
  const LayerCtx L = prepare(B, y, c);
  // One group of rows from gather to write-back (and through the head) on
  // one thread, so the rows stay in that core's cache throughout.
  for_row_blocks(B, [&](int lo, int hi) {
    for (int b = lo; b < hi; ++b) {
      const size_t at = static_cast<size_t>(slots[b]) * H;
      std::memcpy(y + b * H, h_slab + at, sizeof(float) * H);
      if (c) std::memcpy(c + b * H, c_slab + at, sizeof(float) * H);
    }
    advance(L, x, lo, hi);
    for (int b = lo; b < hi; ++b) {
      const size_t at = static_cast<size_t>(slots[b]) * H;
      std::memcpy(h_slab + at, y + b * H, sizeof(float) * H);
      if (c) std::memcpy(c_slab + at, c + b * H, sizeof(float) * H);
    }
    if (head) head->run_rows(lo, hi, y, out);
  });
}

}  // namespace eddy
