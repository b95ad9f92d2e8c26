#include "layernorm.h"

#include <cmath>

namespace eddy {

void ln_forward_row(float* y, float* xhat, float* rstd, const float* x, const float* gamma, const float* beta, int n) {
  double mean = 0;
  for (int i = 0; i < n; ++i) mean += x[i];
  mean /= n;
  double var = 0;
  for (int i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float s = static_cast<float>(1.0 / std::sqrt(var / n + kLayerNormEps));
  const float m = static_cast<float>(mean);
  if (rstd) *rstd = s;
  for (int i = 0; i < n; ++i) {
    const float h = (x[i] - m) * s;
    if (xhat) xhat[i] = h;
    y[i] = gamma[i] * h + beta[i];
  }
}

void ln_backward_row(float* dx, const float* dy, const float* xhat, float rstd, const float* gamma, int n) {
  double m1 = 0, m2 = 0;
  for (int i = 0; i < n; ++i) {
    const double g = static_cast<double>(dy[i]) * gamma[i];
    m1 += g;
    m2 += g * xhat[i];
  }
  const float a = static_cast<float>(m1 / n), b = static_cast<float>(m2 / n);
  for (int i = 0; i < n; ++i) dx[i] = rstd * (dy[i] * gamma[i] - a - xhat[i] * b);
}

}  // namespace eddy
