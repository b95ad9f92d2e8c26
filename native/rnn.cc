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

// Fused with the recurrent GEMM too: dG of the next step visited on the GEMM's tiles.
void rnn_backward_step(const LayerCtx& L, int t, int bs, NextStep next, bool first) {
  run_fused_backward(L, t, bs, next, first, rnn_fused_backward_step, [&](CellBackStep& st, NextStep) { st.relu = L.relu; });
}

}  // namespace eddy
