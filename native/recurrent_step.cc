#include "recurrent_step.h"

#include <stdexcept>

#include "layer_loop.h"

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

void RecurrentStepper::step(int B, const float* x, float* h, float* c) {
  if (B < 1) return;
  const size_t GH = static_cast<size_t>(s_.gates()) * s_.H;
  if (gates_.size() < B * GH) {
    gates_.resize(B * GH);
    scratch_.resize(B * GH);
    scratch2_.resize(static_cast<size_t>(B) * s_.H);
  }
  s_.B = B;
  project_rows(s_, p_, 0, w_ih_, bias_.empty() ? nullptr : bias_.data(), x, s_.I, 0, B, gates_.data(), nullptr, nullptr);
  LayerCtx L = make_ctx(s_, p_, 0, false);
  L.packed_w_hh = &w_hh_;
  L.gates = gates_.data();
  L.h = h;
  L.c = c;
  // The step's output is the new state itself (every cell writes h and y from one value).
  L.y = h;
  L.ldy = s_.H;
  L.scratch = scratch_.data();
  L.scratch2 = scratch2_.data();
  forward_step(s_.cell, L, 0, B);
}

}  // namespace eddy
