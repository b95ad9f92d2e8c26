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
// Shape of one parameter: [G·H, in], [G·H, H], [G·H] or [H].
enum class ParamSize : int { kGatesByInput, kGatesByHidden, kGates, kHidden };
// When a kind exists: always; only with bias (may be null per entry); only
// for layer-normalized cells; only for layer-normalized LSTM.
enum class ParamPresence : int { kAlways, kBias, kLayerNorm, kLstmLayerNorm };

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
  // Floats of one (layer, direction)'s parameter of the given size.
  size_t param_size(ParamSize size, int layer) const {
    const size_t GH = static_cast<size_t>(gates()) * H;
    switch (size) {
      case ParamSize::kGatesByInput: return GH * in_size(layer);
      case ParamSize::kGatesByHidden: return GH * H;
      case ParamSize::kGates: return GH;
      default: return H;
    }
  }
  // Whether parameters with this presence exist (kBias: the list exists, entries may be null).
  bool has(ParamPresence presence) const {
    switch (presence) {
      case ParamPresence::kLayerNorm: return layer_norm;
      case ParamPresence::kLstmLayerNorm: return layer_norm && cell == CellKind::kLstm;
      default: return true;
    }
  }
};

// Every parameter kind of one (layer, direction), declared once; the
// structs below, the binding's parsing and copying, and the TypeScript
// layer's lists (lib/native.ts RNN_PARAM_KINDS, checked against
// rnnParamKinds) all derive from this table.
//   X(field, PyTorch name, JS value key, JS gradient key, size, presence)
// Layer-normalized cells (Ba et al., 2016) have gains and shifts for the
// input projection (ln_ih), the recurrent projection (ln_hh) and, for LSTM,
// the cell state (ln_c):
//   gates = LN_ih(W_ih x) + LN_hh(W_hh h) + b,  h' = o ⊙ tanh(LN_c(c'))  (LSTM)
#define EDDY_RNN_PARAMS(X)                                                                   \
  X(w_ih, "weight_ih", "wIh", "gWIh", ParamSize::kGatesByInput, ParamPresence::kAlways)       \
  X(w_hh, "weight_hh", "wHh", "gWHh", ParamSize::kGatesByHidden, ParamPresence::kAlways)      \
  X(b_ih, "bias_ih", "bIh", "gBIh", ParamSize::kGates, ParamPresence::kBias)                   \
  X(b_hh, "bias_hh", "bHh", "gBHh", ParamSize::kGates, ParamPresence::kBias)                   \
  X(ln_ih_w, "layer_norm_ih_weight", "lnIhW", "gLnIhW", ParamSize::kGates, ParamPresence::kLayerNorm) \
  X(ln_ih_b, "layer_norm_ih_bias", "lnIhB", "gLnIhB", ParamSize::kGates, ParamPresence::kLayerNorm)   \
  X(ln_hh_w, "layer_norm_hh_weight", "lnHhW", "gLnHhW", ParamSize::kGates, ParamPresence::kLayerNorm) \
  X(ln_hh_b, "layer_norm_hh_bias", "lnHhB", "gLnHhB", ParamSize::kGates, ParamPresence::kLayerNorm)   \
  X(ln_c_w, "layer_norm_c_weight", "lnCW", "gLnCW", ParamSize::kHidden, ParamPresence::kLstmLayerNorm) \
  X(ln_c_b, "layer_norm_c_bias", "lnCB", "gLnCB", ParamSize::kHidden, ParamPresence::kLstmLayerNorm)

// Parameters of layer l, direction d live at index l·dirs + d; absent kinds
// hold null entries.
struct RnnParams {
#define EDDY_PARAM_FIELD(field, ...) std::vector<const float*> field;
  EDDY_RNN_PARAMS(EDDY_PARAM_FIELD)
#undef EDDY_PARAM_FIELD
};

struct RnnGrads {  // accumulated into (+=); null entries are skipped
#define EDDY_PARAM_FIELD(field, ...) std::vector<float*> field;
  EDDY_RNN_PARAMS(EDDY_PARAM_FIELD)
#undef EDDY_PARAM_FIELD
};

struct ParamKind {
  const char* name;       // PyTorch's state-dict prefix (suffix _l{k}[_reverse])
  const char* value_key;  // JS field of the values
  const char* grad_key;   // JS field of the gradients
  ParamSize size;
  ParamPresence presence;
  std::vector<const float*> RnnParams::*value;
  std::vector<float*> RnnGrads::*grad;
};

inline constexpr ParamKind kParamKinds[] = {
#define EDDY_PARAM_KIND(field, name, value_key, grad_key, size, presence) \
  {name, value_key, grad_key, size, presence, &RnnParams::field, &RnnGrads::field},
    EDDY_RNN_PARAMS(EDDY_PARAM_KIND)
#undef EDDY_PARAM_KIND
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
  int split = -1;                    // how to split steps across threads (layer_loop.h):
                                     // 1 units, 0 batch groups, −1 the rule
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

// How the last forward pass in the process split its steps across threads
// (layer_loop.h): "units", "batch", "directions", "groups" or, before any,
// "none". For runtimeInfo().
const char* last_recurrent_split();
// Whether the last recurrent forward pass (or stepper step) in the process
// folded its input into the steps ("folded", layer_loop.h folds_input) or
// projected it apart ("apart"); "none" before any. For runtimeInfo().
const char* last_input_projection();
// EDDY_RECURRENT_SPLIT for RnnForward::split: 1 units, 0 batch, −1 unset.
// Read as each call is parsed, on the JavaScript thread that makes it: the
// environment is never read on the pool's or libuv's threads, where it
// would race with a process.env write.
int split_request_from_env();
// Forgets what the split rule learnt about waiting teams (layer_loop.h
// note_team_waits); for a new thread count.
void reset_split_rule();
void rnn_backward(const RnnBackward& a);

}  // namespace eddy
