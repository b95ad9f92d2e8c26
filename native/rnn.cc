// Vanilla (Elman) RNN cell: h' = act(W_ih x + b_ih + W_hh h + b_hh), act
// tanh or relu. Saved per step: gates_at(t) = h' itself, which is all the
// derivative needs (tanh' = 1 − h'², relu' = [h' > 0]).
#include "cell.h"

namespace eddy {

// The GEMM and the activation run as one fused pass (packed_gemm.h).
void rnn_forward_step(const LayerCtx& L, int t, int bs) {
  CellStep st = fused_step_args(L, t, bs);
  st.relu = L.relu;
  rnn_fused_step(st, L.packed_w_hh->gates);
}

void rnn_backward_step(const LayerCtx& L, int t, int bs) {
  const int H = L.H;
  float* a = L.gates_at(t);
  const float* dy = L.dy ? L.dy_at(t) : nullptr;
  for (int b = 0; b < bs; ++b) {
    float* ab = a + static_cast<size_t>(b) * H;
    const float* dh = L.dh + static_cast<size_t>(b) * H;
    const float* dyb = dy ? dy + static_cast<size_t>(b) * L.ldy : nullptr;
    for (int j = 0; j < H; ++j) {
      const float g = dh[j] + (dyb ? dyb[j] : 0.0f);
      ab[j] = L.relu ? (ab[j] > 0.0f ? g : 0.0f) : g * (1.0f - ab[j] * ab[j]);
    }
  }
  hidden_gemm(L, true, 0, H, bs, a, H, false, recurrent_grad(L), H);
  add_recurrent_grad(L, bs, false);
}

}  // namespace eddy
