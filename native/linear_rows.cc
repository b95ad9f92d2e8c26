#include "linear_rows.h"

#include <algorithm>

#include "parallel.h"

namespace eddy {

LinearRows::LinearRows(const float* w, const float* bias, int out, int in) : out_(out), in_(in) {
  pack_b(w_, true, w, in, in, out);
  if (bias) bias_.assign(bias, bias + out);
}

void LinearRows::run(int m, const float* x, float* y) const {
  if (m <= 0) return;
  // Chunks of 64 rows keep each thread's panels in cache (as packed_gemm_parallel does).
  const int64_t chunks = (m + 63) / 64;
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) { run_rows(static_cast<int>(c0 * 64), std::min(m, static_cast<int>(c1 * 64)), x, y); });
}

void LinearRows::run_rows(int lo, int hi, const float* x, float* y) const {
  if (hi <= lo) return;
  packed_gemm(hi - lo, x + static_cast<size_t>(lo) * in_, in_, w_, false, y + static_cast<size_t>(lo) * out_, out_,
              bias_.empty() ? nullptr : bias_.data());
}

}  // namespace eddy
