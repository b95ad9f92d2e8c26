// Bahdanau's additive attention score, fused: the [B, Tq, Tk, H] tensor of
// tanh arguments is never stored (backward recomputes it a row at a time).
#pragma once

namespace eddy {

// s[b, i, j] = Σ_h v[h] · tanh(qp[b, i, h] + kp[b, j, h])
// s: [B, Tq, Tk]; qp: [B, Tq, H]; kp: [B, Tk, H]; v: [H]
void additive_score_forward(float* s, const float* qp, const float* kp, const float* v, int B, int Tq, int Tk, int H);

// Gradients from ds [B, Tq, Tk], accumulated (+=) into dqp, dkp, dv.
void additive_score_backward(float* dqp, float* dkp, float* dv, const float* ds, const float* qp, const float* kp,
                             const float* v, int B, int Tq, int Tk, int H);

}  // namespace eddy
