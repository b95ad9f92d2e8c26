#include "layer_loop.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "layernorm.h"
#include "weight_grad.h"

namespace eddy {

void add_column_sums(float* out, const float* a, size_t rows, int cols, int ld, float* also, int also_cols) {
  if (!out) {
    std::swap(out, also);
    cols = std::min(cols, also_cols);
  }
  if (!out || rows == 0 || cols <= 0) return;
  // Blocks of 64 columns dealt across the pool: every sum still adds its
  // rows in order, so the result does not depend on the thread count.
  constexpr int kCols = 64;
  const int64_t blocks = (cols + kCols - 1) / kCols;
  const int64_t min_blocks = std::max<int64_t>(1, static_cast<int64_t>(1 << 20) / static_cast<int64_t>(rows * kCols));
  parallel_for(blocks, min_blocks, [&](int64_t b0, int64_t b1) {
    const int j0 = static_cast<int>(b0 * kCols), j1 = std::min(cols, static_cast<int>(b1 * kCols));
    const int a1 = also ? std::min(j1, also_cols) : j0;
    // Pieces of 16 columns of 64 rows at a time (4 KB, in L1), their sums
    // held in registers over the rows instead of loaded and stored per row
    // (what bounded the pass); each sum still starts from out[j] and adds
    // its rows in order, so the bits are those of the row-by-row loop.
    constexpr int kPiece = 16;
    constexpr size_t kRows = 64;
    for (size_t r0 = 0; r0 < rows; r0 += kRows) {
      const size_t r1 = std::min(rows, r0 + kRows);
      for (int p = j0; p < j1; p += kPiece) {
        const float* col = a + p;
        if (p + kPiece <= j1 && (p >= a1 || p + kPiece <= a1)) {
          auto sum_piece = [&](float* d) {
            float acc[kPiece];
            for (int j = 0; j < kPiece; ++j) acc[j] = d[j];
            for (size_t r = r0; r < r1; ++r)
              for (int j = 0; j < kPiece; ++j) acc[j] += col[r * ld + j];
            for (int j = 0; j < kPiece; ++j) d[j] = acc[j];
          };
          sum_piece(out + p);
          if (p < a1) sum_piece(also + p);
          continue;
        }
        const int pe = std::min(j1, p + kPiece), ae = std::min(pe, a1);
        for (size_t r = r0; r < r1; ++r) {
          const float* row = a + r * ld;
          for (int j = p; j < pe; ++j) out[j] += row[j];
          for (int j = p; j < ae; ++j) also[j] += row[j];
        }
      }
    }
  });
}

void recurrent_weight_grads(const LayerCtx& L, int T, float* dw_hh) {
  const int GH = L.G * L.H;
  const size_t rows = static_cast<size_t>(T) * L.B;
  // W_hh's output gradient: dG, or (layer-normalized) the gradient before LN_hh.
  const float* dr = L.ln ? L.drp : L.gates;
  if (dw_hh) weight_grad(GH, L.H, static_cast<int>(rows), dr, GH, L.hprev, L.H, dw_hh, L.H);
}

void forward_step(CellKind cell, const LayerCtx& L, int t, int bs) {
  switch (cell) {
    case CellKind::kLstm: return lstm_forward_step(L, t, bs);
    case CellKind::kGru: return gru_forward_step(L, t, bs);
    default: return rnn_forward_step(L, t, bs);
  }
}

namespace {

void backward_step(CellKind cell, const LayerCtx& L, int t, int bs, NextStep next, bool first) {
  switch (cell) {
    case CellKind::kLstm: return lstm_backward_step(L, t, bs, next, first);
    case CellKind::kGru: return gru_backward_step(L, t, bs, next, first);
    default: return rnn_backward_step(L, t, bs, next, first);
  }
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

}  // namespace

LayerCtx make_ctx(const RnnShape& s, const RnnParams& p, int k, bool training) {
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
  L.ln = s.layer_norm;
  if (L.ln) {
    L.ln_hh_w = p.ln_hh_w[k];
    L.ln_hh_b = p.ln_hh_b[k];
    L.ln_c_w = p.ln_c_w[k];
    L.ln_c_b = p.ln_c_b[k];
  }
  return L;
}

LayerCtx for_group(LayerCtx L, int off, const RnnShape& s) {
  // Widths named as in EDDY_LAYER_ROWS.
  const size_t H = s.H, GH = static_cast<size_t>(s.gates()) * H, E = static_cast<size_t>(s.extra()) * H;
  const size_t ldy = static_cast<size_t>(L.ldy);
  (void)ldy;
#define EDDY_MOVE_ROW(type, name, width, doc) \
  if (L.name) L.name += off * static_cast<size_t>(width);
  EDDY_LAYER_ROWS(EDDY_MOVE_ROW)
#undef EDDY_MOVE_ROW
  if (L.x) L.x += off * L.x_ld;
  return L;
}

namespace {

// The input projection of the group's steps [first, last) in the
// direction's order, each row over the steps it is live at (rows are
// sorted by length, so those are a prefix of the chunk's steps in time).
// Inference then keeps the chunk's gates from its earliest step.
void project_chunk(const StepProjection& proj, LayerCtx& L, const Group& g, bool reverse, int first, int last, int T) {
  const int ta = reverse ? T - last : first, tb = reverse ? T - first : last;
  if (!L.training) L.gates_t0 = ta;
  const size_t GH = static_cast<size_t>(L.G) * L.H;
  for (int r = 0; r < g.size; ++r) {
    int te = ta;
    while (te < tb && g.batch_sizes[te] > r) ++te;
    if (te > ta) proj.steps(r, ta, te, L.gates_at(ta) + r * GH, static_cast<int>(L.B * GH));
  }
}

// The input projection of steps [first, last) of the direction's order for
// every row of group g (proj.block): one GEMM over all (step, row) pairs
// when they are consecutive in x and in the gates and every row is live,
// else step by step.
void project_block(const StepProjection& proj, LayerCtx& L, const Group& g, bool reverse, int first, int last, int T) {
  const int ta = reverse ? T - last : first, tb = reverse ? T - first : last;
  if (!L.training) L.gates_t0 = ta;
  const int GH = L.G * L.H;
  bool full = true;
  for (int t = ta; t < tb && full; ++t) full = g.batch_sizes[t] == g.size;
  if (full && g.size == L.B && proj.step == static_cast<size_t>(g.size) * proj.ld) {
    proj.rows(ta, 0, (tb - ta) * g.size, L.gates_at(ta), GH, L.H, 0, L.H);
  } else if (full && !proj.w_ih_gates) {
    // Steps' rows not consecutive (a group of the batch, or batch-first x):
    // one GEMM per step, each panel of W_ih read once for the whole block.
    proj.steps_rows(ta, tb, g.size, L.gates_at(ta), static_cast<size_t>(L.B) * GH, GH);
  } else {
    for (int t = ta; t < tb; ++t) proj.rows(t, 0, g.batch_sizes[t], L.gates_at(t), GH, L.H, 0, L.H);
  }
}

// Whether forward_loop projects at `step` of steps [first, …): at the first
// step of each chunk or block, else at every step.
bool projects_at(const StepProjection& proj, int step, int first) {
  const int every = proj.chunk > 1 ? proj.chunk : proj.block > 1 ? proj.block : 1;
  return (step - first) % every == 0;
}

// What forward_loop projects at such a step of the group's time loop.
void project_at(const StepProjection& proj, LayerCtx& L, const Group& g, bool reverse, int step, int last, int T) {
  const int t = reverse ? T - 1 - step : step;
  if (proj.chunk > 1) {
    project_chunk(proj, L, g, reverse, step, std::min(last, step + proj.chunk), T);
  } else if (proj.block > 1) {
    project_block(proj, L, g, reverse, step, std::min(last, step + proj.block), T);
  } else if (g.batch_sizes[t] > 0) {
    if (!L.training) L.gates_t0 = t;  // inference keeps one step of gates
    proj.rows(t, 0, g.batch_sizes[t], L.gates_at(t), L.G * L.H, L.H, 0, L.H);
  }
}

}  // namespace

void forward_loop(CellKind cell, const RnnShape& s, LayerCtx L, const Group& g, bool reverse, int first, int last,
                  const StepProjection* proj) {
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
    if (proj && projects_at(*proj, step, first)) project_at(*proj, L, g, reverse, step, last, s.T);
    if (bs > 0) forward_step(cell, L, t, bs);
    // Padded positions output zeros.
    for (int b = bs; b < g.size; ++b) std::memset(L.y_at(t) + static_cast<size_t>(b) * L.ldy, 0, sizeof(float) * H);
  }
}

void backward_loop(CellKind cell, const RnnShape& s, LayerCtx L, const Group& g, bool reverse, TeamMember* team) {
  const int H = s.H, GH = s.gates() * s.H;
  bool first = true;
  for (int step = s.T - 1; step >= 0; --step) {
    const int t = reverse ? s.T - 1 - step : step;
    const int bs = g.batch_sizes[t];
    NextStep next;
    if (step > 0) {
      next.t = reverse ? t + 1 : t - 1;
      next.bs = g.batch_sizes[next.t];
    }
    if (bs > 0 && team) {
      // A team member: the first step's own epilogue (its dG from dh and dy)
      // on its units alone, then every step's GEMM once all of dG_t is there.
      if (first) backward_step(cell, L, t, 0, NextStep{t, bs}, false);
      first = false;
      team->sync();
    }
    if (bs > 0) {
      backward_step(cell, L, t, bs, next, first);
      first = false;
    }
    // Rows past their sequence's end contribute nothing to the weight GEMMs
    // (no step reads them: a team's first member clears them).
    if (bs < g.size && (!team || team->index() == 0)) {
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

void backward_loop_units(TeamMember& team, CellKind cell, const RnnShape& s, LayerCtx L, const Group& g, bool reverse) {
  const int blocks = unit_blocks(L.packed_w_hh->gates, s.H), n = team.size(), me = team.index();
  L.units0 = blocks * me / n;
  L.units1 = blocks * (me + 1) / n;
  backward_loop(cell, s, L, g, reverse, &team);
}

namespace {

// Layers left to run by batch groups after a team spent its steps waiting
// on members the scheduler had taken off their cores (note_team_waits).
std::atomic<int> units_backoff{0};

}  // namespace

// Rows per thread from which batch groups beat a unit split (below): for
// an LSTM whose W_hh fits a 1 MB L2, and for the others.
constexpr int kUnitSplitRowsPerThreadInL2 = 10;
constexpr int kUnitSplitRowsPerThread = 32;

int unit_split_members(const RnnShape& s, int unit_blocks, int requested) {
  const int threads = num_threads();
  // Fused steps only (the caller checks: LSTM, GRU linear before reset,
  // RNN); recurrent dropout (h ⊙ mask is the GEMM's input) and layer norm
  // (LN_hh needs whole rows) keep batch groups. Two directions already
  // fill two threads.
  const bool fits = !s.layer_norm && !s.rec_dropout && s.dirs == 1 && threads >= 2;
  if (!fits || requested == 0) return 0;
  if (requested == 1) return threads;

  // The rule: split by units when W_hh is large enough that streaming all of
  // it per step and thread costs more than a barrier per step — at least
  // 256 KB for an LSTM (128 units) — with at least two unit blocks per
  // member. GRU and RNN steps are shorter for their W_hh (the GRU's n gate
  // waits for r, an RNN step has one gate), so the barrier weighs more: they
  // split only once W_hh alone fills a 1 MB L2 (296 and 512 units). Idle, a
  // GRU of 256 units ran 1.2× faster by batch groups.
  //
  // And only while a batch group would have fewer than 32 rows: with that
  // many, a group's tiles share each panel load among enough rows that
  // streaming W_hh costs less than the barrier. Idle, 64 rows on 2 threads
  // ran faster by batch groups — LSTM of 256 units 18.6 ms a call against
  // 20.2 (five interleaved pairs), RNN of 512 units 17.3 against 20.2, a GRU
  // of 512 units and an LSTM of 384 level — while 8 rows ran 1.2× (LSTM 256) and
  // 1.6× (LSTM 512) faster split by units. An LSTM whose W_hh fits a 1 MB L2
  // (up to 256 units) already splits by batch from 10 rows a thread: on an
  // Intel Xeon (model 207), 2 threads, inference, batch groups took 0.97,
  // 0.956, 0.945 and 0.90 of the unit split's time at 20, 24, 32 and 48 rows
  // (LSTM 256; 1.054 at 16 rows), while an LSTM of 384 units still ran faster
  // split by units at 32 and 48 rows (batch groups 1.025 and 1.063).
  const int members = std::min(threads, unit_blocks / 2);
  const int64_t w_hh_floats = static_cast<int64_t>(s.gates()) * s.H * s.H;
  const int64_t l2_floats = int64_t(1) << 18;  // 1 MB
  const int64_t least = s.gates() == 4 ? int64_t(1) << 16 : l2_floats;
  const bool lstm_in_l2 = s.gates() == 4 && w_hh_floats <= l2_floats;
  const int rows_per_thread = lstm_in_l2 ? kUnitSplitRowsPerThreadInL2 : kUnitSplitRowsPerThread;
  if (w_hh_floats < least || members < 2 || s.B >= rows_per_thread * threads) return 0;
  if (units_backoff.load(std::memory_order_relaxed) > 0) {
    units_backoff.fetch_sub(1, std::memory_order_relaxed);
    return 0;
  }
  return members;
}

int backward_unit_split_members(const RnnShape& s, int unit_blocks, int requested) {
  // Measured (docs/kernels.md): split by units, the backward tiles of C1,
  // C2 and C5 took as much CPU as with batch groups — a 6-row tile streams
  // its blocks' panels from L2 either way — and the barrier came on top.
  // So backward runs by batch groups unless EDDY_RECURRENT_SPLIT=units asks.
  return requested == 1 ? unit_split_members(s, unit_blocks, requested) : 0;
}

namespace {
std::atomic<int> last_split{-1};
}  // namespace

void note_team_waits(int64_t slow_waits, int steps, int requested) {
  // More than one step in eight: the machine is oversubscribed, and batch
  // groups (which never wait) win until it is not; the next 32 layers the
  // rule would split by units run by batch groups, then a team tries again.
  if (requested < 0 && slow_waits * 8 > steps) units_backoff.store(32, std::memory_order_relaxed);
}

int split_request_from_env() {
  const char* v = std::getenv("EDDY_RECURRENT_SPLIT");
  return v && std::strcmp(v, "units") == 0 ? 1 : v && std::strcmp(v, "batch") == 0 ? 0 : -1;
}

void reset_split_rule() { units_backoff.store(0, std::memory_order_relaxed); }

void note_recurrent_split(int members) { last_split.store(members >= 2 ? 1 : 0, std::memory_order_relaxed); }

void note_directions_together() { last_split.store(2, std::memory_order_relaxed); }

void note_groups_together() { last_split.store(3, std::memory_order_relaxed); }

const char* last_recurrent_split() {
  const int v = last_split.load(std::memory_order_relaxed);
  return v < 0 ? "none" : v == 1 ? "units" : v == 2 ? "directions" : v == 3 ? "groups" : "batch";
}

void pack_input_by_gate(std::vector<PackedMatrix>& w, const RnnShape& s, const float* w_ih, int in) {
  const int G = s.gates(), H = s.H;
  w.resize(G);
  for (int g = 0; g < G; ++g) pack_b(w[g], true, w_ih + static_cast<size_t>(g) * H * in, in, in, H);
}

void StepProjection::rows(int t, int r0, int r1, float* gates, int ldg, int H, int j0, int j1) const {
  if (r1 <= r0 || j1 <= j0) return;
  const float* a = x + t * step + r0 * ld;
  float* c = gates + static_cast<size_t>(r0) * ldg;
  const int G = w_ih_gates ? static_cast<int>(w_ih_gates->size()) : 1;
  for (int g = 0; g < G; ++g) {
    // Gate g's columns [j0, j1) sit at g·H + j0 of a row; W_ih packed whole holds them all at once.
    float* cg = c + static_cast<size_t>(g) * H + j0;
    if (w_ih_gates) {
      packed_gemm_cols(r1 - r0, a, static_cast<int>(ld), (*w_ih_gates)[g], j0, j1, false, cg, ldg, bias ? bias + g * H + j0 : nullptr);
    } else {
      packed_gemm(r1 - r0, a, static_cast<int>(ld), *w_ih, false, c, ldg, bias);
    }
  }
}

void StepProjection::steps_rows(int ta, int tb, int rows, float* gates, size_t gates_step, int ldg) const {
  constexpr int kList = 64;
  const float* a[kList];
  float* c[kList];
  for (int t0 = ta; t0 < tb; t0 += kList) {
    const int n = std::min(kList, tb - t0);
    for (int q = 0; q < n; ++q) {
      a[q] = x + (t0 + q) * step;
      c[q] = gates + static_cast<size_t>(t0 - ta + q) * gates_step;
    }
    packed_gemm_list(n, rows, a, static_cast<int>(ld), *w_ih, c, ldg, bias);
  }
}

void project_every_step(const DirectionInput* dirs, int count, const float* x, size_t ld, size_t step, int T, int B, int in, int GH) {
  const int columns = packed_gemm_slab_columns(in), slabs = (GH + columns - 1) / columns;
  const bool consecutive = step == static_cast<size_t>(B) * ld;
  parallel_blocks(static_cast<int64_t>(count) * slabs, [&](int64_t block) {
    const DirectionInput& d = dirs[block % count];
    const int j0 = static_cast<int>(block / count) * columns, j1 = std::min(GH, j0 + columns);
    thread_local PackedMatrix slab;
    pack_b(slab, true, d.w_ih + static_cast<size_t>(j0) * in, in, in, j1 - j0);
    const float* bias = d.bias ? d.bias + j0 : nullptr;
    if (consecutive) return packed_gemm(T * B, x, static_cast<int>(ld), slab, false, d.gates + j0, GH, bias);
    // Steps' rows not consecutive: a GEMM per row of the batch over its
    // steps where those are the closer (the caller's batch-first input: each
    // A then streams one row's steps, not B rows a whole sequence apart),
    // else a GEMM per step. Only for tiles of 8 rows or more: C3's first
    // layer took 13.6 ms against 17.0 on AVX-512's tiles of 8, but 21 ms
    // against 18.3 on AVX2's tiles of 4 (medians of five alternating runs).
    const bool by_row = step < ld && packed_gemm_tile_rows() >= 8;
    const int count = by_row ? B : T, rows = by_row ? T : B;
    constexpr int kList = 64;
    const float* a[kList];
    float* c[kList];
    for (int q0 = 0; q0 < count; q0 += kList) {
      const int n = std::min(kList, count - q0);
      for (int q = 0; q < n; ++q) {
        a[q] = x + (q0 + q) * (by_row ? ld : step);
        c[q] = d.gates + static_cast<size_t>(q0 + q) * (by_row ? 1 : B) * GH + j0;
      }
      packed_gemm_list(n, rows, a, static_cast<int>(by_row ? step : ld), slab, c, by_row ? B * GH : GH, bias);
    }
  });
}

void StepProjection::steps(int r, int ta, int tb, float* gates, int ldg) const {
  if (tb <= ta) return;
  packed_gemm(tb - ta, x + ta * step + r * ld, static_cast<int>(step), *w_ih, false, gates, ldg, bias);
}

namespace {

// The rows of step t that are live, as spans of consecutive rows: each
// group's live prefix, merged with the next group's when it is whole.
template <typename Fn>
void live_spans(const Order& o, int t, Fn&& fn) {
  int begin = 0, end = 0;
  for (const Group& g : o.groups) {
    const int bs = g.batch_sizes[t];
    if (g.off != end) {
      if (end > begin) fn(begin, end);
      begin = g.off;
    }
    end = g.off + bs;
  }
  if (end > begin) fn(begin, end);
}

}  // namespace

void forward_loop_units(TeamMember& team, const RnnShape& s, LayerCtx L, const Order& o, bool reverse, int first, int last,
                        const StepProjection& proj) {
  const int H = s.H, GH = s.gates() * H, E = s.extra();
  const PackedMatrix& w = L.packed_w_hh->gates;
  const int blocks = unit_blocks(w, H), n = team.size(), me = team.index();
  // This member's unit blocks, its units [j0, j1) and, for copies of whole rows, its rows [r0, r1).
  const int u0 = blocks * me / n, u1 = blocks * (me + 1) / n;
  const int j0 = std::min(H, u0 * w.width), j1 = std::min(H, u1 * w.width), nj = j1 - j0;
  const int r0 = s.B * me / n, r1 = s.B * (me + 1) / n;
  // h double buffered: step t reads cur (h_{t-1}, every unit) and writes its units of next.
  // Rows not live at a step keep their state in both buffers.
  float* cur = L.h;
  float* next = L.scratch2;
  for (int b = 0; b < s.B; ++b) std::memcpy(next + static_cast<size_t>(b) * H + j0, cur + static_cast<size_t>(b) * H + j0, sizeof(float) * nj);
  for (int step = first; step < last; ++step) {
    const int t = reverse ? s.T - 1 - step : step;
    if (!L.training) L.gates_t0 = t;  // inference keeps one step of gates
    float* gates = L.gates_at(t);
    // The input projection of this member's columns: no other member reads them.
    if (!L.x) live_spans(o, t, [&](int a, int b) { proj.rows(t, a, b, gates, GH, H, j0, j1); });
    team.sync();  // h_{t-1} is whole
    if (L.training) {
      std::memcpy(const_cast<float*>(L.hprev_at(t)) + static_cast<size_t>(r0) * H, cur + static_cast<size_t>(r0) * H,
                  sizeof(float) * (r1 - r0) * H);
    }
    live_spans(o, t, [&](int a, int b) {
      CellStep st;
      st.bs = b - a;
      st.H = H;
      st.a = cur + static_cast<size_t>(a) * H;
      st.lda = H;
      st.gates = gates + static_cast<size_t>(a) * GH;
      st.keep = L.training;
      st.saved = L.training && E > 0 ? L.extra_at(t, E) + static_cast<size_t>(a) * E * H : nullptr;
      st.h = next + static_cast<size_t>(a) * H;
      st.y = L.y_at(t) + static_cast<size_t>(a) * L.ldy;
      st.ldy = L.ldy;
      st.u0 = u0;
      st.u1 = u1;
      st.descending = (t & 1) != 0;
      fold_input(st, L, t, a);
      switch (s.cell) {
        case CellKind::kLstm:
          st.c = L.c + static_cast<size_t>(a) * H;
          return lstm_fused_step(st, w);
        case CellKind::kGru:
          st.b_hh = L.b_hh;
          st.h_in = cur + static_cast<size_t>(a) * H;  // h_{t-1}: next holds h_{t-2}
          return gru_fused_step(st, w);
        default:
          st.relu = L.relu;
          return rnn_fused_step(st, w);
      }
    });
    // Rows past their end: the state stays (a row that ended at this step
    // has its last h in cur only), the output and saved extras are zero.
    for (const Group& g : o.groups) {
      const int bs = g.batch_sizes[t];
      if (bs == g.size) continue;
      const int prev = step > first ? g.batch_sizes[reverse ? t + 1 : t - 1] : bs;
      for (int b = g.off + bs; b < g.off + std::max(bs, prev); ++b) {
        std::memcpy(next + static_cast<size_t>(b) * H + j0, cur + static_cast<size_t>(b) * H + j0, sizeof(float) * nj);
      }
      for (int b = g.off + bs; b < g.off + g.size; ++b) std::memset(L.y_at(t) + static_cast<size_t>(b) * L.ldy + j0, 0, sizeof(float) * nj);
      if (L.training && me == 0 && E > 0) {
        std::memset(L.extra_at(t, E) + static_cast<size_t>(g.off + bs) * E * H, 0, sizeof(float) * (g.size - bs) * E * H);
      }
    }
    std::swap(cur, next);
  }
  if (cur != L.h) {
    team.sync();  // every member is done reading L.h
    for (int b = 0; b < s.B; ++b) std::memcpy(L.h + static_cast<size_t>(b) * H + j0, cur + static_cast<size_t>(b) * H + j0, sizeof(float) * nj);
  }
}

bool all_rows_whole(const Order& o, int T) {
  return std::all_of(o.len.begin(), o.len.end(), [&](int n) { return n == T; });
}

bool directions_together(const RnnShape& s, const Order& o, const HiddenWeights& w_hh, int requested) {
  return requested != 0 && s.dirs == 2 && w_hh.fused && !s.layer_norm && !s.rec_dropout && num_threads() >= 2 && o.groups.size() == 1 &&
         all_rows_whole(o, s.T);
}

bool groups_together(const RnnShape& s, const Order& o, const HiddenWeights& w_hh, int requested) {
  return requested != 0 && s.dirs == 1 && w_hh.fused && !s.layer_norm && !s.rec_dropout && num_threads() >= 2 && o.groups.size() == 2 &&
         all_rows_whole(o, s.T);
}

namespace {

// Unit blocks per piece of a step, for an LSTM: a piece of C3's (32 rows,
// 512 units) is about 50 µs of work on the AVX-512 path, against a claim's
// compare-and-swap. On AVX-512's 16-unit blocks a piece takes four rather
// than two, so a backward tile takes four (24 accumulators, not 12): on an
// AVX-512 Xeon C1 training ran 3.6 % faster in alternating runs, inference
// and C3 level or faster; eight were no faster. On AVX2's 8-unit blocks
// (and the generic path's) a piece stays two blocks: four ran C3's
// inference 2–4 % slower there, on Zen 5 and on the Xeon. A GRU takes as
// many gate columns a piece; an RNN's step (one gate) is a piece whole:
// cut in pieces, C5's steps ran 2–8 % slower.
int piece_blocks(const RnnShape& s, int blocks, int width) {
  if (s.gates() == 1) return std::max(1, blocks);
  const int lstm = width >= 16 ? 4 : 2;
  return std::max(lstm, (lstm * 4 + s.gates() / 2) / s.gates());
}

// One direction's progress: pieces claimed and pieces done, over all steps.
struct alignas(64) DirectionSteps {
  std::atomic<int64_t> claimed{0};
  alignas(64) std::atomic<int64_t> done{0};
};

// Runs run(d, ticket) for tickets [0, total) of both directions d, a
// direction's tickets in order, `pieces` to a phase: a ticket starts once
// every ticket of its direction's earlier phases is done. Each thread of a
// team of two takes its own direction's next ticket when it can start,
// else the other's, and spins while neither can. When a ticket throws, the
// other member leaves (that ticket will never be done) and parallel_team
// rethrows the exception.
template <typename Run>
void run_two_directions(int64_t total, int pieces, Run&& run) {
  DirectionSteps progress[2];
  parallel_team(2, [&](TeamMember& m) {
    const int own = m.index() % 2;
    for (int idle = 0;;) {
      if (m.abandoned()) return;
      bool left = false, ran = false;
      for (int i = 0; i < 2 && !ran; ++i) {
        const int d = (own + i) % 2;
        DirectionSteps& p = progress[d];
        int64_t ticket = p.claimed.load(std::memory_order_relaxed);
        if (ticket >= total) continue;
        left = true;
        if (p.done.load(std::memory_order_acquire) < ticket / pieces * pieces) continue;
        if (!p.claimed.compare_exchange_strong(ticket, ticket + 1, std::memory_order_relaxed)) continue;
        run(d, ticket);
        p.done.fetch_add(1, std::memory_order_release);
        ran = true;
      }
      if (!left) break;
      if (ran) {
        idle = 0;
      } else if (++idle < 4096) {
        spin_pause();
      } else {
        std::this_thread::yield();
      }
    }
  });
}

}  // namespace

void forward_chains_together(CellKind cell, const RnnShape& s, const Chains& c, int first, int last) {
  const int H = s.H, E = s.extra(), T = s.T;
  const PackedMatrix& w_hh = c.L[0].packed_w_hh->gates;
  const int blocks = unit_blocks(w_hh, H), per = piece_blocks(s, blocks, w_hh.width), pieces = (blocks + per - 1) / per;
  const bool training = c.L[0].training;
  // The chains' contexts, which a projection moves on (inference keeps only
  // the projected steps' gates).
  LayerCtx L[2] = {c.L[0], c.L[1]};
  // A chain's phases: each step, after a projection wherever forward_loop
  // would project (its first piece projects, the others have nothing to
  // do); phases[i] is the step, or −1 − step for the projection before it.
  std::vector<int> phases;
  for (int step = first; step < last; ++step) {
    if (c.proj[0] && projects_at(*c.proj[0], step, first)) phases.push_back(-1 - step);
    phases.push_back(step);
  }
  // h_{t−1} of step `step` (in the chain's order) and where h_t goes:
  // training reads it from hprev (h_0 copied in first) and writes the next
  // step's slot, the last step L.h; inference alternates L.h and scratch2.
  auto t_of = [&](int k, int step) { return c.reverse[k] ? T - 1 - step : step; };
  auto input = [&](int k, int step) -> const float* {
    if (training) return L[k].hprev_at(t_of(k, step));
    return step % 2 == 0 ? L[k].h : L[k].scratch2;
  };
  auto output = [&](int k, int step) -> float* {
    if (training) return step + 1 < T ? const_cast<float*>(L[k].hprev_at(t_of(k, step + 1))) : L[k].h;
    return step % 2 == 0 ? L[k].scratch2 : L[k].h;
  };
  if (training && first == 0)
    for (int k = 0; k < 2; ++k) std::memcpy(const_cast<float*>(L[k].hprev_at(t_of(k, 0))), L[k].h, sizeof(float) * c.rows[k] * H);
  const int64_t total = static_cast<int64_t>(phases.size()) * pieces;
  run_two_directions(total, pieces, [&](int k, int64_t ticket) {
    const int phase = phases[static_cast<size_t>(ticket / pieces)], piece = static_cast<int>(ticket % pieces);
    LayerCtx& l = L[k];
    if (phase < 0) {
      if (piece == 0) project_at(*c.proj[k], l, *c.group[k], c.reverse[k], -1 - phase, last, T);
      return;
    }
    const int t = t_of(k, phase);
    CellStep st;
    st.bs = c.rows[k];
    st.H = H;
    st.a = input(k, phase);
    st.lda = H;
    st.gates = l.gates_at(t);
    st.keep = training;
    st.saved = training && E > 0 ? l.extra_at(t, E) : nullptr;
    st.h = output(k, phase);
    st.y = l.y_at(t);
    st.ldy = l.ldy;
    st.u0 = piece * per;
    st.u1 = std::min(blocks, st.u0 + per);
    st.fetch_u1 = blocks;
    fold_input(st, l, t);
    const PackedMatrix& w = l.packed_w_hh->gates;
    switch (cell) {
      case CellKind::kLstm:
        st.c = l.c;
        return lstm_fused_step(st, w);
      case CellKind::kGru:
        st.b_hh = l.b_hh;
        st.h_in = st.a;
        return gru_fused_step(st, w);
      default:
        st.relu = l.relu;
        return rnn_fused_step(st, w);
    }
  });
  // Inference: the last step's h went to scratch2 when T is odd.
  if (!training && last == T && T % 2 == 1)
    for (int k = 0; k < 2; ++k) std::memcpy(L[k].h, L[k].scratch2, sizeof(float) * c.rows[k] * H);
}

void backward_chains_together(CellKind cell, const RnnShape& s, const Chains& c) {
  const PackedMatrix& w_hh = c.L[0].packed_w_hh->gates;
  const int T = s.T, blocks = unit_blocks(w_hh, s.H), per = piece_blocks(s, blocks, w_hh.width);
  const int pieces = (blocks + per - 1) / per;
  // Backward visits the steps of a chain's order last to first. Phase
  // 0: the first step's own epilogue (its dG from dh and dy); phase n ≥ 1:
  // the GEMM of step T − n, which reads all of its dG, with the epilogue of
  // the step after it.
  auto t_of = [&](int k, int step) { return c.reverse[k] ? T - 1 - step : step; };
  run_two_directions(static_cast<int64_t>(T + 1) * pieces, pieces, [&](int k, int64_t ticket) {
    const int phase = static_cast<int>(ticket / pieces), piece = static_cast<int>(ticket % pieces);
    LayerCtx l = c.L[k];
    l.units0 = piece * per;
    l.units1 = std::min(blocks, l.units0 + per);
    l.fetch_past_units = true;
    if (phase == 0) {
      const int t = t_of(k, T - 1);
      return backward_step(cell, l, t, 0, NextStep{t, c.rows[k]}, false);
    }
    const int step = T - phase;
    NextStep next;
    if (step > 0) {
      next.t = t_of(k, step - 1);
      next.bs = c.rows[k];
    }
    backward_step(cell, l, t_of(k, step), c.rows[k], next, false);
  });
}

void folded_bias(std::vector<float>& out, const RnnShape& s, const RnnParams& p, int k) {
  const int GH = s.gates() * s.H;
  const bool fold = folds_b_hh(s) && p.b_hh[k];
  out.clear();
  if (!p.b_ih[k] && !fold) return;
  out.resize(GH);
  for (int j = 0; j < GH; ++j) out[j] = (p.b_ih[k] ? p.b_ih[k][j] : 0.0f) + (fold ? p.b_hh[k][j] : 0.0f);
}

void project_rows(const RnnShape& s, const RnnParams& p, int k, const PackedMatrix& w_ih, const float* bias, const float* x,
                  int in, int lo, int hi, float* gates, float* xhat, float* xrstd) {
  const int GH = s.gates() * s.H;
  // Without layer norm the bias is added as the GEMM stores (the same sum).
  packed_gemm(hi - lo, x + static_cast<size_t>(lo) * in, in, w_ih, false, gates + static_cast<size_t>(lo) * GH, GH,
              s.layer_norm ? nullptr : bias);
  if (!s.layer_norm) return;
  for (int r = lo; r < hi; ++r) {
    float* row = gates + static_cast<size_t>(r) * GH;
    ln_forward_row(row, xhat ? xhat + static_cast<size_t>(r) * GH : nullptr, xrstd ? xrstd + r : nullptr, row, p.ln_ih_w[k],
                   p.ln_ih_b[k], GH);
    if (bias) {
      for (int j = 0; j < GH; ++j) row[j] += bias[j];
    }
  }
}

void project_input(const RnnShape& s, const RnnParams& p, int k, const PackedMatrix& w_ih, const float* bias, const float* x,
                   int in, int steps, float* gates, float* xhat, float* xrstd) {
  // Chunks of rows: the GEMM, then layer norm and biases while the rows are in cache.
  constexpr int kRows = 64;
  const int TB = steps * s.B;
  parallel_for((TB + kRows - 1) / kRows, 1, [&](int64_t c0, int64_t c1) {
    const int lo = static_cast<int>(c0) * kRows, hi = std::min(TB, static_cast<int>(c1) * kRows);
    project_rows(s, p, k, w_ih, bias, x, in, lo, hi, gates, xhat, xrstd);
  });
}

namespace {

// EDDY_INPUT_PROJECTION, read once: 1 folded, 0 apart, −1 the rule.
int forced_input_projection() {
  static const int force = [] {
    const char* v = std::getenv("EDDY_INPUT_PROJECTION");
    return v && std::strcmp(v, "folded") == 0 ? 1 : v && std::strcmp(v, "apart") == 0 ? 0 : -1;
  }();
  return force;
}

}  // namespace

bool step_adds_bias(const RnnShape& s) { return !s.layer_norm && s.cell != CellKind::kGru; }

const float* projection_bias(const RnnShape& s, const std::vector<float>& b) { return b.empty() || step_adds_bias(s) ? nullptr : b.data(); }

const float* step_bias(const RnnShape& s, const std::vector<float>& b) { return b.empty() || !step_adds_bias(s) ? nullptr : b.data(); }

bool folds_input(const RnnShape& s, int in, int rows) {
  if (!step_adds_bias(s) || in <= 0) return false;
  if (forced_input_projection() >= 0) return forced_input_projection() == 1;
  return rows >= kFoldMinRows && fused_step_tile_rows(s.cell == CellKind::kLstm) >= kFoldMinTileRows &&
         static_cast<size_t>(s.gates()) * s.H * (s.H + in) <= kFoldFloats;
}

namespace {
std::atomic<int> last_fold{-1};
}  // namespace

void note_input_projection(bool folded) { last_fold.store(folded ? 1 : 0, std::memory_order_relaxed); }

const char* last_input_projection() {
  const int v = last_fold.load(std::memory_order_relaxed);
  return v < 0 ? "none" : v == 1 ? "folded" : "apart";
}

void pack_hidden_weights(HiddenWeights& w, const RnnShape& s, const float* w_hh, bool backward, const float* w_ih, int in) {
  const int H = s.H, GH = s.gates() * H;
  // The blocks of W_hh each unfused step multiplies by (gru.cc): the GRU
  // takes its candidate rows apart in the reset-before form.
  const bool gru_split = s.cell == CellKind::kGru && !s.reset_after;
  w.fused = !s.layer_norm && !gru_split;
  w.folded_in = w.fused && !backward && w_ih && folds_input(s, in, s.B) ? in : 0;
  std::vector<std::pair<int, int>> blocks;
  if (w.fused && backward) {
    pack_b(w.gates, false, w_hh, H, GH, H);
  } else if (w.fused) {
    pack_gate_hidden(w.gates, w_hh, s.gates(), H, w.folded_in ? w_ih : nullptr, w.folded_in);
  } else if (gru_split) {
    blocks = {{0, 2 * H}, {2 * H, GH}};
  } else {
    blocks = {{0, GH}};
  }
  w.blocks.resize(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    auto& b = w.blocks[i];
    b.backward = backward;
    b.r0 = blocks[i].first;
    b.r1 = blocks[i].second;
    const float* rows = w_hh + static_cast<size_t>(b.r0) * H;
    // Forward: op(B) = W_hh[r0:r1]ᵀ (k = H, n = r1 − r0); backward: op(B) = W_hh[r0:r1] (k = r1 − r0, n = H).
    if (backward) {
      pack_b(b.packed, false, rows, H, b.r1 - b.r0, H);
    } else {
      pack_b(b.packed, true, rows, H, H, b.r1 - b.r0);
    }
  }
}

void hidden_gemm(const LayerCtx& L, bool backward, int r0, int r1, int bs, const float* a, int lda, bool accumulate, float* c,
                 int ldc) {
  for (const auto& b : L.packed_w_hh->blocks) {
    if (b.backward == backward && b.r0 == r0 && b.r1 == r1) return packed_gemm(bs, a, lda, b.packed, accumulate, c, ldc);
  }
  throw std::logic_error("recurrent weights were not packed for this step");
}

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

}  // namespace eddy
