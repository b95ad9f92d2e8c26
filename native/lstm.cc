// LSTM cell, PyTorch gate order i, f, g, o:
//   i = σ(·), f = σ(·), g = tanh(·), o = σ(·)   (each W_i·x + b_i + W_h·h + b_h)
//   c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
// Saved per step (training): gates_at(t) = [i, f, g, o] (B, 4H);
// extra = [c_{t-1}, tanh(c_t)] (B, 2H) — tanh(LN_c(c_t)) when layer-normalized.
#include "activations.h"
#include "cell.h"
#include "layernorm.h"

#include <cstring>

namespace eddy {

namespace {

// The step fused with its gate epilogue (packed_gemm.h).
void fused_forward_step(const LayerCtx& L, int t, int bs) {
  CellStep st = fused_step_args(L, t, bs);
  st.saved = L.training ? L.extra_at(t, 2) : nullptr;
  st.c = L.c;
  lstm_fused_step(st, L.packed_w_hh->gates);
}

}  // namespace

void lstm_forward_step(const LayerCtx& L, int t, int bs) {
  if (L.packed_w_hh->fused) return fused_forward_step(L, t, bs);
  const int H = L.H, G4 = 4 * H;
  hidden_gemm(L, false, 0, G4, bs, recurrent_input(L, L.h, bs), H, false, L.scratch, G4);
  float* gates = L.gates_at(t);
  float* saved = L.training ? L.extra_at(t, 2) : nullptr;
  float* y = L.y_at(t);
  const ActivationKernels& k = act();
  const bool keep = L.ln && L.training;
  for (int b = 0; b < bs; ++b) {
    float* a = gates + static_cast<size_t>(b) * G4;
    float* r = L.scratch + static_cast<size_t>(b) * G4;
    if (L.ln) ln_hh_forward(L, t, b, r);
    for (int j = 0; j < G4; ++j) a[j] += r[j];
    k.sigmoid(a, a, 2 * H);          // i, f
    k.tanh(a + 2 * H, a + 2 * H, H);  // g
    k.sigmoid(a + 3 * H, a + 3 * H, H);  // o
    const float *i = a, *f = a + H, *g = a + 2 * H, *o = a + 3 * H;
    float* c = L.c + static_cast<size_t>(b) * H;
    float* h = L.h + static_cast<size_t>(b) * H;
    // tanh(c') goes to the workspace when training, else to this row's
    // already-consumed slice of the GEMM scratch.
    float* tc = saved ? saved + static_cast<size_t>(b) * 2 * H + H : L.scratch + static_cast<size_t>(b) * G4;
    if (saved) std::memcpy(saved + static_cast<size_t>(b) * 2 * H, c, sizeof(float) * H);
    for (int j = 0; j < H; ++j) c[j] = f[j] * c[j] + i[j] * g[j];
    if (L.ln) {
      const size_t row = L.row(t) + b;
      ln_forward_row(tc, keep ? L.chat + row * H : nullptr, keep ? L.crstd + row : nullptr, c, L.ln_c_w, L.ln_c_b, H);
      k.tanh(tc, tc, H);
    } else {
      k.tanh(tc, c, H);
    }
    float* yb = y + static_cast<size_t>(b) * L.ldy;
    for (int j = 0; j < H; ++j) h[j] = yb[j] = o[j] * tc[j];
  }
}

void lstm_backward_step(const LayerCtx& L, int t, int bs, NextStep next, bool first) {
  if (L.packed_w_hh->fused) {
    return run_fused_backward(L, t, bs, next, first, lstm_fused_backward_step, [&](CellBackStep& st, NextStep n) {
      st.dc = L.dc;
      st.saved = n.bs > 0 ? L.extra_at(n.t, 2) : nullptr;
    });
  }
  const int H = L.H, G4 = 4 * H;
  float* gates = L.gates_at(t);
  const float* saved = L.extra_at(t, 2);
  const float* dy = L.dy ? L.dy_at(t) : nullptr;
  for (int b = 0; b < bs; ++b) {
    float* a = gates + static_cast<size_t>(b) * G4;
    const float* cprev = saved + static_cast<size_t>(b) * 2 * H;
    const float* tc = cprev + H;
    float* dh = L.dh + static_cast<size_t>(b) * H;
    float* dc = L.dc + static_cast<size_t>(b) * H;
    const float* dyb = dy ? dy + static_cast<size_t>(b) * L.ldy : nullptr;
    // d(tanh argument): straight into dc, or through LN_c first.
    float* dlnc = L.ln ? L.dlnc + (L.row(t) + b) * H : L.scratch2 + static_cast<size_t>(b) * H;
    for (int j = 0; j < H; ++j) {
      const float dhj = dh[j] + (dyb ? dyb[j] : 0.0f);
      dlnc[j] = dhj * a[3 * H + j] * (1.0f - tc[j] * tc[j]);
      a[3 * H + j] = dhj * tc[j] * a[3 * H + j] * (1.0f - a[3 * H + j]);  // do, pre-activation
    }
    const float* dc_new = dlnc;
    if (L.ln) {
      const size_t row = L.row(t) + b;
      float* tmp = L.scratch2 + static_cast<size_t>(b) * H;
      ln_backward_row(tmp, dlnc, L.chat + row * H, L.crstd[row], L.ln_c_w, H);
      dc_new = tmp;
    }
    for (int j = 0; j < H; ++j) {
      const float i = a[j], f = a[H + j], g = a[2 * H + j];
      const float dcj = dc[j] + dc_new[j];
      a[j] = dcj * g * i * (1.0f - i);
      a[H + j] = dcj * cprev[j] * f * (1.0f - f);
      a[2 * H + j] = dcj * i * (1.0f - g * g);
      dc[j] = dcj * f;
    }
  }
  // The recurrent projection's gradient: dG itself, or through LN_hh.
  const float* drp = gates;
  if (L.ln) {
    for (int b = 0; b < bs; ++b) ln_hh_backward(L, t, b, L.drp + (L.row(t) + b) * G4, gates + static_cast<size_t>(b) * G4);
    drp = L.drp + L.row(t) * G4;
  }
  // dh_{t-1} = d(W_hh h) · W_hh for the live rows (times the mask under recurrent dropout).
  hidden_gemm(L, true, 0, G4, bs, drp, G4, false, recurrent_grad(L), H);
  add_recurrent_grad(L, bs, false);
}

}  // namespace eddy
