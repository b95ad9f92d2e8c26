// Softmax cross-entropy over the rows of a logits matrix with class-index
// targets, fused: one pass computes each row's log-sum-exp, its loss and
// (when training) its softmax; the backward is one more pass, with no exp.
//
// Row r with logits z (C classes) and target y, class weights w (all ones
// when absent) and label smoothing ε has coefficients
//   a_c = (ε/C)·w_c + (1 − ε)·w_y·[c = y],   S = Σ_c a_c,
// loss_r = Σ_c a_c·(lse − z_c) with lse = log Σ_c e^{z_c} (taken after
// subtracting the row maximum), and d loss_r / d z_c = S·p_c − a_c with
// p = softmax(z). A row whose target is negative does not count: loss 0,
// gradient 0.
#pragma once

#include <cstdint>

namespace eddy {

// losses (R): each row's loss, accumulated in double. probs (R, C): the
// rows' softmax, kept for the backward; may be null (inference).
void softmax_xent_forward(double* losses, float* probs, const float* z, const int32_t* y, const float* w, double eps,
                          int64_t R, int64_t C);

// dz (R, C) = scale_r · (S·p − a) for counted rows, 0 for the others.
// scale (R): the upstream gradient of each row's loss.
void softmax_xent_backward(float* dz, const float* probs, const int32_t* y, const float* w, double eps,
                           const double* scale, int64_t R, int64_t C);

}  // namespace eddy
