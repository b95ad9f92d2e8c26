// Workspace layout of a recurrent call: where each saved tensor of every
// (layer, direction) lives in the caller's workspace (training) or the
// thread's scratch (inference), and the per-thread buffers reused across calls.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "recurrent.h"

namespace eddy {

// Per-thread buffers larger than this are given back after each call, so a
// rare huge call does not pin its memory on every thread that ran one.
constexpr size_t kKeepFloats = size_t(1) << 24;

void grow(std::vector<float>& v, size_t n);
void release_if_large(std::vector<float>& v);

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

// Steps whose gates one input projection covers: all T when training or
// without layer norm (projected step by step in the time loop, inference
// then keeping one step of gates), a block of about kBlockFloats floats
// for layer-normalized inference.
int block_steps(const RnnShape& s, bool training);
// Steps whose input projection a task without layer norm does at once,
// row by row, when the batch is small (1 when it is not). A row's GEMM on
// its own is a GEMV that streams all of W_ih for one output row; the same
// row's consecutive steps stacked are a GEMM whose tiles reuse each panel
// load for several steps. Inference keeps this many steps of gates.
int projection_chunk(const RnnShape& s);
// Steps whose input projection a task without layer norm does at once for
// all its rows (one GEMM of steps·rows rows), when layer l's W_ih outgrows
// an L2 — in inference, when W_ih and W_hh together do (1 when they do not,
// or when the batch is small enough for projection_chunk). Step by step,
// every step streams all of W_ih for a few rows: for C3's second layer 8 MB
// a step and direction, with the 4 MB of W_hh, from L3. A block of steps
// streams it once; its gates take up to 16 MB when W_ih alone outgrows an
// L2, else about an L2 (1 MB) (workspace_layout.cc). Inference keeps this
// many steps of gates. Idle, 2 threads, interleaved pairs:
// blocks of 4 steps ran C1 inference (W_ih 512 KB, W_hh 1 MB) 0.5–8 %
// faster in all 7 pairs, C2 inference faster in 2 of 3, and C1 and C2
// training 3–16 % slower in all 6, so training blocks only for a W_ih
// that outgrows an L2 alone, and then takes the whole sequence as one
// block (it keeps every step's gates anyway): W_ih is read once per layer.
int projection_block(const RnnShape& s, int l, bool training);
Layout make_layout(const RnnShape& s, bool training, bool dropout);

}  // namespace eddy
