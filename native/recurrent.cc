// The time loop and everything around it: sorting the batch by length,
// hoisting the input projection out of the loop, stacking layers and
// directions, dropout between layers, and the weight gradients as one GEMM
// over all steps. Cells (lstm.cc, gru.cc, rnn.cc) supply the steps.
#include "recurrent.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "cell.h"
#include "gemm.h"

namespace eddy {

void add_column_sums(float* out, const float* a, size_t rows, int cols, int ld) {
  for (size_t r = 0; r < rows; ++r) {
    const float* row = a + r * ld;
    for (int j = 0; j < cols; ++j) out[j] += row[j];
  }
}

namespace {

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Where each saved tensor lives in the workspace (offsets in floats). With
// training = false the same layout serves as inference scratch, minus
// everything backward needs; the gates of all (layer, direction) pairs then
// share one region.
struct Layout {
  std::vector<size_t> gates, hprev, extra;  // per (layer, direction)
  std::vector<size_t> out, mask;            // per layer: outputs [T, B, D·H] (sorted), dropout masks
  size_t xs = 0;                            // sorted, time-major input [T, B, I]
  size_t total = 0;
};

Layout make_layout(const RnnShape& s, bool training, bool dropout) {
  Layout l;
  const size_t TB = static_cast<size_t>(s.T) * s.B, H = s.H, DH = static_cast<size_t>(s.dirs) * s.H;
  size_t at = 0;
  l.xs = at;
  at += TB * s.I;
  size_t shared_gates = 0;
  if (!training) {
    shared_gates = at;
    at += TB * s.gates() * H;
  }
  for (int k = 0; k < s.layers * s.dirs; ++k) {
    if (training) {
      l.gates.push_back(at);
      at += TB * s.gates() * H;
      l.hprev.push_back(at);
      at += TB * H;
      l.extra.push_back(at);
      at += TB * s.extra() * H;
    } else {
      l.gates.push_back(shared_gates);
      l.hprev.push_back(0);
      l.extra.push_back(0);
    }
  }
  for (int k = 0; k < s.layers; ++k) {
    // Inference needs only two layer outputs at a time.
    l.out.push_back(training || k < 2 ? at : l.out[k - 2]);
    if (training || k < 2) at += TB * DH;
    const bool masked = training && dropout && k + 1 < s.layers;
    l.mask.push_back(masked ? at : 0);
    if (masked) at += TB * DH;
  }
  l.total = at;
  return l;
}

// The batch sorted by length, longest first (stable), and how many rows are
// live at each step.
struct Order {
  std::vector<int> perm;         // sorted position → original batch index
  std::vector<int> batch_sizes;  // [T]
  bool identity = true;
};

Order make_order(const RnnShape& s, const int32_t* lengths) {
  Order o;
  o.perm.resize(s.B);
  std::iota(o.perm.begin(), o.perm.end(), 0);
  o.batch_sizes.assign(s.T, s.B);
  if (!lengths) return o;
  for (int b = 0; b < s.B; ++b) {
    if (lengths[b] < 1 || lengths[b] > s.T) throw std::invalid_argument("length out of range");
  }
  std::stable_sort(o.perm.begin(), o.perm.end(), [&](int a, int b) { return lengths[a] > lengths[b]; });
  for (int b = 0; b < s.B; ++b) o.identity = o.identity && o.perm[b] == b;
  for (int t = 0; t < s.T; ++t) {
    int n = 0;
    while (n < s.B && lengths[o.perm[n]] > t) ++n;
    o.batch_sizes[t] = n;
  }
  return o;
}

// Copies a sequence tensor in the user's layout and batch order into the
// sorted, time-major layout (gather) or back (scatter). Rows past a
// sequence's end are zero in the sorted copy.
void gather_seq(float* dst, const float* src, const RnnShape& s, const Order& o, int width) {
  for (int t = 0; t < s.T; ++t) {
    for (int b = 0; b < s.B; ++b) {
      float* d = dst + (static_cast<size_t>(t) * s.B + b) * width;
      if (b >= o.batch_sizes[t] || !src) {
        std::memset(d, 0, sizeof(float) * width);
        continue;
      }
      const int ob = o.perm[b];
      const size_t row = s.batch_first ? static_cast<size_t>(ob) * s.T + t : static_cast<size_t>(t) * s.B + ob;
      std::memcpy(d, src + row * width, sizeof(float) * width);
    }
  }
}

void scatter_seq(float* dst, const float* src, const RnnShape& s, const Order& o, int width) {
  for (int t = 0; t < s.T; ++t) {
    for (int b = 0; b < s.B; ++b) {
      const int ob = o.perm[b];
      const size_t row = s.batch_first ? static_cast<size_t>(ob) * s.T + t : static_cast<size_t>(t) * s.B + ob;
      std::memcpy(dst + row * width, src + (static_cast<size_t>(t) * s.B + b) * width, sizeof(float) * width);
    }
  }
}

// States [L·D, B, H] between user order and sorted order.
void gather_state(float* dst, const float* src, const RnnShape& s, const Order& o) {
  const size_t H = s.H;
  for (int k = 0; k < s.layers * s.dirs; ++k) {
    for (int b = 0; b < s.B; ++b) {
      float* d = dst + (static_cast<size_t>(k) * s.B + b) * H;
      if (src) {
        std::memcpy(d, src + (static_cast<size_t>(k) * s.B + o.perm[b]) * H, sizeof(float) * H);
      } else {
        std::memset(d, 0, sizeof(float) * H);
      }
    }
  }
}

void scatter_state(float* dst, const float* src, const RnnShape& s, const Order& o) {
  const size_t H = s.H;
  for (int k = 0; k < s.layers * s.dirs; ++k) {
    for (int b = 0; b < s.B; ++b) {
      std::memcpy(dst + (static_cast<size_t>(k) * s.B + o.perm[b]) * H, src + (static_cast<size_t>(k) * s.B + b) * H,
                  sizeof(float) * H);
    }
  }
}

// Dropout masks from a counter-based generator: the value at (layer, i)
// depends only on the seed, so results do not depend on thread count.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Multiplies out by a fresh mask (zero with probability p, else 1/(1-p)),
// keeping the mask for backward when given somewhere to put it.
void apply_dropout(float* out, float* mask, size_t n, float p, uint64_t seed, int layer) {
  const float keep = 1.0f / (1.0f - p);
  const uint64_t base = splitmix64(seed ^ (0x5bd1e995ULL * static_cast<uint64_t>(layer + 1)));
  for (size_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(splitmix64(base + i) >> 11) * (1.0 / 9007199254740992.0);
    const float m = u < p ? 0.0f : keep;
    if (mask) mask[i] = m;
    out[i] *= m;
  }
}

void check_shape(const RnnShape& s) {
  if (s.layers < 1 || (s.dirs != 1 && s.dirs != 2) || s.T < 0 || s.B < 0 || s.I < 1 || s.H < 1) {
    throw std::invalid_argument("invalid recurrent shape");
  }
}

LayerCtx make_ctx(const RnnShape& s, const RnnParams& p, int l, int d, bool training) {
  LayerCtx L;
  const int k = l * s.dirs + d;
  L.B = s.B;
  L.H = s.H;
  L.G = s.gates();
  L.training = training;
  L.reset_after = s.reset_after;
  L.relu = s.cell == CellKind::kRnnRelu;
  L.w_hh = p.w_hh[k];
  L.b_hh = p.b_hh[k];
  L.ldy = s.dirs * s.H;
  return L;
}

void forward_step(CellKind cell, const LayerCtx& L, int t, int bs) {
  switch (cell) {
    case CellKind::kLstm: return lstm_forward_step(L, t, bs);
    case CellKind::kGru: return gru_forward_step(L, t, bs);
    default: return rnn_forward_step(L, t, bs);
  }
}

void backward_step(CellKind cell, const LayerCtx& L, int t, int bs) {
  switch (cell) {
    case CellKind::kLstm: return lstm_backward_step(L, t, bs);
    case CellKind::kGru: return gru_backward_step(L, t, bs);
    default: return rnn_backward_step(L, t, bs);
  }
}

// Runs the whole stack forward in sorted order. `ws` is the workspace
// (training) or scratch (inference) laid out by `lay`; states hs, cs
// [L·D, B, H] hold h0/c0 on entry and the final states on return.
void forward_sorted(const RnnForward& a, const Order& o, const Layout& lay, float* ws, float* hs, float* cs) {
  const RnnShape& s = a.s;
  const bool training = a.ws != nullptr;
  const int G = s.gates(), H = s.H, DH = s.dirs * s.H;
  const size_t TB = static_cast<size_t>(s.T) * s.B;
  std::vector<float> scratch(static_cast<size_t>(s.B) * G * H), scratch2(static_cast<size_t>(s.B) * H);
  for (int l = 0; l < s.layers; ++l) {
    const int in = s.in_size(l);
    const float* x = l == 0 ? ws + lay.xs : ws + lay.out[l - 1];
    float* out = ws + lay.out[l];
    for (int d = 0; d < s.dirs; ++d) {
      const int k = l * s.dirs + d;
      LayerCtx L = make_ctx(s, a.p, l, d, training);
      L.gates = ws + lay.gates[k];
      L.extra = training ? ws + lay.extra[k] : nullptr;
      L.y = out + d * H;
      L.h = hs + static_cast<size_t>(k) * s.B * H;
      L.c = cs ? cs + static_cast<size_t>(k) * s.B * H : nullptr;
      L.scratch = scratch.data();
      L.scratch2 = scratch2.data();
      // Hoisted input projection for all steps, with the biases that fold.
      gemm(false, true, static_cast<int>(TB), G * H, in, 1.0f, x, in, a.p.w_ih[k], in, 0.0f, L.gates, G * H);
      const bool fold = folds_b_hh(s);
      if (a.p.b_ih[k] || (fold && a.p.b_hh[k])) {
        std::vector<float> bias(static_cast<size_t>(G) * H, 0.0f);
        for (int j = 0; j < G * H; ++j) {
          bias[j] = (a.p.b_ih[k] ? a.p.b_ih[k][j] : 0.0f) + (fold && a.p.b_hh[k] ? a.p.b_hh[k][j] : 0.0f);
        }
        for (size_t r = 0; r < TB; ++r) {
          float* row = L.gates + r * G * H;
          for (int j = 0; j < G * H; ++j) row[j] += bias[j];
        }
      }
      const bool reverse = d == 1;
      for (int step = 0; step < s.T; ++step) {
        const int t = reverse ? s.T - 1 - step : step;
        const int bs = o.batch_sizes[t];
        if (training) {
          float* hp = ws + lay.hprev[k] + static_cast<size_t>(t) * s.B * H;
          std::memcpy(hp, L.h, sizeof(float) * s.B * H);
          if (s.extra() > 0 && bs < s.B) {
            std::memset(L.extra_at(t, s.extra()) + static_cast<size_t>(bs) * s.extra() * H, 0,
                        sizeof(float) * (s.B - bs) * s.extra() * H);
          }
        }
        if (bs > 0) forward_step(s.cell, L, t, bs);
        // Padded positions produce zeros.
        for (int b = bs; b < s.B; ++b) std::memset(L.y_at(t) + static_cast<size_t>(b) * DH, 0, sizeof(float) * H);
      }
    }
    if (a.dropout > 0 && l + 1 < s.layers) apply_dropout(out, training ? ws + lay.mask[l] : nullptr, TB * DH, a.dropout, a.seed, l);
  }
}

}  // namespace

size_t rnn_workspace_size(const RnnShape& s, float dropout) {
  check_shape(s);
  return make_layout(s, true, dropout > 0).total;
}

void rnn_forward(const RnnForward& a) {
  const RnnShape& s = a.s;
  check_shape(s);
  if (s.T == 0 || s.B == 0) return;
  const bool training = a.ws != nullptr;
  const Order o = make_order(s, a.lengths);
  const Layout lay = make_layout(s, training, a.dropout > 0);
  float* ws = a.ws;
  if (!training) {
    // Inference scratch is reused across calls on the same thread: a fresh
    // allocation of this size would cost page faults on every call.
    thread_local std::vector<float> scratch;
    grow(scratch, lay.total);
    ws = scratch.data();
  }
  const size_t state = static_cast<size_t>(s.layers) * s.dirs * s.B * s.H;
  std::vector<float> hs(state), cs(s.cell == CellKind::kLstm ? state : 0);
  gather_seq(ws + lay.xs, a.x, s, o, s.I);
  gather_state(hs.data(), a.h0, s, o);
  if (!cs.empty()) gather_state(cs.data(), a.c0, s, o);
  forward_sorted(a, o, lay, ws, hs.data(), cs.empty() ? nullptr : cs.data());
  scatter_seq(a.y, ws + lay.out[s.layers - 1], s, o, s.dirs * s.H);
  if (a.hn) scatter_state(a.hn, hs.data(), s, o);
  if (a.cn && !cs.empty()) scatter_state(a.cn, cs.data(), s, o);
}

void rnn_backward(const RnnBackward& a) {
  const RnnForward& f = a.f;
  const RnnShape& s = f.s;
  check_shape(s);
  if (!f.ws) throw std::invalid_argument("backward needs the forward workspace");
  const size_t state = static_cast<size_t>(s.layers) * s.dirs * s.B * s.H;
  if (s.T == 0 || s.B == 0) {
    if (a.dh0) std::memset(a.dh0, 0, sizeof(float) * state);
    if (a.dc0) std::memset(a.dc0, 0, sizeof(float) * state);
    return;
  }
  const Order o = make_order(s, f.lengths);
  const Layout lay = make_layout(s, true, f.dropout > 0);
  float* ws = f.ws;
  const int G = s.gates(), H = s.H, DH = s.dirs * s.H;
  const size_t TB = static_cast<size_t>(s.T) * s.B;
  const bool lstm = s.cell == CellKind::kLstm;

  // Per-thread buffers reused across calls; every element is written before it is read.
  // dys and dxs swap roles between layers, so both fit either.
  thread_local std::vector<float> dys, dxs;
  grow(dys, TB * std::max(s.I, DH));
  grow(dxs, TB * std::max(s.I, DH));
  gather_seq(dys.data(), a.dy, s, o, DH);
  std::vector<float> dhs(state), dcs(lstm ? state : 0);
  gather_state(dhs.data(), a.dhn, s, o);
  if (lstm) gather_state(dcs.data(), a.dcn, s, o);
  std::vector<float> scratch(static_cast<size_t>(s.B) * G * H), scratch2(static_cast<size_t>(s.B) * H);

  for (int l = s.layers - 1; l >= 0; --l) {
    const int in = s.in_size(l);
    const float* x = l == 0 ? ws + lay.xs : ws + lay.out[l - 1];
    const bool need_dx = l > 0 || a.dx;
    for (int d = 0; d < s.dirs; ++d) {
      const int k = l * s.dirs + d;
      LayerCtx L = make_ctx(s, f.p, l, d, true);
      L.gates = ws + lay.gates[k];
      L.extra = ws + lay.extra[k];
      L.hprev = ws + lay.hprev[k];
      L.dy = dys.data() + d * H;
      L.dh = dhs.data() + static_cast<size_t>(k) * s.B * H;
      L.dc = lstm ? dcs.data() + static_cast<size_t>(k) * s.B * H : nullptr;
      L.scratch = scratch.data();
      L.scratch2 = scratch2.data();
      const bool reverse = d == 1;
      for (int step = s.T - 1; step >= 0; --step) {
        const int t = reverse ? s.T - 1 - step : step;
        const int bs = o.batch_sizes[t];
        if (bs > 0) backward_step(s.cell, L, t, bs);
        // Rows past their sequence's end contribute nothing to the weight GEMMs.
        if (bs < s.B) {
          std::memset(L.gates_at(t) + static_cast<size_t>(bs) * G * H, 0, sizeof(float) * (s.B - bs) * G * H);
          if (s.cell == CellKind::kGru && s.reset_after) {
            std::memset(L.extra_at(t, 1) + static_cast<size_t>(bs) * H, 0, sizeof(float) * (s.B - bs) * H);
          }
        }
      }
      const int m = static_cast<int>(TB);
      if (a.g.w_ih[k]) gemm(true, false, G * H, in, m, 1.0f, L.gates, G * H, x, in, 1.0f, a.g.w_ih[k], in);
      if (a.g.b_ih[k]) add_column_sums(a.g.b_ih[k], L.gates, TB, G * H, G * H);
      if (s.cell == CellKind::kGru) {
        gru_recurrent_weight_grads(L, s.T, a.g.w_hh[k], a.g.b_hh[k]);
      } else {
        recurrent_weight_grads(L, s.T, a.g.w_hh[k], a.g.b_hh[k]);
      }
      if (need_dx) gemm(false, false, m, in, G * H, 1.0f, L.gates, G * H, f.p.w_ih[k], in, d == 0 ? 0.0f : 1.0f, dxs.data(), in);
    }
    if (l > 0) {
      // The layer below receives dX, through the dropout mask it was multiplied by.
      std::swap(dys, dxs);
      if (f.dropout > 0) {
        const float* mask = ws + lay.mask[l - 1];
        for (size_t i = 0; i < TB * DH; ++i) dys[i] *= mask[i];
      }
    } else if (a.dx) {
      scatter_seq(a.dx, dxs.data(), s, o, s.I);
    }
  }
  if (a.dh0) scatter_state(a.dh0, dhs.data(), s, o);
  if (a.dc0 && lstm) scatter_state(a.dc0, dcs.data(), s, o);
}

void recurrent_weight_grads(const LayerCtx& L, int T, float* dw_hh, float* db_hh) {
  const int GH = L.G * L.H;
  const size_t rows = static_cast<size_t>(T) * L.B;
  if (dw_hh) gemm(true, false, GH, L.H, static_cast<int>(rows), 1.0f, L.gates, GH, L.hprev, L.H, 1.0f, dw_hh, L.H);
  if (db_hh) add_column_sums(db_hh, L.gates, rows, GH, GH);
}

}  // namespace eddy
