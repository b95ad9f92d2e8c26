// Multi-layer, optionally bidirectional recurrent networks (RNN, LSTM, GRU)
// over whole sequences, forward and backward, with PyTorch's weight layout
// and gate orders. Kernels work time-major on a batch sorted by length, so
// the rows still running at step t are a prefix and padding costs nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace eddy {

enum class CellKind : int { kLstm = 0, kGru = 1, kRnnTanh = 2, kRnnRelu = 3 };

struct RnnShape {
  CellKind cell = CellKind::kLstm;
  bool reset_after = true;  // GRU: PyTorch's linear-before-reset formula
  int layers = 1, dirs = 1;
  int T = 0, B = 0, I = 0, H = 0;
  bool batch_first = false;  // layout of x, y and dy, dx (states are always [L·D, B, H])
  bool rec_dropout = false;  // a recurrent dropout mask is given (it takes workspace)
  bool layer_norm = false;   // layer-normalized cell (LSTM, GRU with reset_after)

  int gates() const { return cell == CellKind::kLstm ? 4 : cell == CellKind::kGru ? 3 : 1; }
  int in_size(int layer) const { return layer == 0 ? I : dirs * H; }
  // Floats saved per (row, step) besides the gates and h_{t-1}.
  int extra() const { return cell == CellKind::kLstm ? 2 : cell == CellKind::kGru ? 1 : 0; }
};

// Parameters of layer l, direction d live at index l·dirs + d. Biases may
// be null (bias = false). Layer-normalized cells (Ba et al., 2016) also
// have gains and shifts for the input projection (ln_ih, G·H), the
// recurrent projection (ln_hh, G·H) and, for LSTM, the cell state (ln_c, H):
//   gates = LN_ih(W_ih x) + LN_hh(W_hh h) + b,  h' = o ⊙ tanh(LN_c(c'))  (LSTM)
struct RnnParams {
  std::vector<const float*> w_ih, w_hh, b_ih, b_hh;
  std::vector<const float*> ln_ih_w, ln_ih_b, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b;
};

struct RnnGrads {
  std::vector<float*> w_ih, w_hh, b_ih, b_hh;  // accumulated into (+=)
  std::vector<float*> ln_ih_w, ln_ih_b, ln_hh_w, ln_hh_b, ln_c_w, ln_c_b;
};

struct RnnForward {
  RnnShape s;
  RnnParams p;
  const float* x = nullptr;          // [T, B, I] (or [B, T, I] when batch_first)
  const int32_t* lengths = nullptr;  // [B], 1..T, any order; null = all T
  const float* h0 = nullptr;         // [L·D, B, H] or null (zeros)
  const float* c0 = nullptr;         // LSTM only, or null
  float dropout = 0;                 // between layers (the caller passes 0 in eval mode)
  const float* rec_mask = nullptr;   // [L·D, B, H] recurrent (variational) dropout mask, or null:
                                     // h_{t-1} ⊙ mask feeds the recurrent GEMM at every step
  uint64_t seed = 0;                 // for the dropout masks
  float* y = nullptr;                // [T, B, D·H] (or [B, T, D·H])
  float* hn = nullptr;               // [L·D, B, H]
  float* cn = nullptr;               // LSTM only
  float* ws = nullptr;               // workspace for backward, or null for inference
};

struct RnnBackward {
  RnnForward f;                      // the forward call, with its workspace
  const float* dy = nullptr;         // like y, or null
  const float* dhn = nullptr;        // like hn, or null
  const float* dcn = nullptr;        // like cn, or null
  float* dx = nullptr;               // like x, or null when not needed (overwritten)
  float* dh0 = nullptr;              // like h0, or null (overwritten)
  float* dc0 = nullptr;              // like c0, or null (overwritten)
  RnnGrads g;                        // null entries are skipped
};

// Floats of workspace a training forward needs (kept until backward).
size_t rnn_workspace_size(const RnnShape& s, float dropout);

void rnn_forward(const RnnForward& a);
void rnn_backward(const RnnBackward& a);

}  // namespace eddy
