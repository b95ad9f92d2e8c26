#include "embedding.h"

#include <cstring>

#include "parallel.h"

namespace eddy {

void embedding_forward(float* out, const float* weight, const int32_t* ids, int64_t n, int64_t D) {
  parallel_for(n, 256, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) std::memcpy(out + i * D, weight + static_cast<int64_t>(ids[i]) * D, sizeof(float) * D);
  });
}

void embedding_backward(float* dweight, const float* dout, const int32_t* ids, int32_t pad, int64_t n, int64_t D) {
  // Blocks of 16 columns: each thread owns whole columns, so no two threads
  // add into the same element and the order of additions is fixed.
  const int64_t blocks = (D + 15) / 16;
  parallel_for(blocks, n * 16 >= 65536 ? 1 : blocks, [&](int64_t b0, int64_t b1) {
    const int64_t c0 = b0 * 16, c1 = b1 * 16 < D ? b1 * 16 : D;
    for (int64_t i = 0; i < n; ++i) {
      if (ids[i] == pad) continue;
      float* dst = dweight + static_cast<int64_t>(ids[i]) * D;
      const float* src = dout + i * D;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

}  // namespace eddy
