#include "optimizers.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "parallel.h"

namespace eddy {

// PyTorch's lerp: a + w·(b − a) for w < 0.5, else b − (b − a)·(1 − w).
static inline float lerp(float a, float b, float w) { return w < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w); }

// Every update is element by element: the tensor is cut into chunks run
// across the pool, and each chunk's loop has its options fixed at compile
// time and its scalars copied into locals (constants, not captured
// references), so it vectorizes. Each element gets the same operations in
// the same order whatever its chunk, position or thread (no FMA
// contraction on the baseline instruction set), so the bits do not depend
// on the split.
constexpr int64_t kChunk = 1 << 14;

template <typename Fn>
void for_chunks(size_t n, Fn&& fn) {
  const int64_t chunks = (static_cast<int64_t>(n) + kChunk - 1) / kChunk;
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    const size_t i0 = static_cast<size_t>(c0 * kChunk), i1 = std::min(n, static_cast<size_t>(c1 * kChunk));
    fn(i0, i1);
  });
}

// Calls fn with each flag as std::true_type or std::false_type, so the
// loop it runs is compiled once per combination, with no branch inside.
template <typename Fn>
void with_flags(Fn&& fn) {
  fn();
}

template <typename Fn, typename... Rest>
void with_flags(Fn&& fn, bool flag, Rest... rest) {
  if (flag) {
    with_flags([&](auto... known) { fn(std::true_type{}, known...); }, rest...);
  } else {
    with_flags([&](auto... known) { fn(std::false_type{}, known...); }, rest...);
  }
}

void sgd_step(float* p, const float* g, float* buf, size_t n, const SgdArgs& a) {
  const float wd = static_cast<float>(a.weight_decay), mom = static_cast<float>(a.momentum);
  const float damp = static_cast<float>(1.0 - a.dampening), lr = static_cast<float>(-a.lr);
  const auto update = [&](auto decay, auto momentum, auto first, auto nesterov) {
    for_chunks(n, [&](size_t i0, size_t i1) {
      const float k_wd = wd, k_mom = mom, k_damp = damp, k_lr = lr;
      for (size_t i = i0; i < i1; ++i) {
        float d = decay ? g[i] + k_wd * p[i] : g[i];
        if (momentum) {
          buf[i] = first ? d : buf[i] * k_mom + k_damp * d;
          d = nesterov ? d + k_mom * buf[i] : buf[i];
        }
        p[i] += k_lr * d;
      }
    });
  };
  with_flags(update, wd != 0.0f, buf != nullptr, a.first_step, a.nesterov);
}

void adam_step(float* p, const float* g, float* m, float* v, float* vmax, size_t n, const AdamArgs& a) {
  const double bc1 = 1.0 - std::pow(a.beta1, static_cast<double>(a.step));
  const double bc2 = 1.0 - std::pow(a.beta2, static_cast<double>(a.step));
  const float step_size = static_cast<float>(-(a.lr / bc1));
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float w1 = static_cast<float>(1.0 - a.beta1), b2 = static_cast<float>(a.beta2), w2 = static_cast<float>(1.0 - a.beta2);
  const float eps = static_cast<float>(a.eps), wd = static_cast<float>(a.weight_decay);
  const float decay = static_cast<float>(1.0 - a.lr * a.weight_decay);
  const auto update = [&](auto decoupled, auto l2, auto amsgrad) {
    for_chunks(n, [&](size_t i0, size_t i1) {
      const float k_decay = decay, k_wd = wd, k_w1 = w1, k_b2 = b2, k_w2 = w2, k_bc2 = bc2_sqrt, k_eps = eps, k_step = step_size;
      for (size_t i = i0; i < i1; ++i) {
        float d = g[i];
        if (decoupled) p[i] *= k_decay;
        if (l2) d += k_wd * p[i];
        m[i] = lerp(m[i], d, k_w1);
        v[i] = v[i] * k_b2 + k_w2 * d * d;
        float second = v[i];
        if (amsgrad) second = vmax[i] = std::max(vmax[i], v[i]);
        const float denom = std::sqrt(second) / k_bc2 + k_eps;
        p[i] += k_step * (m[i] / denom);
      }
    });
  };
  with_flags(update, a.decoupled, !a.decoupled && wd != 0.0f, vmax != nullptr);
}

void rmsprop_step(float* p, const float* g, float* sq, float* gavg, float* buf, size_t n, const RmspropArgs& a) {
  const float alpha = static_cast<float>(a.alpha), w = static_cast<float>(1.0 - a.alpha);
  const float eps = static_cast<float>(a.eps), wd = static_cast<float>(a.weight_decay);
  const float mom = static_cast<float>(a.momentum), lr = static_cast<float>(-a.lr);
  const auto update = [&](auto decay, auto centered, auto momentum) {
    for_chunks(n, [&](size_t i0, size_t i1) {
      const float k_wd = wd, k_alpha = alpha, k_w = w, k_eps = eps, k_mom = mom, k_lr = lr;
      for (size_t i = i0; i < i1; ++i) {
        const float d = decay ? g[i] + k_wd * p[i] : g[i];
        sq[i] = sq[i] * k_alpha + k_w * d * d;
        float avg;
        if (centered) {
          gavg[i] = lerp(gavg[i], d, k_w);
          avg = std::sqrt(sq[i] + -1.0f * gavg[i] * gavg[i]) + k_eps;
        } else {
          avg = std::sqrt(sq[i]) + k_eps;
        }
        if (momentum) {
          buf[i] = buf[i] * k_mom + d / avg;
          p[i] += k_lr * buf[i];
        } else {
          p[i] += k_lr * (d / avg);
        }
      }
    });
  };
  with_flags(update, wd != 0.0f, gavg != nullptr, buf != nullptr);
}

void adagrad_step(float* p, const float* g, float* sum, size_t n, const AdagradArgs& a) {
  const float clr = static_cast<float>(-(a.lr / (1.0 + static_cast<double>(a.step - 1) * a.lr_decay)));
  const float eps = static_cast<float>(a.eps), wd = static_cast<float>(a.weight_decay);
  const auto update = [&](auto decay) {
    for_chunks(n, [&](size_t i0, size_t i1) {
      const float k_wd = wd, k_eps = eps, k_clr = clr;
      for (size_t i = i0; i < i1; ++i) {
        const float d = decay ? g[i] + k_wd * p[i] : g[i];
        sum[i] += d * d;
        const float std_ = std::sqrt(sum[i]) + k_eps;
        p[i] += k_clr * (d / std_);
      }
    });
  };
  with_flags(update, wd != 0.0f);
}

}  // namespace eddy
