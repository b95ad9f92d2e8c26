// Scaled dot-product attention, fused: O = softmax(s·QKᵀ + M) · V for every
// (batch, head), computed a tile at a time with an online softmax (the
// running row maximum and sum of FlashAttention), so the [Tq, Tk] score
// matrix is never stored unless the caller asks for the weights.
#pragma once

#include <cstdint>

namespace eddy {

// Where element (b, h, t, d) of an operand lives: base[b·sb + h·sh + t·st + d]
// (the feature axis is contiguous). Batch-first [B, T, heads·D] projections,
// time-major ones and packed [B, T, 3·E] in-projections are all views.
struct HeadView {
  int64_t sb, sh, st;
};

struct SdpaShape {
  int B, H, Tq, Tk, D, Dv;
  double scale;             // s, usually 1/√D
  bool causal;              // key j masked for query i when j > i + causal_offset
  int causal_offset;        // keys already cached before the first query (0 for a full sequence)
  double dropout;           // probability of dropping an attention weight (training), 0 for none
  uint64_t seed;            // dropout pattern: a hash of (seed, b, h, i, j), recomputed by backward
  bool mask_per_head;       // additive mask [B·H, Tq, Tk] rather than one [Tq, Tk]
  HeadView q, k, v, o;      // layouts of Q [B,H,Tq,D], K [B,H,Tk,D], V [B,H,Tk,Dv], O [B,H,Tq,Dv]
};

// Forward. out: O (layout shape.o); lse: [B, H, Tq] log Σ_j exp(score), kept
// for backward (−∞ for a query with every key masked, whose output is 0);
// weights: null, or [B, H, Tq, Tk] softmax probabilities before dropout.
// kv_lengths: null, or [B] valid keys per sequence (later keys masked);
// mask: null, or additive float mask [Tq, Tk] / [B·H, Tq, Tk] (−∞ masks).
template <typename T>
void sdpa_forward(T* out, T* lse, T* weights, const T* q, const T* k, const T* v, const int32_t* kv_lengths,
                  const T* mask, const SdpaShape& s);

// Backward: accumulates (+=) into dq, dk, dv (each laid out like q, k, v;
// any may be null). dout: [B, H, Tq, Dv] contiguous. dweights: null, or the
// gradient of the weights output (then weights must be the forward's).
template <typename T>
void sdpa_backward(T* dq, T* dk, T* dv, const T* dout, const T* dweights, const T* q, const T* k, const T* v,
                   const T* out, const T* lse, const T* weights, const int32_t* kv_lengths, const T* mask,
                   const SdpaShape& s);

}  // namespace eddy
