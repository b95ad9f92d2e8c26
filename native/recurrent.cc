// The time loop and everything around it: ordering the batch by length,
// hoisting the input projection out of the loop, stacking layers and
// directions, dropout between layers, and the weight gradients as one GEMM
// over all steps. Cells (lstm.cc, gru.cc, rnn.cc) supply the steps.
//
// Parallelism: sequences are independent, so the batch is dealt into groups
// and every (direction, group) runs its whole time loop on one thread with
// single-threaded GEMMs — no synchronisation per step. The GEMMs over all
// steps (input projection, weight gradients) are split by gemm() itself.
#include "recurrent.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "cell.h"
#include "gemm.h"
#include "layernorm.h"
#include "parallel.h"

namespace eddy {

void add_column_sums(float* out, const float* a, size_t rows, int cols, int ld) {
  for (size_t r = 0; r < rows; ++r) {
    const float* row = a + r * ld;
    for (int j = 0; j < cols; ++j) out[j] += row[j];
  }
}

void recurrent_weight_grads(const LayerCtx& L, int T, float* dw_hh, float* db_hh) {
  const int GH = L.G * L.H;
  const size_t rows = static_cast<size_t>(T) * L.B;
  // W_hh's output gradient: dG, or (layer-normalized) the gradient before LN_hh.
  const float* dr = L.ln ? L.drp : L.gates;
  if (dw_hh) gemm(true, false, GH, L.H, static_cast<int>(rows), 1.0f, dr, GH, L.hprev, L.H, 1.0f, dw_hh, L.H);
  if (db_hh) add_column_sums(db_hh, L.gates, rows, GH, GH);
}

namespace {

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Per-thread buffers larger than this are given back after each call, so a
// rare huge call does not pin its memory on every thread that ran one.
constexpr size_t kKeepFloats = size_t(1) << 24;

void release_if_large(std::vector<float>& v) {
  if (v.capacity() > kKeepFloats) std::vector<float>().swap(v);
}

// Where each saved tensor lives in the workspace (offsets in floats). With
// training = false the same layout serves as inference scratch, minus
// everything backward needs; the gates of all layers then share one region
// per direction.
struct Layout {
  std::vector<size_t> gates, hprev, extra;  // per (layer, direction)
  // Layer-normalized cells, per (layer, direction): normalized input and
  // recurrent projections [T, B, G·H] and cell states [T, B, H], with 1/std per row.
  std::vector<size_t> xhat, xrstd, rhat, rrstd, chat, crstd;
  std::vector<size_t> out, mask;            // per layer: outputs [T, B, D·H] (internal order), dropout masks
  size_t xs = 0;                            // input [T, B, I] in internal order
  size_t rmask = 0;                         // recurrent dropout masks [L·D, B, H], internal order
  size_t groups = 0;                        // one float: the forward pass's group count
  size_t total = 0;
};

// Inference projects the input a block of steps at a time, so its scratch
// holds gates for one block (about kBlockFloats floats) rather than for all T.
constexpr size_t kBlockFloats = size_t(1) << 22;

int block_steps(const RnnShape& s, bool training) {
  if (training) return s.T;
  const size_t per_step = static_cast<size_t>(s.B) * s.gates() * s.H;
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(s.T, kBlockFloats / std::max<size_t>(per_step, 1))));
}

Layout make_layout(const RnnShape& s, bool training, bool dropout) {
  Layout l;
  const size_t TB = static_cast<size_t>(s.T) * s.B, H = s.H, DH = static_cast<size_t>(s.dirs) * s.H;
  const size_t gates = static_cast<size_t>(block_steps(s, training)) * s.B * s.gates() * H;
  size_t at = 0;
  l.xs = at;
  at += TB * s.I;
  const size_t shared_gates = at;
  if (!training) at += s.dirs * gates;
  for (int k = 0; k < s.layers * s.dirs; ++k) {
    if (training) {
      l.gates.push_back(at);
      at += gates;
      l.hprev.push_back(at);
      at += TB * H;
      l.extra.push_back(at);
      at += TB * s.extra() * H;
      if (s.layer_norm) {
        const size_t GH = static_cast<size_t>(s.gates()) * H, CH = s.cell == CellKind::kLstm ? H : 0;
        const std::pair<std::vector<size_t>*, size_t> parts[] = {
            {&l.xhat, TB * GH}, {&l.xrstd, TB}, {&l.rhat, TB * GH}, {&l.rrstd, TB}, {&l.chat, TB * CH}, {&l.crstd, CH ? TB : 0}};
        for (const auto& [list, size] : parts) {
          list->push_back(at);
          at += size;
        }
      }
    } else {
      l.gates.push_back(shared_gates + (k % s.dirs) * gates);
      l.hprev.push_back(0);
      l.extra.push_back(0);
    }
  }
  if (training) {
    // The group count the forward pass used, so backward replays the same
    // batch order even if the thread count changed in between.
    l.groups = at;
    at += 1;
  }
  if (s.rec_dropout) {
    l.rmask = at;
    at += static_cast<size_t>(s.layers) * s.dirs * s.B * H;
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

// A group of sequences that one thread runs through time: rows
// [off, off + size) of the internal order, longest first, so the rows still
// running at step t are the first batch_sizes[t].
struct Group {
  int off = 0, size = 0;
  std::vector<int> batch_sizes;  // [T]
};

// The internal batch order: sequences sorted by length (stable), then dealt
// round-robin into groups, so groups get similar amounts of work.
struct Order {
  std::vector<int> perm;  // internal row → original batch index
  std::vector<int> len;   // internal row → sequence length
  std::vector<Group> groups;
};

Order make_order(const RnnShape& s, const int32_t* lengths, int groups) {
  Order o;
  std::vector<int> sorted(s.B);
  std::iota(sorted.begin(), sorted.end(), 0);
  auto length = [&](int b) { return lengths ? lengths[b] : s.T; };
  for (int b = 0; b < s.B; ++b) {
    if (length(b) < 1 || length(b) > s.T) throw std::invalid_argument("length out of range");
  }
  std::stable_sort(sorted.begin(), sorted.end(), [&](int a, int b) { return length(a) > length(b); });
  groups = std::max(1, std::min(groups, s.B));
  for (int g = 0; g < groups; ++g) {
    Group grp;
    grp.off = static_cast<int>(o.perm.size());
    for (int i = g; i < s.B; i += groups) o.perm.push_back(sorted[i]);
    grp.size = static_cast<int>(o.perm.size()) - grp.off;
    grp.batch_sizes.assign(s.T, 0);
    for (int t = 0; t < s.T; ++t) {
      int n = 0;
      while (n < grp.size && length(o.perm[grp.off + n]) > t) ++n;
      grp.batch_sizes[t] = n;
    }
    o.groups.push_back(std::move(grp));
  }
  for (int b = 0; b < s.B; ++b) o.len.push_back(length(o.perm[b]));
  return o;
}

// How many groups to deal the batch into: enough (direction, group) tasks
// for every thread, but no group smaller than 8 rows, below which a GEMM
// per step stops paying for a thread.
int group_count(const RnnShape& s) {
  const int threads = num_threads();
  const int wanted = (threads + s.dirs - 1) / s.dirs;
  return std::max(1, std::min(wanted, s.B / 8));
}

size_t user_row(const RnnShape& s, int original, int t) {
  return s.batch_first ? static_cast<size_t>(original) * s.T + t : static_cast<size_t>(t) * s.B + original;
}

// Copies a sequence tensor in the user's layout and batch order into the
// internal time-major order (gather) or back (scatter). Steps past a
// sequence's end are zero in the internal copy.
void gather_seq(float* dst, const float* src, const RnnShape& s, const Order& o, int width) {
  for (int t = 0; t < s.T; ++t) {
    for (int b = 0; b < s.B; ++b) {
      float* d = dst + (static_cast<size_t>(t) * s.B + b) * width;
      if (!src || t >= o.len[b]) {
        std::memset(d, 0, sizeof(float) * width);
      } else {
        std::memcpy(d, src + user_row(s, o.perm[b], t) * width, sizeof(float) * width);
      }
    }
  }
}

void scatter_seq(float* dst, const float* src, const RnnShape& s, const Order& o, int width) {
  for (int t = 0; t < s.T; ++t) {
    for (int b = 0; b < s.B; ++b) {
      std::memcpy(dst + user_row(s, o.perm[b], t) * width, src + (static_cast<size_t>(t) * s.B + b) * width,
                  sizeof(float) * width);
    }
  }
}

// States [L·D, B, H] between user order and internal order.
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

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Multiplies a layer's output [T, B, width] (internal order) by a fresh
// dropout mask (0 with probability p, else 1/(1-p)), keeping the mask for
// backward when given somewhere to put it. Each value depends only on
// (seed, layer, step, original sequence, column), so neither the batch
// order nor the thread count changes the masks.
void apply_dropout(float* out, float* mask, const RnnShape& s, const Order& o, int width, float p, uint64_t seed,
                   int layer) {
  const float keep = 1.0f / (1.0f - p);
  const uint64_t base = splitmix64(seed ^ (0x5bd1e995ULL * static_cast<uint64_t>(layer + 1)));
  for (int t = 0; t < s.T; ++t) {
    for (int b = 0; b < s.B; ++b) {
      const size_t row = static_cast<size_t>(t) * s.B + b;
      const uint64_t key = base + (static_cast<uint64_t>(t) * s.B + o.perm[b]) * width;
      for (int j = 0; j < width; ++j) {
        const double u = static_cast<double>(splitmix64(key + j) >> 11) * (1.0 / 9007199254740992.0);
        const float m = u < p ? 0.0f : keep;
        if (mask) mask[row * width + j] = m;
        out[row * width + j] *= m;
      }
    }
  }
}

void check_shape(const RnnShape& s) {
  if (s.layers < 1 || (s.dirs != 1 && s.dirs != 2) || s.T < 0 || s.B < 0 || s.I < 1 || s.H < 1) {
    throw std::invalid_argument("invalid recurrent shape");
  }
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

// Buffers of one (layer, direction), for all rows; a task narrows them to
// its group with `for_group`.
struct LayerBuffers {
  float *gates = nullptr, *extra = nullptr, *hprev = nullptr;
  float *y = nullptr, *h = nullptr, *c = nullptr, *scratch = nullptr, *scratch2 = nullptr, *scratch3 = nullptr;
  const float* mask = nullptr;
  const float* dy = nullptr;
  float *dh = nullptr, *dc = nullptr;
  float *rhat = nullptr, *rrstd = nullptr, *chat = nullptr, *crstd = nullptr, *drp = nullptr, *dlnc = nullptr;
};

LayerCtx make_ctx(const RnnShape& s, const RnnParams& p, int k, bool training, const LayerBuffers& buf) {
  LayerCtx L;
  L.B = s.B;
  L.H = s.H;
  L.G = s.gates();
  L.training = training;
  L.reset_after = s.reset_after;
  L.relu = s.cell == CellKind::kRnnRelu;
  L.w_hh = p.w_hh[k];
  L.b_hh = p.b_hh[k];
  L.ldy = s.dirs * s.H;
  L.gates = buf.gates;
  L.extra = buf.extra;
  L.hprev = buf.hprev;
  L.y = buf.y;
  L.h = buf.h;
  L.c = buf.c;
  L.scratch = buf.scratch;
  L.scratch2 = buf.scratch2;
  L.scratch3 = buf.scratch3;
  L.mask = buf.mask;
  L.ln = s.layer_norm;
  if (L.ln) {
    L.ln_hh_w = p.ln_hh_w[k];
    L.ln_hh_b = p.ln_hh_b[k];
    L.ln_c_w = p.ln_c_w[k];
    L.ln_c_b = p.ln_c_b[k];
  }
  L.rhat = buf.rhat;
  L.rrstd = buf.rrstd;
  L.chat = buf.chat;
  L.crstd = buf.crstd;
  L.drp = buf.drp;
  L.dlnc = buf.dlnc;
  L.dy = buf.dy;
  L.dh = buf.dh;
  L.dc = buf.dc;
  return L;
}

// The context seen by the task running rows [off, off + n): every row
// pointer moves by `off` rows (the step stride stays B rows).
LayerCtx for_group(LayerCtx L, int off, const RnnShape& s) {
  const size_t H = s.H, GH = static_cast<size_t>(s.gates()) * H, E = static_cast<size_t>(s.extra()) * H;
  auto move = [off](auto* p, size_t width) { return p ? p + off * width : p; };
  L.gates = move(L.gates, GH);
  L.extra = move(L.extra, E);
  L.hprev = move(L.hprev, H);
  L.y = move(L.y, static_cast<size_t>(L.ldy));
  L.dy = move(L.dy, static_cast<size_t>(L.ldy));
  L.h = move(L.h, H);
  L.c = move(L.c, H);
  L.dh = move(L.dh, H);
  L.dc = move(L.dc, H);
  L.scratch = move(L.scratch, GH);
  L.scratch2 = move(L.scratch2, H);
  L.scratch3 = move(L.scratch3, H);
  L.mask = move(L.mask, H);
  L.rhat = move(L.rhat, GH);
  L.rrstd = move(L.rrstd, 1);
  L.chat = move(L.chat, H);
  L.crstd = move(L.crstd, 1);
  L.drp = move(L.drp, GH);
  L.dlnc = move(L.dlnc, H);
  return L;
}

// Runs fn(direction, group) for every pair: on the pool when there are
// several, inline otherwise (so the per-step GEMMs can use the pool).
template <typename Fn>
void for_each_task(int dirs, const Order& o, Fn&& fn) {
  const int groups = static_cast<int>(o.groups.size());
  const int tasks = dirs * groups;
  if (tasks == 1) return fn(0, o.groups[0]);
  parallel_for(tasks, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fn(static_cast<int>(i / groups), o.groups[static_cast<size_t>(i % groups)]);
  });
}

// Runs steps [first, last) of the direction's order (forward: t = step;
// reverse: t = T − 1 − step).
void forward_loop(CellKind cell, const RnnShape& s, LayerCtx L, const Group& g, bool reverse, int first, int last) {
  const int H = s.H, E = s.extra();
  for (int step = first; step < last; ++step) {
    const int t = reverse ? s.T - 1 - step : step;
    const int bs = g.batch_sizes[t];
    if (L.training) {
      std::memcpy(const_cast<float*>(L.hprev_at(t)), L.h, sizeof(float) * g.size * H);
      if (E > 0 && bs < g.size) {
        std::memset(L.extra_at(t, E) + static_cast<size_t>(bs) * E * H, 0, sizeof(float) * (g.size - bs) * E * H);
      }
      if (L.ln && bs < g.size) {
        // Finished rows keep well-defined (zero) normalization records.
        const size_t first = L.row(t) + bs, n = g.size - bs, GH = static_cast<size_t>(L.G) * H;
        std::memset(L.rhat + first * GH, 0, sizeof(float) * n * GH);
        std::memset(L.rrstd + first, 0, sizeof(float) * n);
        if (L.chat) {
          std::memset(L.chat + first * H, 0, sizeof(float) * n * H);
          std::memset(L.crstd + first, 0, sizeof(float) * n);
        }
      }
    }
    if (bs > 0) forward_step(cell, L, t, bs);
    // Padded positions output zeros.
    for (int b = bs; b < g.size; ++b) std::memset(L.y_at(t) + static_cast<size_t>(b) * L.ldy, 0, sizeof(float) * H);
  }
}

void backward_loop(CellKind cell, const RnnShape& s, LayerCtx L, const Group& g, bool reverse) {
  const int H = s.H, GH = s.gates() * s.H;
  for (int step = s.T - 1; step >= 0; --step) {
    const int t = reverse ? s.T - 1 - step : step;
    const int bs = g.batch_sizes[t];
    if (bs > 0) backward_step(cell, L, t, bs);
    // Rows past their sequence's end contribute nothing to the weight GEMMs.
    if (bs < g.size) {
      std::memset(L.gates_at(t) + static_cast<size_t>(bs) * GH, 0, sizeof(float) * (g.size - bs) * GH);
      if (cell == CellKind::kGru && s.reset_after) {
        std::memset(L.extra_at(t, 1) + static_cast<size_t>(bs) * H, 0, sizeof(float) * (g.size - bs) * H);
      }
      if (L.ln) {
        const size_t first = L.row(t) + bs, n = g.size - bs;
        std::memset(L.drp + first * GH, 0, sizeof(float) * n * GH);
        if (L.dlnc) std::memset(L.dlnc + first * H, 0, sizeof(float) * n * H);
      }
    }
  }
}

// Input projection of `steps` consecutive time steps at once (x points at
// the first), plus the biases that fold into it.
// Layer-normalized cells normalize each row (saving x̂ and 1/std in xhat,
// xrstd when given) before the biases.
void project_input(const RnnShape& s, const RnnParams& p, int k, const float* x, int in, int steps, float* gates,
                   float* xhat, float* xrstd) {
  const int GH = s.gates() * s.H;
  const size_t TB = static_cast<size_t>(steps) * s.B;
  gemm(false, true, static_cast<int>(TB), GH, in, 1.0f, x, in, p.w_ih[k], in, 0.0f, gates, GH);
  if (s.layer_norm) {
    parallel_for(static_cast<int64_t>(TB), 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        ln_forward_row(gates + r * GH, xhat ? xhat + r * GH : nullptr, xrstd ? xrstd + r : nullptr, gates + r * GH,
                       p.ln_ih_w[k], p.ln_ih_b[k], GH);
      }
    });
  }
  const bool fold = folds_b_hh(s) && p.b_hh[k];
  if (!p.b_ih[k] && !fold) return;
  std::vector<float> bias(GH, 0.0f);
  for (int j = 0; j < GH; ++j) bias[j] = (p.b_ih[k] ? p.b_ih[k][j] : 0.0f) + (fold ? p.b_hh[k][j] : 0.0f);
  parallel_for(static_cast<int64_t>(TB), 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = gates + r * GH;
      for (int j = 0; j < GH; ++j) row[j] += bias[j];
    }
  });
}

// Adds Σ_rows a ⊙ b (or Σ_rows a when b is null) to out, column by column.
void add_weighted_column_sums(float* out, const float* a, const float* b, size_t rows, int cols, int lda, int ldb) {
  if (!out) return;
  for (size_t r = 0; r < rows; ++r) {
    const float* ar = a + r * lda;
    const float* br = b ? b + r * ldb : nullptr;
    for (int j = 0; j < cols; ++j) out[j] += br ? ar[j] * br[j] : ar[j];
  }
}

// After the backward time loop of a layer-normalized (layer, direction):
// the gains' and shifts' gradients, and d(W_ih x) — dG through LN_ih —
// written over drp (whose recurrent-weight gradients are already taken).
void layer_norm_grads(const RnnShape& s, const RnnParams& p, const RnnGrads& g, int k, const LayerCtx& L,
                      const float* xhat, const float* xrstd) {
  const int H = s.H, GH = s.gates() * H;
  const size_t rows = static_cast<size_t>(s.T) * s.B;
  // LN_hh's output gradient: dG for LSTM; [dr, dz | dn_pre ⊙ r] for GRU.
  if (s.cell == CellKind::kGru) {
    add_weighted_column_sums(g.ln_hh_w[k], L.gates, L.rhat, rows, 2 * H, GH, GH);
    add_weighted_column_sums(g.ln_hh_w[k] ? g.ln_hh_w[k] + 2 * H : nullptr, L.extra, L.rhat + 2 * H, rows, H, H, GH);
    add_weighted_column_sums(g.ln_hh_b[k], L.gates, nullptr, rows, 2 * H, GH, 0);
    add_weighted_column_sums(g.ln_hh_b[k] ? g.ln_hh_b[k] + 2 * H : nullptr, L.extra, nullptr, rows, H, H, 0);
  } else {
    add_weighted_column_sums(g.ln_hh_w[k], L.gates, L.rhat, rows, GH, GH, GH);
    add_weighted_column_sums(g.ln_hh_b[k], L.gates, nullptr, rows, GH, GH, 0);
    add_weighted_column_sums(g.ln_c_w[k], L.dlnc, L.chat, rows, H, H, H);
    add_weighted_column_sums(g.ln_c_b[k], L.dlnc, nullptr, rows, H, H, 0);
  }
  // LN_ih: its output gradient is dG (rows past a sequence's end are zero).
  add_weighted_column_sums(g.ln_ih_w[k], L.gates, xhat, rows, GH, GH, GH);
  add_weighted_column_sums(g.ln_ih_b[k], L.gates, nullptr, rows, GH, GH, 0);
  parallel_for(static_cast<int64_t>(rows), 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) ln_backward_row(L.drp + r * GH, L.gates + r * GH, xhat + r * GH, xrstd[r], p.ln_ih_w[k], GH);
  });
}

// Runs the whole stack forward in internal order. `ws` is the workspace
// (training) or scratch (inference) laid out by `lay`; states hs, cs
// [L·D, B, H] hold h0/c0 on entry and the final states on return.
void forward_internal(const RnnForward& a, const Order& o, const Layout& lay, float* ws, float* hs, float* cs) {
  const RnnShape& s = a.s;
  const bool training = a.ws != nullptr;
  const int G = s.gates(), H = s.H, DH = s.dirs * s.H;
  const size_t BH = static_cast<size_t>(s.B) * H;
  // Thread-local buffers are named through plain pointers below: inside a
  // lambda running on a pool thread the name would mean that thread's copy.
  thread_local std::vector<float> scratch_buf, scratch2_buf, scratch3_buf;
  grow(scratch_buf, s.dirs * BH * G);
  grow(scratch2_buf, s.dirs * BH);
  grow(scratch3_buf, s.dirs * BH);
  float* scratch = scratch_buf.data();
  float* scratch2 = scratch2_buf.data();
  float* scratch3 = scratch3_buf.data();
  const float* masks = s.rec_dropout ? ws + lay.rmask : nullptr;
  const int block = block_steps(s, training);
  for (int l = 0; l < s.layers; ++l) {
    const int in = s.in_size(l);
    const float* x = l == 0 ? ws + lay.xs : ws + lay.out[l - 1];
    float* out = ws + lay.out[l];
    // Blocks of steps in each direction's order: the forward direction's
    // block b covers steps [b·block, …), the reverse one mirrors it.
    for (int first = 0; first < s.T; first += block) {
      const int last = std::min(s.T, first + block);
      auto t0 = [&](int d) { return d == 0 ? first : s.T - last; };
      for (int d = 0; d < s.dirs; ++d) {
        const int k = l * s.dirs + d;
        const float* xb = x + static_cast<size_t>(t0(d)) * s.B * in;
        const bool keep = training && s.layer_norm;
        project_input(s, a.p, k, xb, in, last - first, ws + lay.gates[k], keep ? ws + lay.xhat[k] : nullptr,
                      keep ? ws + lay.xrstd[k] : nullptr);
      }
      for_each_task(s.dirs, o, [&](int d, const Group& g) {
        const int k = l * s.dirs + d;
        LayerBuffers buf;
        buf.gates = ws + lay.gates[k];
        buf.extra = training ? ws + lay.extra[k] : nullptr;
        buf.hprev = training ? ws + lay.hprev[k] : nullptr;
        buf.y = out + d * H;
        buf.h = hs + k * BH;
        buf.c = cs ? cs + k * BH : nullptr;
        buf.scratch = scratch + d * BH * G;
        buf.scratch2 = scratch2 + d * BH;
        buf.scratch3 = scratch3 + d * BH;
        buf.mask = masks ? masks + k * BH : nullptr;
        if (training && s.layer_norm) {
          buf.rhat = ws + lay.rhat[k];
          buf.rrstd = ws + lay.rrstd[k];
          buf.chat = s.cell == CellKind::kLstm ? ws + lay.chat[k] : nullptr;
          buf.crstd = s.cell == CellKind::kLstm ? ws + lay.crstd[k] : nullptr;
        }
        LayerCtx L = for_group(make_ctx(s, a.p, k, training, buf), g.off, s);
        L.gates_t0 = t0(d);
        forward_loop(s.cell, s, L, g, d == 1, first, last);
      });
    }
    if (a.dropout > 0 && l + 1 < s.layers) {
      apply_dropout(out, training ? ws + lay.mask[l] : nullptr, s, o, DH, a.dropout, a.seed, l);
    }
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
  const Order o = make_order(s, a.lengths, group_count(s));
  const Layout lay = make_layout(s, training, a.dropout > 0);
  float* ws = a.ws;
  if (training) ws[lay.groups] = static_cast<float>(o.groups.size());
  // Inference scratch is reused across calls on the same thread (a fresh
  // allocation would cost page faults on every call), up to kKeepFloats.
  thread_local std::vector<float> scratch;
  if (!training) {
    grow(scratch, lay.total);
    ws = scratch.data();
  }
  struct Trim {
    std::vector<float>& v;
    ~Trim() { release_if_large(v); }
  } trim{scratch};
  const size_t state = static_cast<size_t>(s.layers) * s.dirs * s.B * s.H;
  std::vector<float> hs(state), cs(s.cell == CellKind::kLstm ? state : 0);
  gather_seq(ws + lay.xs, a.x, s, o, s.I);
  if (s.rec_dropout) gather_state(ws + lay.rmask, a.rec_mask, s, o);
  gather_state(hs.data(), a.h0, s, o);
  if (!cs.empty()) gather_state(cs.data(), a.c0, s, o);
  forward_internal(a, o, lay, ws, hs.data(), cs.empty() ? nullptr : cs.data());
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
  const Layout lay = make_layout(s, true, f.dropout > 0);
  float* ws = f.ws;
  // The same order as the forward pass, whatever the thread count is now.
  const float groups = ws[lay.groups];
  if (!(groups >= 1 && groups <= s.B)) throw std::invalid_argument("workspace was not filled by a forward pass");
  const Order o = make_order(s, f.lengths, static_cast<int>(groups));
  const int G = s.gates(), H = s.H, DH = s.dirs * s.H;
  const size_t TB = static_cast<size_t>(s.T) * s.B, BH = static_cast<size_t>(s.B) * H;
  const bool lstm = s.cell == CellKind::kLstm;

  // Per-thread buffers reused across calls; every element is written before
  // it is read. dys and dxs swap roles between layers, so both fit either.
  // Named through plain pointers, as in forward_internal.
  thread_local std::vector<float> dys_buf, dxs_buf, scratch_buf, scratch2_buf, scratch3_buf, hin_buf;
  grow(dys_buf, TB * std::max(s.I, DH));
  grow(dxs_buf, TB * std::max(s.I, DH));
  grow(scratch_buf, s.dirs * BH * G);
  grow(scratch2_buf, s.dirs * BH);
  grow(scratch3_buf, s.dirs * BH);
  if (s.rec_dropout) grow(hin_buf, TB * H);
  thread_local std::vector<float> drp_buf, dlnc_buf;
  if (s.layer_norm) {
    grow(drp_buf, s.dirs * TB * G * H);
    grow(dlnc_buf, s.dirs * TB * H);
  }
  float* drps = drp_buf.data();
  float* dlncs = dlnc_buf.data();
  float* dys = dys_buf.data();
  float* dxs = dxs_buf.data();
  float* scratch = scratch_buf.data();
  float* scratch2 = scratch2_buf.data();
  float* scratch3 = scratch3_buf.data();
  const float* masks = s.rec_dropout ? ws + lay.rmask : nullptr;
  gather_seq(dys, a.dy, s, o, DH);
  std::vector<float> dhs(state), dcs(lstm ? state : 0);
  gather_state(dhs.data(), a.dhn, s, o);
  if (lstm) gather_state(dcs.data(), a.dcn, s, o);

  for (int l = s.layers - 1; l >= 0; --l) {
    const int in = s.in_size(l);
    const float* x = l == 0 ? ws + lay.xs : ws + lay.out[l - 1];
    auto buffers = [&](int d) {
      const int k = l * s.dirs + d;
      LayerBuffers buf;
      buf.gates = ws + lay.gates[k];
      buf.extra = ws + lay.extra[k];
      buf.hprev = ws + lay.hprev[k];
      buf.dy = dys + d * H;
      buf.dh = dhs.data() + k * BH;
      buf.dc = lstm ? dcs.data() + k * BH : nullptr;
      buf.scratch = scratch + d * BH * G;
      buf.scratch2 = scratch2 + d * BH;
      buf.scratch3 = scratch3 + d * BH;
      buf.mask = masks ? masks + k * BH : nullptr;
      if (s.layer_norm) {
        buf.rhat = ws + lay.rhat[k];
        buf.rrstd = ws + lay.rrstd[k];
        buf.chat = lstm ? ws + lay.chat[k] : nullptr;
        buf.crstd = lstm ? ws + lay.crstd[k] : nullptr;
        buf.drp = drps + d * TB * G * H;
        buf.dlnc = dlncs + d * TB * H;
      }
      return make_ctx(s, f.p, k, true, buf);
    };
    for_each_task(s.dirs, o, [&](int d, const Group& g) { backward_loop(s.cell, s, for_group(buffers(d), g.off, s), g, d == 1); });
    const bool need_dx = l > 0 || a.dx;
    for (int d = 0; d < s.dirs; ++d) {
      const int k = l * s.dirs + d;
      LayerCtx L = buffers(d);
      const int m = static_cast<int>(TB);
      if (L.mask) {
        // The recurrent weights saw h_{t-1} ⊙ mask, the same mask at every step.
        float* hin = hin_buf.data();
        for (int t = 0; t < s.T; ++t) {
          const size_t base = static_cast<size_t>(t) * BH;
          for (size_t i = 0; i < BH; ++i) hin[base + i] = L.hprev[base + i] * L.mask[i];
        }
        L.hprev = hin;
      }
      if (a.g.b_ih[k]) add_column_sums(a.g.b_ih[k], L.gates, TB, G * H, G * H);
      if (s.cell == CellKind::kGru) {
        gru_recurrent_weight_grads(L, s.T, a.g.w_hh[k], a.g.b_hh[k]);
      } else {
        recurrent_weight_grads(L, s.T, a.g.w_hh[k], a.g.b_hh[k]);
      }
      // The input projection's gradient: dG, or (layer-normalized) dG through LN_ih.
      const float* dxp = L.gates;
      if (s.layer_norm) {
        layer_norm_grads(s, f.p, a.g, k, L, ws + lay.xhat[k], ws + lay.xrstd[k]);
        dxp = L.drp;  // layer_norm_grads leaves d(W_ih x) there
      }
      if (a.g.w_ih[k]) gemm(true, false, G * H, in, m, 1.0f, dxp, G * H, x, in, 1.0f, a.g.w_ih[k], in);
      if (need_dx) gemm(false, false, m, in, G * H, 1.0f, dxp, G * H, f.p.w_ih[k], in, d == 0 ? 0.0f : 1.0f, dxs, in);
    }
    if (l > 0) {
      // The layer below receives dX, through the dropout mask it was multiplied by.
      std::swap(dys, dxs);
      if (f.dropout > 0) {
        const float* mask = ws + lay.mask[l - 1];
        for (size_t i = 0; i < TB * DH; ++i) dys[i] *= mask[i];
      }
    } else if (a.dx) {
      scatter_seq(a.dx, dxs, s, o, s.I);
    }
  }
  if (a.dh0) scatter_state(a.dh0, dhs.data(), s, o);
  if (a.dc0 && lstm) scatter_state(a.dc0, dcs.data(), s, o);
  release_if_large(dys_buf);
  release_if_large(dxs_buf);
  release_if_large(hin_buf);
  release_if_large(drp_buf);
  release_if_large(dlnc_buf);
}

}  // namespace eddy
