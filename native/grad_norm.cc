#include "grad_norm.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "parallel.h"

namespace eddy {

namespace {

constexpr int64_t kChunk = 1 << 14;

// Four independent accumulators let the compiler keep the loop in vector
// registers without reordering a single sum.
double sum_squares(const float* x, size_t n) {
  double s[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; ++j) s[j] += static_cast<double>(x[i + j]) * x[i + j];
  }
  for (; i < n; ++i) s[0] += static_cast<double>(x[i]) * x[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

double max_abs(const float* x, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double a = std::fabs(static_cast<double>(x[i]));
    if (!(a <= m)) m = a;  // keeps NaN
    if (std::isnan(m)) return m;
  }
  return m;
}

double sum_pow(const float* x, size_t n, double p) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += std::pow(std::fabs(static_cast<double>(x[i])), p);
  return s;
}

}  // namespace

double total_norm(const std::vector<FloatSpan>& spans, double p) {
  const bool inf = std::isinf(p);
  double total = 0.0;
  for (const FloatSpan& sp : spans) {
    const int64_t chunks = static_cast<int64_t>((sp.size + kChunk - 1) / kChunk);
    std::vector<double> part(static_cast<size_t>(chunks), 0.0);
    parallel_for(chunks, 4, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const size_t begin = static_cast<size_t>(c) * kChunk, n = std::min(sp.size - begin, static_cast<size_t>(kChunk));
        part[c] = inf ? max_abs(sp.data + begin, n) : p == 2.0 ? sum_squares(sp.data + begin, n) : sum_pow(sp.data + begin, n, p);
      }
    });
    // Chunks are combined in order, so the result does not depend on the thread count.
    for (double v : part) {
      if (inf) {
        if (!std::isnan(total) && !(v <= total)) total = v;  // NaN, once seen, stays
      } else {
        total += v;
      }
    }
  }
  if (inf) return total;
  return p == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / p);
}

void scale_spans(const std::vector<FloatSpan>& spans, float c) {
  for (const FloatSpan& sp : spans) {
    parallel_for(static_cast<int64_t>(sp.size), kChunk, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) sp.data[i] *= c;
    });
  }
}

void add_spans(const std::vector<FloatSpan>& dst, const std::vector<FloatSpan>& src) {
  for (size_t k = 0; k < dst.size(); ++k) {
    float* d = dst[k].data;
    const float* s = src[k].data;
    parallel_for(static_cast<int64_t>(dst[k].size), kChunk, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) d[i] += s[i];
    });
  }
}

}  // namespace eddy
