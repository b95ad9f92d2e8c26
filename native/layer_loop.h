// One (layer, direction) of a recurrent call: the context its cell sees,
// the forward and backward time loops over one group of rows, the hoisted
// input projection, and the gradients taken over all steps at once after
// the backward loop.
#pragma once

#include <vector>

#include "batch_order.h"
#include "cell.h"
#include "parallel.h"
#include "recurrent.h"

namespace eddy {

// The context of (layer, direction) k: sizes, cell options and parameters.
// The caller points its row buffers (EDDY_LAYER_ROWS) at the workspace.
LayerCtx make_ctx(const RnnShape& s, const RnnParams& p, int k, bool training);

// The context seen by the task running rows [off, off + n): every row
// pointer moves by `off` rows (the step stride stays B rows).
LayerCtx for_group(LayerCtx L, int off, const RnnShape& s);

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

// One step of the cell over live rows [0, bs).
void forward_step(CellKind cell, const LayerCtx& L, int t, int bs);

// The input projection of a task's own rows, done step by step inside its
// time loop (so the gates are still in cache when the step reads them)
// rather than for a block of steps beforehand. Not for layer-normalized cells.
// x is the layer input of the task's first row at step 0: row b of step t at
// x + t·step + b·ld — the internal [T, B, in] (ld = in, step = B·in) or,
// for the first layer, the caller's own layout read in place.
struct StepProjection {
  const PackedMatrix* w_ih = nullptr;                      // W_ih packed whole (batch groups)
  const std::vector<PackedMatrix>* w_ih_gates = nullptr;  // or gate by gate (pack_input_by_gate; unit split)
  const float* bias = nullptr;                             // the folded bias, or null
  const float* x = nullptr;
  size_t ld = 0, step = 0;

  // Gates of rows [r0, r1) of step t = x · W_ihᵀ + bias, into gates (row
  // stride G·H = ldg): all columns from w_ih, or with w_ih_gates the units
  // [j0, j1) of each of the G gates. Either way an element is the same chain.
  void rows(int t, int r0, int r1, float* gates, int ldg, int H, int j0, int j1) const;

  // Steps projected at once (projection_chunk in workspace_layout.h; w_ih
  // only): forward_loop then calls steps() at the first step of each chunk.
  int chunk = 1;
  // Gates of row r at steps [ta, tb) = x · W_ihᵀ + bias, into gates (its
  // step ta) with a step's rows ldg apart: one GEMM whose rows are the
  // row's steps. Each element is the same chain as in rows().
  void steps(int r, int ta, int tb, float* gates, int ldg) const;

  // Gates of rows [0, rows) at steps [ta, tb) into gates (step ta; steps
  // gates_step apart, rows ldg apart): a GEMM per step, as rows() makes it,
  // but each panel of W_ih read once for all the steps (w_ih only).
  void steps_rows(int ta, int tb, int rows, float* gates, size_t gates_step, int ldg) const;

  // Steps projected at once for all rows (projection_block in
  // workspace_layout.h; w_ih only): forward_loop then projects a block of
  // steps whose rows are all live in one GEMM when the group is the whole
  // batch and consecutive steps' rows are consecutive in x (ld·rows = step),
  // else through steps_rows (a GEMM per step, W_ih's panels shared), and
  // step by step only when rows end inside the block. A row's elements are
  // the same chains as in rows().
  int block = 1;
};

// Whether every sequence runs all T steps (no row ends early).
bool all_rows_whole(const Order& o, int T);

// One direction's share of project_every_step: its W_ih (G·H × in, row
// major), folded bias (or null) and gates ([T, B, G·H] from step 0).
struct DirectionInput {
  const float* w_ih = nullptr;
  const float* bias = nullptr;
  float* gates = nullptr;
};

// The input projections of every step of `count` directions, before their
// time loops: gates = x · W_ihᵀ + bias for all B rows of all T steps (rows
// as in StepProjection: row b of step t at x + t·step + b·ld). The work goes
// out as blocks of (direction, slab of W_ih's rows) that the pool's threads
// take as they come free, each packing its slab into a buffer of its own
// that stays in L2 while every row passes it: a thread slowed down (the
// machine's other work on its core) takes fewer blocks rather than holding
// the other up, and W_ih is never packed whole. Each element is the chain
// StepProjection gives it.
void project_every_step(const DirectionInput* dirs, int count, const float* x, size_t ld, size_t step, int T, int B, int in, int GH);

// Whether both directions of a layer run as the chains of
// forward_chains_together and backward_chains_together: fused steps (no
// layer norm, no recurrent dropout, W_hh packed for them), every row live
// at every step, a pool of two threads or more, and batch groups not
// requested (`requested`: RnnForward::split).
bool directions_together(const RnnShape& s, const Order& o, const HiddenWeights& w_hh, int requested);

// Whether the two batch groups of a one-direction layer run their time
// loops together (forward_chains_together): as directions_together, for
// exactly two groups (a pool of two threads) of rows live at every step.
bool groups_together(const RnnShape& s, const Order& o, const HiddenWeights& w_hh, int requested);

// Two time loops that share no state — both directions of a layer, or two
// batch groups of one direction — as the chains of forward_chains_together
// and backward_chains_together: chain k's context (L[k], for its rows), its
// rows (all live at every step), its order, and for the groups of one
// direction the group and its input projection (StepProjection), which the
// forward loop runs where forward_loop would (null: gates already projected).
struct Chains {
  LayerCtx L[2];
  int rows[2] = {0, 0};
  bool reverse[2] = {false, false};
  const Group* group[2] = {nullptr, nullptr};
  const StepProjection* proj[2] = {nullptr, nullptr};
};

// Both chains' fused forward time loops at once, steps [first, last) of
// their orders. Each chain's steps are cut into pieces of a few unit blocks
// that the pool's threads take as they come free, each its own chain's
// first, so a thread whose core runs slower (the machine's other work on
// it) takes fewer pieces instead of leaving the other waiting at the end of
// the layer; a projection is one piece, before its steps. A piece starts
// once its chain's previous step is whole; h is double buffered (training:
// through hprev, which keeps h_{t−1} anyway). Every element is the chain
// forward_loop gives it.
void forward_chains_together(CellKind cell, const RnnShape& s, const Chains& c, int first, int last);
// The backward time loops the same way (W_hh packed for backward): pieces
// of unit blocks of each step, a step's pieces once all of the step before
// are done, as the unit-split team runs them (backward_loop_units) but with
// no barrier between the two chains. Every element is the chain
// backward_loop gives it.
void backward_chains_together(CellKind cell, const RnnShape& s, const Chains& c);

// Runs steps [first, last) of the direction's order (forward: t = step;
// reverse: t = T − 1 − step); projects each step's input first when proj is given.
void forward_loop(CellKind cell, const RnnShape& s, LayerCtx L, const Group& g, bool reverse, int first, int last,
                  const StepProjection* proj = nullptr);
// Backward runs a group's steps last to first; with a team (backward_loop_units) it
// meets the others before each step's GEMM.
void backward_loop(CellKind cell, const RnnShape& s, LayerCtx L, const Group& g, bool reverse, TeamMember* team = nullptr);

// ---- Splitting a step across threads.
//
// A (layer, direction) runs its time loop one of two ways:
//  * batch groups: each (direction, group of rows) runs its whole time loop
//    on one thread (for_each_task), no synchronisation per step, but every
//    thread streams all of the packed W_hh at every step;
//  * hidden units: a team of threads (parallel_team) runs every row of the
//    direction together, member k owning a contiguous range of unit blocks
//    (its columns of W_ih and W_hh, which stay in its own L2 between steps)
//    and meeting the others at one barrier per step, where h_{t-1} is
//    complete. A row's arithmetic is the same either way (the same GEMM
//    chains and epilogue), so the split never changes a bit of the result.
// unit_split_members gives the rule: how many members split the units of
// this shape, whose fused W_hh has unit_blocks blocks (0: use batch
// groups). `requested` (RnnForward::split: EDDY_RECURRENT_SPLIT=units|batch
// at the call, −1 when unset) overrides it, for tests and measurements.
int unit_split_members(const RnnShape& s, int unit_blocks, int requested);
// The same for the backward time loop (backward_loop_units): batch groups
// unless units are requested.
int backward_unit_split_members(const RnnShape& s, int unit_blocks, int requested);
// Records the split a layer ran, for last_recurrent_split() (recurrent.h).
void note_recurrent_split(int members);
// Records that a layer ran both directions as chains (directions_together).
void note_directions_together();
// Records that a layer ran its two batch groups as chains (groups_together).
void note_groups_together();
// Tells the rule how often a team's barrier gave its core away over
// `steps` steps (parallel_team's result): when the machine runs more
// threads than cores, the rule falls back to batch groups for a while
// (unless the call requested a split).
void note_team_waits(int64_t slow_waits, int steps, int requested);

// W_ih packed gate by gate: gate g's (H, in) rows as op(B) = W_ih[g]ᵀ, so a
// team member projects only the columns of its own units.
void pack_input_by_gate(std::vector<PackedMatrix>& w, const RnnShape& s, const float* w_ih, int in);

// The fused forward time loop (LSTM, GRU, RNN), steps [first, last), run by one member of
// a unit-split team over every row of the direction (L and proj for the
// whole batch, not a group): each step projects the member's columns of the
// input (proj.w_ih_gates), meets the team, then runs the fused step on its
// unit blocks. h is double buffered through L.scratch2, so members read
// h_{t-1} while writing h_t.
void forward_loop_units(TeamMember& team, const RnnShape& s, LayerCtx L, const Order& o, bool reverse, int first, int last,
                        const StepProjection& proj);

// The fused backward time loop run by one member of a unit-split team over
// the rows of g (all of the direction's rows, live ones a prefix at every
// step): member k takes its range of unit blocks of every step — its
// columns of dh_{t-1} = dG_t · W_hh and, in the same tiles, its units of
// dG_{t-1} — and the team meets once per step, before the GEMM that reads
// all of dG_t. Each element is the same chain as with batch groups.
void backward_loop_units(TeamMember& team, CellKind cell, const RnnShape& s, LayerCtx L, const Group& g, bool reverse);

// b_ih plus, where the cell allows (folds_b_hh), b_hh: what the input
// projection adds to every row; empty when there is no bias.
void folded_bias(std::vector<float>& out, const RnnShape& s, const RnnParams& p, int k);

// Input projection of `steps` consecutive time steps at once (x points at
// the first, w_ih is W_ih packed as op(B) = W_ihᵀ), plus the folded bias
// (or none when null). Layer-normalized cells normalize each row (saving x̂
// and 1/std in xhat, xrstd when given) before the bias.
void project_input(const RnnShape& s, const RnnParams& p, int k, const PackedMatrix& w_ih, const float* bias, const float* x,
                   int in, int steps, float* gates, float* xhat, float* xrstd);
// The same for rows [lo, hi) of it, on the calling thread.
void project_rows(const RnnShape& s, const RnnParams& p, int k, const PackedMatrix& w_ih, const float* bias, const float* x,
                  int in, int lo, int hi, float* gates, float* xhat, float* xrstd);

// Whether the fused LSTM and RNN steps add the folded bias themselves
// (CellStep::bias): no layer norm, not a GRU. Their input projection then
// adds none, and the tiles start each element's chain from it.
bool step_adds_bias(const RnnShape& s);
// Where the folded bias b (folded_bias; empty: none) goes: into the input
// projection's rows, or, where step_adds_bias holds, to the fused step
// (LayerCtx::step_bias). Each returns null where the other takes it.
const float* projection_bias(const RnnShape& s, const std::vector<float>& b);
const float* step_bias(const RnnShape& s, const std::vector<float>& b);

// Whether a layer of input width `in` stepping `rows` rows at a time folds
// its input into its fused forward steps (CellStep::x) instead of
// projecting it apart: where step_adds_bias holds, the step runs at least
// kFoldMinRows rows, the ISA's fused tile for the cell has at least
// kFoldMinTileRows (rows that share each load of a panel: AVX-512's LSTM
// and RNN tiles, the RNN's elsewhere), and W_hh and W_ih together are at
// most kFoldFloats. A step then runs x_t and h_{t−1} through the same
// tiles, and the projection's pass over a [steps, B, G·H] buffer — its
// store, and the step's reload — is gone. A single stream (C4) instead
// reads W_ih once for all its steps, at its rows' full rate; AVX2's LSTM
// tile of 3 rows streams W_ih's panels at every step for too few rows
// (C1 inference 14 % slower folded); larger layers (C3's 6 and 12 MB a
// direction) stream their weights from L3 at every step, and W_ih is
// better read once for a block of steps. Folded or not, each
// element is the same chain (CellStep), so the rule may look at the rows:
// no result depends on it. EDDY_INPUT_PROJECTION=folded|apart (read once)
// overrides it, for tests and measurements.
constexpr size_t kFoldFloats = size_t(1) << 19;
constexpr int kFoldMinRows = 16;
constexpr int kFoldMinTileRows = 4;
bool folds_input(const RnnShape& s, int in, int rows);
// Records whether a layer's forward steps folded its input in, for
// last_input_projection() (recurrent.h).
void note_input_projection(bool folded);

// Packs the blocks of W_hh that the cell's forward (or backward) steps
// multiply by (see hidden_gemm in cell.h). Forward, with w_ih (in columns)
// where folds_input holds, W_ih is packed below W_hh (w.folded_in).
void pack_hidden_weights(HiddenWeights& w, const RnnShape& s, const float* w_hh, bool backward, const float* w_ih = nullptr, int in = 0);

// After the backward time loop of a layer-normalized (layer, direction):
// the gains' and shifts' gradients, and d(W_ih x) — dG through LN_ih —
// written over drp (whose recurrent-weight gradients are already taken).
void layer_norm_grads(const RnnShape& s, const RnnParams& p, const RnnGrads& g, int k, const LayerCtx& L,
                      const float* xhat, const float* xrstd);

}  // namespace eddy
