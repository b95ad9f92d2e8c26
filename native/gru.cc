// GRU cell, PyTorch gate order r, z, n; h' = (1 − z) ⊙ n + z ⊙ h.
//   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
// linear-before-reset (PyTorch, Keras reset_after=True, ONNX lbr=1):
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   saved: gates = [r, z, n]; extra = W_hn h + b_hn; in backward extra
//   becomes dn_pre ⊙ r, the candidate's gradient on the hidden side.
// reset-before (Keras reset_after=False, ONNX default):
//   n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
//   saved: gates = [r, z, n]; extra = r ⊙ h.
// Only the linear-before-reset form keeps b_hh out of the input projection.
// Layer-normalized (linear-before-reset only): LN_hh normalizes W_hh h
// before b_hh and the reset gate apply.
// Under recurrent dropout every recurrent product takes h ⊙ mask (r ⊙ h ⊙
// mask for the reset-before candidate); the state update uses h itself.
#include <cstring>

#include "activations.h"
#include "cell.h"
#include "layernorm.h"
#include "weight_grad.h"

namespace eddy {

void gru_forward_step(const LayerCtx& L, int t, int bs) {
  if (L.packed_w_hh->fused) {
    // Linear-before-reset without layer norm: one fused pass (packed_gemm.h).
    CellStep st = fused_step_args(L, t, bs);
    st.saved = L.training ? L.extra_at(t, 1) : nullptr;
    st.b_hh = L.b_hh;
    return gru_fused_step(st, L.packed_w_hh->gates);
  }
  const int H = L.H, G3 = 3 * H;
  float* gates = L.gates_at(t);
  float* y = L.y_at(t);
  float* extra = L.training ? L.extra_at(t, 1) : nullptr;
  const ActivationKernels& k = act();
  const float* hin = recurrent_input(L, L.h, bs);
  if (L.reset_after) {
    hidden_gemm(L, false, 0, G3, bs, hin, H, false, L.scratch, G3);
    for (int b = 0; b < bs; ++b) {
      float* a = gates + static_cast<size_t>(b) * G3;
      float* r = L.scratch + static_cast<size_t>(b) * G3;
      if (L.ln) ln_hh_forward(L, t, b, r);
      if (L.b_hh) for (int j = 0; j < G3; ++j) r[j] += L.b_hh[j];
      for (int j = 0; j < 2 * H; ++j) a[j] += r[j];
      k.sigmoid(a, a, 2 * H);
      const float* hn = r + 2 * H;
      for (int j = 0; j < H; ++j) a[2 * H + j] += a[j] * hn[j];
      k.tanh(a + 2 * H, a + 2 * H, H);
      if (extra) std::memcpy(extra + static_cast<size_t>(b) * H, hn, sizeof(float) * H);
      float* h = L.h + static_cast<size_t>(b) * H;
      float* yb = y + static_cast<size_t>(b) * L.ldy;
      for (int j = 0; j < H; ++j) h[j] = yb[j] = (1.0f - a[H + j]) * a[2 * H + j] + a[H + j] * h[j];
    }
    return;
  }
  // Reset-before: r and z first, then the candidate's GEMM on r ⊙ h.
  hidden_gemm(L, false, 0, 2 * H, bs, hin, H, false, L.scratch, G3);
  float* rh = extra ? extra : L.scratch2;
  for (int b = 0; b < bs; ++b) {
    float* a = gates + static_cast<size_t>(b) * G3;
    const float* r = L.scratch + static_cast<size_t>(b) * G3;
    for (int j = 0; j < 2 * H; ++j) a[j] += r[j];
    k.sigmoid(a, a, 2 * H);
    const float* h = hin + static_cast<size_t>(b) * H;
    float* rhb = rh + static_cast<size_t>(b) * H;
    for (int j = 0; j < H; ++j) rhb[j] = a[j] * h[j];
  }
  hidden_gemm(L, false, 2 * H, G3, bs, rh, H, false, L.scratch + 2 * H, G3);
  for (int b = 0; b < bs; ++b) {
    float* a = gates + static_cast<size_t>(b) * G3;
    const float* r = L.scratch + static_cast<size_t>(b) * G3;
    for (int j = 0; j < H; ++j) a[2 * H + j] += r[2 * H + j];
    k.tanh(a + 2 * H, a + 2 * H, H);
    float* h = L.h + static_cast<size_t>(b) * H;
    float* yb = y + static_cast<size_t>(b) * L.ldy;
    for (int j = 0; j < H; ++j) h[j] = yb[j] = (1.0f - a[H + j]) * a[2 * H + j] + a[H + j] * h[j];
  }
}

void gru_backward_step(const LayerCtx& L, int t, int bs, NextStep next, bool first) {
  if (L.packed_w_hh->fused) {
    // Linear-before-reset without layer norm: the GEMM's K runs over [dr, dz] and then dn_pre ⊙ r.
    return run_fused_backward(L, t, bs, next, first, gru_fused_backward_step, [&](CellBackStep& st, NextStep n) {
      st.a2 = L.extra_at(t, 1);
      st.saved = n.bs > 0 ? L.extra_at(n.t, 1) : nullptr;
      st.hprev = n.bs > 0 ? L.hprev_at(n.t) : nullptr;
    });
  }
  const int H = L.H, G3 = 3 * H;
  float* gates = L.gates_at(t);
  float* extra = L.extra_at(t, 1);
  const float* hprev = L.hprev_at(t);
  const float* dy = L.dy ? L.dy_at(t) : nullptr;
  // Pass 1: through h' = (1 − z) n + z h and n = tanh(·); dh keeps the
  // direct path z ⊙ dh' and the recurrent GEMMs add the rest.
  for (int b = 0; b < bs; ++b) {
    float* a = gates + static_cast<size_t>(b) * G3;
    float* dh = L.dh + static_cast<size_t>(b) * H;
    const float* hp = hprev + static_cast<size_t>(b) * H;
    const float* dyb = dy ? dy + static_cast<size_t>(b) * L.ldy : nullptr;
    float* e = extra + static_cast<size_t>(b) * H;
    for (int j = 0; j < H; ++j) {
      const float r = a[j], z = a[H + j], n = a[2 * H + j];
      const float dhj = dh[j] + (dyb ? dyb[j] : 0.0f);
      const float dn_pre = dhj * (1.0f - z) * (1.0f - n * n);
      a[H + j] = dhj * (hp[j] - n) * z * (1.0f - z);
      a[2 * H + j] = dn_pre;
      dh[j] = dhj * z;
      if (L.reset_after) {
        a[j] = dn_pre * e[j] * r * (1.0f - r);  // e = W_hn h + b_hn
        e[j] = dn_pre * r;
      }
    }
  }
  // The gradient of the recurrent GEMMs' input: dh itself, or (under
  // recurrent dropout) scratch3, added to dh through the mask at the end.
  float* dhin = recurrent_grad(L);
  const bool accumulate = !L.mask;
  if (L.reset_after && L.ln) {
    // The recurrent projection's gradient [dr, dz, dn_pre ⊙ r] through LN_hh, then one GEMM.
    for (int b = 0; b < bs; ++b) {
      const size_t row = L.row(t) + b;
      float* d = L.drp + row * G3;
      std::memcpy(d, gates + static_cast<size_t>(b) * G3, sizeof(float) * 2 * H);
      std::memcpy(d + 2 * H, extra + static_cast<size_t>(b) * H, sizeof(float) * H);
      ln_hh_backward(L, t, b, d, d);
    }
    hidden_gemm(L, true, 0, G3, bs, L.drp + L.row(t) * G3, G3, accumulate, dhin, H);
    add_recurrent_grad(L, bs, true);
    return;
  }
  // Reset-before: d(r ⊙ h) = dn_pre · W_hn, then r's gradient and the path through r ⊙ h.
  hidden_gemm(L, true, 2 * H, G3, bs, gates + 2 * H, G3, false, L.scratch2, H);
  for (int b = 0; b < bs; ++b) {
    float* a = gates + static_cast<size_t>(b) * G3;
    const float* drh = L.scratch2 + static_cast<size_t>(b) * H;
    const float* hp = hprev + static_cast<size_t>(b) * H;
    const float* m = L.mask ? L.mask + static_cast<size_t>(b) * H : nullptr;
    float* d = dhin + static_cast<size_t>(b) * H;
    for (int j = 0; j < H; ++j) {
      const float r = a[j];
      const float hin = m ? hp[j] * m[j] : hp[j];
      d[j] = (m ? 0.0f : d[j]) + drh[j] * r;
      a[j] = drh[j] * hin * r * (1.0f - r);
    }
  }
  hidden_gemm(L, true, 0, 2 * H, bs, gates, G3, true, dhin, H);
  add_recurrent_grad(L, bs, true);
}

void gru_candidate_weight_grads(const LayerCtx& L, int T, float* dw_hh, float* db_hh, int j0, int j1) {
  const int H = L.H, G3 = 3 * H, n = j1 - j0;
  if (n <= 0) return;
  const size_t rows = static_cast<size_t>(T) * L.B;
  const int m = static_cast<int>(rows);
  float* dw_n = dw_hh ? dw_hh + (static_cast<size_t>(2) * H + j0) * H : nullptr;
  float* db_n = db_hh ? db_hh + 2 * H + j0 : nullptr;
  if (L.reset_after) {
    if (dw_n) weight_grad(n, H, m, L.extra + j0, H, L.hprev, H, dw_n, H);
    if (db_n) add_column_sums(db_n, L.extra + j0, rows, n, H);
  } else {
    if (dw_n) weight_grad(n, H, m, L.gates + 2 * H + j0, G3, L.extra, H, dw_n, H);
    if (db_n) add_column_sums(db_n, L.gates + 2 * H + j0, rows, n, G3);
  }
}

void gru_recurrent_weight_grads(const LayerCtx& L, int T, float* dw_hh, float* db_hh) {
  const int H = L.H, G3 = 3 * H;
  const size_t rows = static_cast<size_t>(T) * L.B;
  const int m = static_cast<int>(rows);
  if (L.ln) {
    // W_hh saw h and produced what LN_hh normalized: its gradient is drp;
    // b_hh was added after the normalization.
    if (dw_hh) weight_grad(G3, H, m, L.drp, G3, L.hprev, H, dw_hh, H);
    if (db_hh) add_column_sums(db_hh + 2 * H, L.extra, rows, H, H);
    return;
  }
  // r and z rows: dG[:, 0:2H]ᵀ · h_{t-1}
  if (dw_hh) weight_grad(2 * H, H, m, L.gates, G3, L.hprev, H, dw_hh, H);
  gru_candidate_weight_grads(L, T, dw_hh, db_hh, 0, H);
}

}  // namespace eddy
