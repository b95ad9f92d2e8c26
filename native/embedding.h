// Embedding lookup: out (n, D) = weight rows ids[0..n), and its backward,
// the scatter-add of the output gradient into the rows it came from.
#pragma once

#include <cstdint>

namespace eddy {

// out (n, D) ← weight (V, D) rows ids (n). ids are checked by the caller (0 ≤ id < V).
void embedding_forward(float* out, const float* weight, const int32_t* ids, int64_t n, int64_t D);

// dweight (V, D) += dout (n, D) at rows ids, skipping ids equal to pad (−1 for none).
// Columns are split between threads, so every row sums its updates in the
// same order whatever the thread count.
void embedding_backward(float* dweight, const float* dout, const int32_t* ids, int32_t pad, int64_t n, int64_t D);

}  // namespace eddy
