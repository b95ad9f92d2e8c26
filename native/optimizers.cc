#include "optimizers.h"

#include <algorithm>
#include <cmath>

namespace eddy {

// PyTorch's lerp: a + w·(b − a) for w < 0.5, else b − (b − a)·(1 − w).
static inline float lerp(float a, float b, float w) { return w < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w); }

void sgd_step(float* p, const float* g, float* buf, size_t n, const SgdArgs& a) {
  const float wd = static_cast<float>(a.weight_decay), mom = static_cast<float>(a.momentum);
  const float damp = static_cast<float>(1.0 - a.dampening), lr = static_cast<float>(-a.lr);
  for (size_t i = 0; i < n; ++i) {
    float d = wd != 0.0f ? g[i] + wd * p[i] : g[i];
    if (buf) {
      buf[i] = a.first_step ? d : buf[i] * mom + damp * d;
      d = a.nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] += lr * d;
  }
}

void adam_step(float* p, const float* g, float* m, float* v, float* vmax, size_t n, const AdamArgs& a) {
  const double bc1 = 1.0 - std::pow(a.beta1, static_cast<double>(a.step));
  const double bc2 = 1.0 - std::pow(a.beta2, static_cast<double>(a.step));
  const float step_size = static_cast<float>(-(a.lr / bc1));
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float w1 = static_cast<float>(1.0 - a.beta1), b2 = static_cast<float>(a.beta2), w2 = static_cast<float>(1.0 - a.beta2);
  const float eps = static_cast<float>(a.eps), wd = static_cast<float>(a.weight_decay);
  const float decay = static_cast<float>(1.0 - a.lr * a.weight_decay);
  for (size_t i = 0; i < n; ++i) {
    float d = g[i];
    if (a.decoupled) {
      p[i] *= decay;
    } else if (wd != 0.0f) {
      d += wd * p[i];
    }
    m[i] = lerp(m[i], d, w1);
    v[i] = v[i] * b2 + w2 * d * d;
    float second = v[i];
    if (vmax) second = vmax[i] = std::max(vmax[i], v[i]);
    const float denom = std::sqrt(second) / bc2_sqrt + eps;
    p[i] += step_size * (m[i] / denom);
  }
}

void rmsprop_step(float* p, const float* g, float* sq, float* gavg, float* buf, size_t n, const RmspropArgs& a) {
  const float alpha = static_cast<float>(a.alpha), w = static_cast<float>(1.0 - a.alpha);
  const float eps = static_cast<float>(a.eps), wd = static_cast<float>(a.weight_decay);
  const float mom = static_cast<float>(a.momentum), lr = static_cast<float>(-a.lr);
  for (size_t i = 0; i < n; ++i) {
    const float d = wd != 0.0f ? g[i] + wd * p[i] : g[i];
    sq[i] = sq[i] * alpha + w * d * d;
    float avg;
    if (gavg) {
      gavg[i] = lerp(gavg[i], d, w);
      avg = std::sqrt(sq[i] + -1.0f * gavg[i] * gavg[i]) + eps;
    } else {
      avg = std::sqrt(sq[i]) + eps;
    }
    if (buf) {
      buf[i] = buf[i] * mom + d / avg;
      p[i] += lr * buf[i];
    } else {
      p[i] += lr * (d / avg);
    }
  }
}

void adagrad_step(float* p, const float* g, float* sum, size_t n, const AdagradArgs& a) {
  const float clr = static_cast<float>(-(a.lr / (1.0 + static_cast<double>(a.step - 1) * a.lr_decay)));
  const float eps = static_cast<float>(a.eps), wd = static_cast<float>(a.weight_decay);
  for (size_t i = 0; i < n; ++i) {
    const float d = wd != 0.0f ? g[i] + wd * p[i] : g[i];
    sum[i] += d * d;
    const float std_ = std::sqrt(sum[i]) + eps;
    p[i] += clr * (d / std_);
  }
}

}  // namespace eddy
