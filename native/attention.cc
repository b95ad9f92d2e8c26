#include "attention.h"

#include <cstddef>
#include <vector>

#include "activations.h"
#include "parallel.h"

namespace eddy {

void additive_score_forward(float* s, const float* qp, const float* kp, const float* v, int B, int Tq, int Tk, int H) {
  parallel_for(static_cast<int64_t>(B) * Tq, 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> t(H);
    const ActivationKernels& k = act();
    for (int64_t r = r0; r < r1; ++r) {
      const int b = static_cast<int>(r / Tq);
      const float* q = qp + r * H;
      for (int j = 0; j < Tk; ++j) {
        const float* kj = kp + (static_cast<size_t>(b) * Tk + j) * H;
        for (int h = 0; h < H; ++h) t[h] = q[h] + kj[h];
        k.tanh(t.data(), t.data(), H);
        float acc = 0;
        for (int h = 0; h < H; ++h) acc += v[h] * t[h];
        s[r * Tk + j] = acc;
      }
    }
  });
}

void additive_score_backward(float* dqp, float* dkp, float* dv, const float* ds, const float* qp, const float* kp,
                             const float* v, int B, int Tq, int Tk, int H) {
  // One sequence per task: dkp rows and a private dv row belong to it alone.
  std::vector<float> dv_parts(static_cast<size_t>(B) * H, 0.0f);
  parallel_for(B, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> t(H);
    const ActivationKernels& k = act();
    for (int64_t b = b0; b < b1; ++b) {
      float* dvb = dv_parts.data() + b * H;
      for (int i = 0; i < Tq; ++i) {
        const size_t r = static_cast<size_t>(b) * Tq + i;
        const float* q = qp + r * H;
        float* dq = dqp ? dqp + r * H : nullptr;
        for (int j = 0; j < Tk; ++j) {
          const float g = ds[r * Tk + j];
          if (g == 0.0f) continue;  // masked keys and unused rows
          const float* kj = kp + (static_cast<size_t>(b) * Tk + j) * H;
          float* dk = dkp ? dkp + (static_cast<size_t>(b) * Tk + j) * H : nullptr;
          for (int h = 0; h < H; ++h) t[h] = q[h] + kj[h];
          k.tanh(t.data(), t.data(), H);
          for (int h = 0; h < H; ++h) {
            dvb[h] += g * t[h];
            const float d = g * v[h] * (1.0f - t[h] * t[h]);
            if (dq) dq[h] += d;
            if (dk) dk[h] += d;
          }
        }
      }
    }
  });
  if (dv) {
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < H; ++h) dv[h] += dv_parts[static_cast<size_t>(b) * H + h];
  }
}

}  // namespace eddy
