#include "softmax_xent.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "activations.h"
#include "parallel.h"

namespace eddy {

namespace {

// Rows per chunk of the pool: a few hundred thousand exps are worth two threads.
constexpr int64_t kMinRows = 64;

// Σ_c a_c for row target y: the uniform share plus the target's.
inline double coefficient_sum(double uniform_sum, const float* w, int32_t y, double eps) {
  return uniform_sum + (1.0 - eps) * (w ? w[y] : 1.0);
}

// A row's maximum and sum in kLanes interleaved chains, not one chain of
// C dependent steps: the latency of each add or compare, not the row's
// length, bounds them. The maximum ignores NaN as the scalar path does (a
// NaN logit still makes the sum, and with it the loss, NaN); it is the same
// value whatever the order. The sum is taken in double, lane by lane, then
// the lanes in order: a fixed order for every row.
constexpr int kLanes = 8;

float row_max(const float* z, int64_t C) {
  float m[kLanes];
  for (int j = 0; j < kLanes; ++j) m[j] = -std::numeric_limits<float>::infinity();
  int64_t c = 0;
  for (; c + kLanes <= C; c += kLanes)
    for (int j = 0; j < kLanes; ++j) m[j] = z[c + j] > m[j] ? z[c + j] : m[j];
  for (int j = 0; c + j < C; ++j) m[j] = z[c + j] > m[j] ? z[c + j] : m[j];
  float all = m[0];
  for (int j = 1; j < kLanes; ++j) all = m[j] > all ? m[j] : all;
  return all;
}

double row_sum(const float* e, int64_t C) {
  double s[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= C; c += kLanes)
    for (int j = 0; j < kLanes; ++j) s[j] += e[c + j];
  for (int j = 0; c + j < C; ++j) s[j] += e[c + j];
  double all = 0.0;
  for (int j = 0; j < kLanes; ++j) all += s[j];
  return all;
}

double uniform_total(const float* w, double eps, int64_t C) {
  if (eps == 0.0) return 0.0;
  double s = 0.0;
  for (int64_t c = 0; c < C; ++c) s += (eps / static_cast<double>(C)) * (w ? w[c] : 1.0);
  return s;
}

}  // namespace

void softmax_xent_forward(double* losses, float* probs, const float* z, const int32_t* y, const float* w, double eps,
                          int64_t R, int64_t C) {
  const double uniform = eps / static_cast<double>(C);
  parallel_for(R, kMinRows, [&](int64_t r0, int64_t r1) {
    // Without probs (inference) the exponentials go to a scratch row.
    std::vector<float> scratch(probs ? 0 : static_cast<size_t>(C));
    for (int64_t r = r0; r < r1; ++r) {
      losses[r] = 0.0;
      const float* zr = z + r * C;
      float* e = probs ? probs + r * C : scratch.data();
      if (y[r] < 0) {
        if (probs) std::fill(e, e + C, 0.0f);
        continue;
      }
      const float m = row_max(zr, C);
      for (int64_t c = 0; c < C; ++c) e[c] = zr[c] - m;
      act().exp(e, e, C);
      const double s = row_sum(e, C);
      const double lse = static_cast<double>(m) + std::log(s);
      const int32_t t = y[r];
      const double wy = w ? w[t] : 1.0;
      double loss = (1.0 - eps) * wy * (lse - zr[t]);
      // Zero coefficients are skipped: 0·(lse − z) is 0 even where z = −∞.
      if (eps != 0.0) {
        for (int64_t c = 0; c < C; ++c) {
          const double a = uniform * (w ? w[c] : 1.0);
          if (a != 0.0) loss += a * (lse - zr[c]);
        }
      }
      losses[r] = loss;
      if (probs) {
        const float inv = static_cast<float>(1.0 / s);
        for (int64_t c = 0; c < C; ++c) e[c] *= inv;
      }
    }
  });
}

void softmax_xent_backward(float* dz, const float* probs, const int32_t* y, const float* w, double eps,
                           const double* scale, int64_t R, int64_t C) {
  const double uniform_sum = uniform_total(w, eps, C);
  const double uniform = eps / static_cast<double>(C);
  parallel_for(R, kMinRows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* d = dz + r * C;
      const int32_t t = y[r];
      if (t < 0) {
        std::fill(d, d + C, 0.0f);
        continue;
      }
      const float* p = probs + r * C;
      const double k = scale[r];
      const float ks = static_cast<float>(k * coefficient_sum(uniform_sum, w, t, eps));
      for (int64_t c = 0; c < C; ++c) d[c] = ks * p[c];
      if (eps != 0.0) {
        for (int64_t c = 0; c < C; ++c) d[c] -= static_cast<float>(k * uniform * (w ? w[c] : 1.0));
      }
      d[t] -= static_cast<float>(k * (1.0 - eps) * (w ? w[t] : 1.0));
    }
  });
}

}  // namespace eddy
