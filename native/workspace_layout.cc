#include "workspace_layout.h"

#include <algorithm>

namespace eddy {

void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void release_if_large(std::vector<float>& v) {
  if (v.capacity() > kKeepFloats) std::vector<float>().swap(v);
}

namespace {

// Inference projects the input a block of steps at a time, so its scratch
// holds gates for one block (about kBlockFloats floats) rather than for all T.
constexpr size_t kBlockFloats = size_t(1) << 22;

// The gates of a projection chunk (about 64 KB) stay in L2 until their steps
// read them; below 4 steps a chunk would not fill the GEMM's 4-row tiles.
constexpr size_t kChunkFloats = size_t(1) << 14;
constexpr int kChunkMaxSteps = 64, kChunkMinSteps = 4;

// projection_block: W_ih larger than kBlockWihFloats is projected a block of
// steps at a time, whose gates take about kLargeBlockFloats (16 MB); where
// only W_ih and W_hh together are larger, about kStepBlockFloats (1 MB). On
// 2 threads C3 inference (W_ih 2 and 8 MB) ran faster with 16-step blocks
// than with 4 in 9 of 12 interleaved pairs (median 4.5 %), training level to
// 5 % faster, and with its 50 steps in one block (16 MB) than in 16-step
// blocks (4 MB) by 1.5 and 3.7 % in two runs of alternating calls; C1 and C2
// inference showed no steady difference, so they keep 1 MB of gates.
// Training keeps every step's gates anyway: with a large W_ih it projects
// the whole sequence at once, reading W_ih once (C3 training about 2 %
// faster than in 16-step blocks, in two interleaved runs).
constexpr size_t kBlockWihFloats = size_t(1) << 18, kStepBlockFloats = size_t(1) << 18, kLargeBlockFloats = size_t(1) << 22;

}  // namespace

int block_steps(const RnnShape& s, bool training) {
  // Without layer norm each task projects its rows step by step (StepProjection in layer_loop.h).
  if (training || !s.layer_norm) return s.T;
  const size_t per_step = static_cast<size_t>(s.B) * s.gates() * s.H;
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(s.T, kBlockFloats / std::max<size_t>(per_step, 1))));
}

int projection_chunk(const RnnShape& s) {
  if (s.layer_norm || s.T < kChunkMinSteps) return 1;
  const size_t per_step = std::max<size_t>(1, static_cast<size_t>(s.B) * s.gates() * s.H);
  const int steps = static_cast<int>(std::min<size_t>({static_cast<size_t>(s.T), kChunkMaxSteps, kChunkFloats / per_step}));
  return steps >= kChunkMinSteps ? steps : 1;
}

int projection_block(const RnnShape& s, int l, bool training) {
  if (s.layer_norm || projection_chunk(s) > 1) return 1;
  const size_t per_step = std::max<size_t>(1, static_cast<size_t>(s.B) * s.gates() * s.H);
  const size_t w_ih = static_cast<size_t>(s.in_size(l)) * s.gates() * s.H;
  const size_t weights = w_ih + (training ? 0 : static_cast<size_t>(s.H) * s.gates() * s.H);
  if (weights <= kBlockWihFloats) return 1;
  if (training) return std::max(1, s.T);  // training's weights are W_ih alone
  const size_t gates = w_ih > kBlockWihFloats ? kLargeBlockFloats : kStepBlockFloats;
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(s.T, gates / per_step)));
}

Layout make_layout(const RnnShape& s, bool training, bool dropout) {
  Layout l;
  const size_t TB = static_cast<size_t>(s.T) * s.B, H = s.H, DH = static_cast<size_t>(s.dirs) * s.H;
  // Inference without layer norm reuses one step of gates (the step's
  // projection, then the step), or one chunk of steps for a small batch,
  // or one block of steps for a large W_ih.
  size_t gate_steps = training ? s.T : s.layer_norm ? block_steps(s, false) : projection_chunk(s);
  for (int k = 0; k < s.layers && !training; ++k) gate_steps = std::max<size_t>(gate_steps, projection_block(s, k, false));
  const size_t gates = gate_steps * s.B * s.gates() * H;
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

}  // namespace eddy
