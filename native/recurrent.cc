// The stack driver: runs a whole recurrent call layer by layer — the batch
// put in internal order (batch_order.cc), the workspace laid out
// (workspace_layout.cc), each layer's input projection hoisted out of its
// time loop and the loops run per (direction, group) (layer_loop.cc),
// dropout between layers, and backward's weight GEMMs over all steps.
//
// Parallelism: sequences are independent, so the batch is dealt into groups
// and every (direction, group) runs its whole time loop on one thread with
// single-threaded GEMMs — no synchronisation per step; or, where the rule in
// layer_loop.h says so, a team of threads splits each step by hidden units.
// The GEMMs over all steps (weight and input gradients, weight_grad.h) and
// the bias sums are dealt to the pool as pieces (GradPiece).
#include "recurrent.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "batch_order.h"
#include "cell.h"
#include "heap.h"
#include "layer_loop.h"
#include "packed_gemm.h"
#include "parallel.h"
#include "weight_grad.h"
#include "workspace_layout.h"

namespace eddy {
namespace {

// Packed weights are kept per thread across calls like the other buffers, up to kKeepFloats each.
void release_packed(HiddenWeights& w) {
  for (auto& b : w.blocks) release_if_large(b.packed.data);
  release_if_large(w.gates.data);
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

// Where the first layer reads its input and the last layer writes its
// output: row b of step t at x + t·x_step + b·x_ld (y likewise). The
// internal copies in the workspace, or the caller's own tensors in place.
struct StackIo {
  const float* x = nullptr;
  size_t x_ld = 0, x_step = 0;
  float* y = nullptr;
  int y_ld = 0;
  size_t y_step = 0;
};

// Where row b of step t sits in a caller's [·, ·, width] sequence tensor:
// at t·step + b·ld, when the internal order is the caller's own (equal
// lengths) and ld fits the kernels' int strides; `ok` false otherwise.
// Layer-normalized cells project blocks of steps from the internal copies,
// so they always take those.
struct CallerRows {
  bool ok = false;
  size_t ld = 0, step = 0;
};

CallerRows caller_rows(const RnnShape& s, const Order& o, size_t width) {
  CallerRows r;
  r.ld = s.batch_first ? static_cast<size_t>(s.T) * width : width;
  r.step = s.batch_first ? width : static_cast<size_t>(s.B) * width;
  r.ok = o.identity && !s.layer_norm && r.ld < (size_t(1) << 30);
  return r;
}

// The caller's tensors used in place where caller_rows allows. Inference
// reads x in place (a strided read of rows the projection streams anyway);
// training keeps its time-major copy for the weight gradients. The last
// layer writes y in place in either layout, its pages mapped first
// (map_for_write): cheaper than writing the internal copy and scattering
// it. Null members keep the internal copies.
StackIo in_place_io(const RnnShape& s, const Order& o, const RnnForward& a, bool training) {
  StackIo io;
  const CallerRows xr = caller_rows(s, o, s.I), yr = caller_rows(s, o, static_cast<size_t>(s.dirs) * s.H);
  if (!training && a.x && xr.ok) {
    io.x = a.x;
    io.x_ld = xr.ld;
    io.x_step = xr.step;
  }
  if (a.y && yr.ok) {
    io.y = a.y;
    io.y_ld = static_cast<int>(yr.ld);
    io.y_step = yr.step;
  }
  return io;
}

// A layer's gradients after its time loops — bias sums, dW_hh, dW_ih and
// the input gradient dX — as pieces the pool's threads take as they come
// free (parallel_blocks), largest first: one fork and join for the layer
// instead of one a product, and a thread on a slower core takes fewer
// pieces instead of holding the other at the join. Pieces are blocks of a
// product's output rows (bias sums: of columns), a third of a thread's
// share at most, so a product's shared operand is packed not much more
// often than when every product was split across the threads. On Eddy's
// own kernels every element is the same chain as in the whole product
// (weight_grad.h, add_column_sums), and dX's block adds the second
// direction's product after the first's as the whole did: the bits depend
// neither on the pieces nor on the threads. On a BLAS a product stays whole
// unless it is larger than a thread's share.
struct GradPiece {
  enum Kind { kBiasSums, kRecurrentRows, kGruCandidate, kInputWeightRows, kInputGradRows } kind;
  int d;             // direction (kInputGradRows: both)
  int begin, end;    // output rows (kBiasSums: columns; kGruCandidate: units)
  double cost;       // about its FLOPs
};

// Appends pieces of [0, n) costing unit each, at most about `most` a piece,
// boundaries at multiples of align.
void add_pieces(std::vector<GradPiece>& out, GradPiece::Kind kind, int d, int n, double unit, double most, int align) {
  if (n <= 0) return;
  const int count = std::max(1, static_cast<int>(std::ceil(n * unit / most)));
  const int step = std::max(align, (n + count - 1) / count + align - 1) / align * align;
  for (int b = 0; b < n; b += step) {
    const int e = std::min(n, b + step);
    out.push_back({kind, d, b, e, (e - b) * unit});
  }
}

// A sum over a row of dG costs about as long as this many FLOPs of a
// product (a pass over memory against the kernels' FMAs).
constexpr double kSumCost = 64;

// Both directions of a layer as the chains of forward_chains_together and
// backward_chains_together, each over every row; context(d) gives
// direction d's context.
template <typename Context>
Chains direction_chains(const RnnShape& s, Context&& context) {
  Chains c;
  for (int d = 0; d < 2; ++d) {
    c.L[d] = context(d);
    c.rows[d] = s.B;
    c.reverse[d] = d == 1;
  }
  return c;
}

// The two batch groups of a one-direction layer as chains (groups_together).
template <typename Context>
Chains group_chains(const RnnShape& s, const Order& o, Context&& context) {
  Chains c;
  for (int k = 0; k < 2; ++k) {
    const Group& g = o.groups[static_cast<size_t>(k)];
    c.L[k] = for_group(context(0), g.off, s);
    c.rows[k] = g.size;
    c.group[k] = &g;
  }
  return c;
}

// Runs fn(d) for each direction, the two of a bidirectional layer on two
// threads. For packing the weights: C3's (2 × BiLSTM 512) come to 12–24 MB
// a layer, which one thread packed while the other waited for the time
// loops to start.
template <typename Fn>
void for_each_direction(int dirs, Fn&& fn) {
  if (dirs == 1) return fn(0);
  parallel_for(dirs, 1, [&](int64_t b, int64_t e) {
    for (int64_t d = b; d < e; ++d) fn(static_cast<int>(d));
  });
}

// Runs the whole stack forward in internal order. `ws` is the workspace
// (training) or scratch (inference) laid out by `lay`; states hs, cs
// [L·D, B, H] hold h0/c0 on entry and the final states on return; io says
// where the first layer's input and the last layer's output are.
void forward_internal(const RnnForward& a, const Order& o, const Layout& lay, float* ws, float* hs, float* cs, const StackIo& io) {
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
  // Each layer's weights packed once per direction, in buffers kept across calls.
  thread_local std::vector<PackedMatrix> w_ih_buf(2);
  thread_local std::vector<HiddenWeights> w_hh_buf(2);
  thread_local std::vector<std::vector<float>> bias_buf(2);
  PackedMatrix* w_ih = w_ih_buf.data();
  HiddenWeights* w_hh = w_hh_buf.data();
  std::vector<float>* bias = bias_buf.data();
  thread_local std::vector<PackedMatrix> w_ih_gates_buf;
  std::vector<PackedMatrix>& w_ih_gates = w_ih_gates_buf;
  for (int l = 0; l < s.layers; ++l) {
    const int in = s.in_size(l);
    const bool first_layer = l == 0, last_layer = l + 1 == s.layers;
    const float* x = first_layer ? io.x : ws + lay.out[l - 1];
    const size_t x_ld = first_layer ? io.x_ld : DH, x_step = first_layer ? io.x_step : static_cast<size_t>(s.B) * DH;
    float* out = last_layer ? io.y : ws + lay.out[l];
    for_each_direction(s.dirs, [&](int d) {
      const int k = l * s.dirs + d;
      pack_hidden_weights(w_hh[d], s, a.p.w_hh[k], false, a.p.w_ih[k], in);
    });
    // The fused steps read the input themselves (folds_input): no projection.
    const bool folded = w_hh[0].folded_in > 0;
    note_input_projection(folded);
    // The unit split takes one direction only (unit_split_members); it
    // reads W_ih packed by gate.
    const int team = w_hh[0].fused ? unit_split_members(s, unit_blocks(w_hh[0].gates, s.H), a.split) : 0;
    note_recurrent_split(team);
    // Where both directions would each project all T steps in one block
    // before their time loops, the two projections are one job for the pool
    // (project_every_step), so neither time loop waits on the slower thread's.
    const bool every_step =
        !folded && s.dirs == 2 && !s.layer_norm && projection_chunk(s) == 1 && projection_block(s, l, training) >= s.T && all_rows_whole(o, s.T);
    if (every_step) {
      DirectionInput inputs[2];
      for (int d = 0; d < 2; ++d) {
        const int k = l * s.dirs + d;
        folded_bias(bias[d], s, a.p, k);
        inputs[d] = {a.p.w_ih[k], projection_bias(s, bias[d]), ws + lay.gates[k]};
      }
      project_every_step(inputs, 2, x, x_ld, x_step, s.T, s.B, in, G * H);
    } else {
      for_each_direction(s.dirs, [&](int d) {
        const int k = l * s.dirs + d;
        // Folded, W_ih is packed in w_hh[d] already.
        if (!folded && team > 0) pack_input_by_gate(w_ih_gates, s, a.p.w_ih[k], in);
        if (!folded && team == 0) pack_b(w_ih[d], true, a.p.w_ih[k], in, in, G * H);
        folded_bias(bias[d], s, a.p, k);
      });
    }
    // Blocks of steps in each direction's order: the forward direction's
    // block b covers steps [b·block, …), the reverse one mirrors it.
    for (int first = 0; first < s.T; first += block) {
      const int last = std::min(s.T, first + block);
      auto t0 = [&](int d) { return d == 0 ? first : s.T - last; };
      // Without layer norm each task projects its own rows step by step (StepProjection).
      for (int d = 0; d < s.dirs && s.layer_norm; ++d) {
        const int k = l * s.dirs + d;
        const float* xb = x + static_cast<size_t>(t0(d)) * s.B * in;
        const bool keep = training && s.layer_norm;
        project_input(s, a.p, k, w_ih[d], bias[d].empty() ? nullptr : bias[d].data(), xb, in, last - first, ws + lay.gates[k], keep ? ws + lay.xhat[k] : nullptr,
                      keep ? ws + lay.xrstd[k] : nullptr);
      }
      auto context = [&](int d) {
        const int k = l * s.dirs + d;
        LayerCtx L = make_ctx(s, a.p, k, training);
        L.packed_w_hh = &w_hh[d];
        L.gates = ws + lay.gates[k];
        L.extra = training ? ws + lay.extra[k] : nullptr;
        L.hprev = training ? ws + lay.hprev[k] : nullptr;
        L.y = out + d * H;
        if (last_layer) {
          L.ldy = io.y_ld;
          L.y_step = io.y_step;
        }
        L.h = hs + k * BH;
        L.c = cs ? cs + k * BH : nullptr;
        L.scratch = scratch + d * BH * G;
        L.scratch2 = scratch2 + d * BH;
        L.scratch3 = scratch3 + d * BH;
        L.mask = masks ? masks + k * BH : nullptr;
        if (training && s.layer_norm) {
          L.rhat = ws + lay.rhat[k];
          L.rrstd = ws + lay.rrstd[k];
          L.chat = s.cell == CellKind::kLstm ? ws + lay.chat[k] : nullptr;
          L.crstd = s.cell == CellKind::kLstm ? ws + lay.crstd[k] : nullptr;
        }
        L.gates_t0 = t0(d);
        L.step_bias = step_bias(s, bias[d]);
        if (folded) {
          L.x = x;
          L.x_ld = x_ld;
          L.x_step = x_step;
        }
        return L;
      };
      auto projection = [&](int d, int off) {
        StepProjection proj;
        proj.w_ih = &w_ih[d];
        proj.w_ih_gates = team > 0 ? &w_ih_gates : nullptr;
        proj.bias = projection_bias(s, bias[d]);
        proj.x = x + off * x_ld;
        proj.ld = x_ld;
        proj.step = x_step;
        proj.chunk = team > 0 ? 1 : projection_chunk(s);
        proj.block = team > 0 ? 1 : projection_block(s, l, training);
        return proj;
      };
      if (team > 0) {
        // Split by hidden units (layer_loop.h): one direction, every row, the whole team.
        const StepProjection proj = projection(0, 0);
        const int64_t slow = parallel_team(team, [&](TeamMember& m) { forward_loop_units(m, s, context(0), o, false, first, last, proj); });
        note_team_waits(slow, last - first, a.split);
        continue;
      }
      if ((every_step || folded) && directions_together(s, o, w_hh[0], a.split)) {
        note_directions_together();
        forward_chains_together(s.cell, s, direction_chains(s, context), first, last);
        continue;
      }
      if (groups_together(s, o, w_hh[0], a.split)) {
        note_groups_together();
        Chains groups = group_chains(s, o, context);
        // Each group projects its own rows as its time loop reaches them.
        StepProjection proj[2];
        for (int k = 0; k < 2; ++k) {
          proj[k] = projection(0, groups.group[k]->off);
          groups.proj[k] = folded ? nullptr : &proj[k];
        }
        forward_chains_together(s.cell, s, groups, first, last);
        continue;
      }
      for_each_task(s.dirs, o, [&](int d, const Group& g) {
        LayerCtx L = for_group(context(d), g.off, s);
        const StepProjection proj = projection(d, g.off);
        forward_loop(s.cell, s, L, g, d == 1, first, last, s.layer_norm || every_step || folded ? nullptr : &proj);
      });
    }
    if (a.dropout > 0 && l + 1 < s.layers) {
      apply_dropout(out, training ? ws + lay.mask[l] : nullptr, s, o, DH, a.dropout, a.seed, l);
    }
  }
  for (int d = 0; d < 2; ++d) {
    release_if_large(w_ih[d].data);
    release_packed(w_hh[d]);
  }
  for (auto& w : w_ih_gates) release_if_large(w.data);
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
  // In the caller's order the last layer writes y in place, and inference
  // reads x in place too (in_place_io); otherwise they go through internal
  // copies in the workspace.
  StackIo io = in_place_io(s, o, a, training);
  if (!io.x) {
    gather_seq(ws + lay.xs, a.x, s, o, s.I);
    io.x = ws + lay.xs;
    io.x_ld = s.I;
    io.x_step = static_cast<size_t>(s.B) * s.I;
  }
  if (!io.y) {
    io.y = ws + lay.out[s.layers - 1];
    io.y_ld = s.dirs * s.H;
    io.y_step = 0;
  }
  if (s.rec_dropout) gather_state(ws + lay.rmask, a.rec_mask, s, o);
  gather_state(hs.data(), a.h0, s, o);
  if (!cs.empty()) gather_state(cs.data(), a.c0, s, o);
  // The kernels write the caller's output in place: map its pages first.
  if (io.y == a.y) map_for_write(a.y, sizeof(float) * s.T * s.B * s.dirs * s.H);
  forward_internal(a, o, lay, ws, hs.data(), cs.empty() ? nullptr : cs.data(), io);
  if (io.y != a.y) scatter_seq(a.y, ws + lay.out[s.layers - 1], s, o, s.dirs * s.H);
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
  // The gradients add into the caller's arrays, often fresh from the
  // allocator and never touched: a kernel that reads such a page before
  // writing it maps the shared zero page, then faults again on the write,
  // and that fault flushes the TLB of every thread of the process (an
  // interrupt each, costly in a virtual machine: about 6 % of a C3 training
  // step). Their pages are mapped for writing first, as the forward pass
  // maps its output.
  for (const ParamKind& kind : kParamKinds) {
    const std::vector<float*>& list = a.g.*kind.grad;
    for (size_t k = 0; k < list.size(); ++k) {
      if (list[k]) map_for_write(list[k], sizeof(float) * s.param_size(kind.size, static_cast<int>(k) / s.dirs));
    }
  }
  if (a.dx) map_for_write(a.dx, sizeof(float) * s.T * s.B * s.in_size(0));
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
  // The top layer reads dy in place where it can, as the forward pass wrote y.
  const CallerRows dyr = caller_rows(s, o, DH);
  const bool dy_in_place = a.dy && dyr.ok;
  if (!dy_in_place) gather_seq(dys, a.dy, s, o, DH);
  std::vector<float> dhs(state), dcs(lstm ? state : 0);
  gather_state(dhs.data(), a.dhn, s, o);
  if (lstm) gather_state(dcs.data(), a.dcn, s, o);

  thread_local std::vector<HiddenWeights> w_hh_buf(2);
  HiddenWeights* w_hh = w_hh_buf.data();
  // A unit-split team runs all rows as one group, so the rows live at a
  // step must be a prefix of them: one group, or every sequence whole.
  const bool rows_prefix = o.groups.size() == 1 || all_rows_whole(o, s.T);
  for (int l = s.layers - 1; l >= 0; --l) {
    const int in = s.in_size(l);
    const float* x = l == 0 ? ws + lay.xs : ws + lay.out[l - 1];
    for_each_direction(s.dirs, [&](int d) { pack_hidden_weights(w_hh[d], s, f.p.w_hh[l * s.dirs + d], true); });
    auto context = [&](int d) {
      const int k = l * s.dirs + d;
      LayerCtx L = make_ctx(s, f.p, k, true);
      L.packed_w_hh = &w_hh[d];
      L.gates = ws + lay.gates[k];
      L.extra = ws + lay.extra[k];
      L.hprev = ws + lay.hprev[k];
      if (dy_in_place && l == s.layers - 1) {
        L.dy = a.dy + d * H;
        L.ldy = static_cast<int>(dyr.ld);
        L.y_step = dyr.step;
      } else {
        L.dy = dys + d * H;
      }
      L.dh = dhs.data() + k * BH;
      L.dc = lstm ? dcs.data() + k * BH : nullptr;
      L.scratch = scratch + d * BH * G;
      L.scratch2 = scratch2 + d * BH;
      L.scratch3 = scratch3 + d * BH;
      L.mask = masks ? masks + k * BH : nullptr;
      if (s.layer_norm) {
        L.rhat = ws + lay.rhat[k];
        L.rrstd = ws + lay.rrstd[k];
        L.chat = lstm ? ws + lay.chat[k] : nullptr;
        L.crstd = lstm ? ws + lay.crstd[k] : nullptr;
        L.drp = drps + d * TB * G * H;
        L.dlnc = dlncs + d * TB * H;
      }
      return L;
    };
    const int team = w_hh[0].fused && rows_prefix ? backward_unit_split_members(s, unit_blocks(w_hh[0].gates, s.H), f.split) : 0;
    if (team > 0) {
      // Split by hidden units (layer_loop.h), one direction, every row.
      const Group whole = o.groups.size() == 1 ? o.groups[0] : Group{0, s.B, std::vector<int>(s.T, s.B)};
      parallel_team(team, [&](TeamMember& m) { backward_loop_units(m, s.cell, s, context(0), whole, false); });
    } else if (directions_together(s, o, w_hh[0], f.split)) {
      backward_chains_together(s.cell, s, direction_chains(s, context));
    } else if (groups_together(s, o, w_hh[0], f.split)) {
      backward_chains_together(s.cell, s, group_chains(s, o, context));
    } else {
      for_each_task(s.dirs, o, [&](int d, const Group& g) { backward_loop(s.cell, s, for_group(context(d), g.off, s), g, d == 1); });
    }
    const bool need_dx = l > 0 || a.dx;
    const float* dxp[2] = {nullptr, nullptr};
    float* const hin = hin_buf.data();  // masked h (recurrent dropout: serial below)
    auto parameter_grads = [&](int d) {
      const int k = l * s.dirs + d;
      LayerCtx L = context(d);
      const int m = static_cast<int>(TB);
      if (L.mask) {
        // The recurrent weights saw h_{t-1} ⊙ mask, the same mask at every step.
        for (int t = 0; t < s.T; ++t) {
          const size_t base = static_cast<size_t>(t) * BH;
          for (size_t i = 0; i < BH; ++i) hin[base + i] = L.hprev[base + i] * L.mask[i];
        }
        L.hprev = hin;
      }
      // b_ih and b_hh receive the same sums of dG (the GRU's b_hh in its r
      // and z columns only), taken in one pass.
      const int shared = s.cell == CellKind::kGru ? 2 * H : G * H;
      add_column_sums(a.g.b_ih[k], L.gates, TB, G * H, G * H, a.g.b_hh[k], shared);
      if (s.cell == CellKind::kGru) {
        gru_recurrent_weight_grads(L, s.T, a.g.w_hh[k], a.g.b_hh[k]);
      } else {
        recurrent_weight_grads(L, s.T, a.g.w_hh[k]);
      }
      // The input projection's gradient: dG, or (layer-normalized) dG through LN_ih.
      dxp[d] = L.gates;
      if (s.layer_norm) {
        layer_norm_grads(s, f.p, a.g, k, L, ws + lay.xhat[k], ws + lay.xrstd[k]);
        dxp[d] = L.drp;  // layer_norm_grads leaves d(W_ih x) there
      }
      if (a.g.w_ih[k]) weight_grad(G * H, in, m, dxp[d], G * H, x, in, a.g.w_ih[k], in);
    };
    if (!masks && !s.layer_norm) {
      // Without recurrent dropout's masked h and layer norm, every piece
      // reads dG and the layer's inputs where the loops left them.
      LayerCtx Ls[2];
      for (int d = 0; d < s.dirs; ++d) Ls[d] = context(d);
      const bool gru = s.cell == CellKind::kGru;
      const int GH = G * H, shared = gru ? 2 * H : GH;
      const double rows = static_cast<double>(TB);
      double total = 0;
      for (int d = 0; d < s.dirs; ++d) {
        const int k = l * s.dirs + d;
        if (a.g.b_ih[k] || a.g.b_hh[k]) total += kSumCost * rows * GH;
        if (a.g.w_hh[k]) total += 2 * rows * H * GH;
        if (a.g.w_ih[k]) total += 2 * rows * in * GH;
        if (need_dx) total += 2 * rows * in * GH;
      }
      // Pieces of a third of a thread's share at most; on one thread, whole
      // products. Where a product split by rows would change bits (a BLAS's
      // kernels), only a product larger than a thread's share is split, so
      // a bidirectional layer's gradients do not depend on the thread count.
      const int threads = num_threads();
      const double most_sums = threads > 1 ? total / (3 * threads) : total;
      const double most = threads == 1 ? total : grad_products_row_invariant() ? most_sums : total / threads;
      std::vector<GradPiece> pieces;
      for (int d = 0; d < s.dirs; ++d) {
        const int k = l * s.dirs + d;
        if (a.g.b_ih[k] || a.g.b_hh[k]) add_pieces(pieces, GradPiece::kBiasSums, d, GH, kSumCost * rows, most_sums, 64);
        if (a.g.w_hh[k]) {
          add_pieces(pieces, GradPiece::kRecurrentRows, d, gru ? 2 * H : GH, 2 * rows * H, most, 64);
          if (gru) add_pieces(pieces, GradPiece::kGruCandidate, d, H, 2 * rows * H, most, 64);
        } else if (gru && a.g.b_hh[k]) {
          add_pieces(pieces, GradPiece::kGruCandidate, d, H, kSumCost * rows, most_sums, 64);
        }
        if (a.g.w_ih[k]) add_pieces(pieces, GradPiece::kInputWeightRows, d, GH, 2 * rows * in, most, 64);
        dxp[d] = Ls[d].gates;
      }
      if (need_dx) add_pieces(pieces, GradPiece::kInputGradRows, -1, static_cast<int>(TB), 2.0 * in * GH * s.dirs, most, 64);
      std::stable_sort(pieces.begin(), pieces.end(), [](const GradPiece& p, const GradPiece& q) { return p.cost > q.cost; });
      const int m = static_cast<int>(TB);
      parallel_blocks(static_cast<int64_t>(pieces.size()), [&](int64_t i) {
        const GradPiece& p = pieces[static_cast<size_t>(i)];
        const int rows_of = p.end - p.begin;
        if (p.kind == GradPiece::kInputGradRows) {
          for (int d = 0; d < s.dirs; ++d) {
            input_grad(rows_of, in, GH, dxp[d] + static_cast<size_t>(p.begin) * GH, GH, f.p.w_ih[l * s.dirs + d], in,
                       d == 1, dxs + static_cast<size_t>(p.begin) * in, in);
          }
          return;
        }
        const LayerCtx& L = Ls[p.d];
        const int k = l * s.dirs + p.d;
        switch (p.kind) {
          case GradPiece::kBiasSums: {
            float* b_ih = a.g.b_ih[k] ? a.g.b_ih[k] + p.begin : nullptr;
            float* b_hh = a.g.b_hh[k] ? a.g.b_hh[k] + p.begin : nullptr;
            const int also = std::max(0, std::min(shared, p.end) - p.begin);
            add_column_sums(b_ih, L.gates + p.begin, TB, rows_of, GH, also > 0 ? b_hh : nullptr, also);
            break;
          }
          case GradPiece::kRecurrentRows:
            weight_grad(rows_of, H, m, L.gates + p.begin, GH, L.hprev, H, a.g.w_hh[k] + static_cast<size_t>(p.begin) * H, H);
            break;
          case GradPiece::kGruCandidate:
            gru_candidate_weight_grads(L, s.T, a.g.w_hh[k], a.g.b_hh[k], p.begin, p.end);
            break;
          case GradPiece::kInputWeightRows:
            weight_grad(rows_of, in, m, L.gates + p.begin, GH, x, in, a.g.w_ih[k] + static_cast<size_t>(p.begin) * in, in);
            break;
          default:
            break;
        }
      });
    } else {
      for (int d = 0; d < s.dirs; ++d) parameter_grads(d);
      for (int d = 0; d < s.dirs && need_dx; ++d) {
        const int k = l * s.dirs + d;
        input_grad(static_cast<int>(TB), in, G * H, dxp[d], G * H, f.p.w_ih[k], in, d == 1, dxs, in);
      }
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
  for (int d = 0; d < 2; ++d) release_packed(w_hh[d]);
}

}  // namespace eddy
