#include "activations.h"

#include <cmath>
#include <cstdlib>

namespace eddy {

namespace portable {

void sigmoid(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

void tanh(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

void exp(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

}  // namespace portable

bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

namespace {
const ActivationKernels kPortable = {portable::sigmoid, portable::tanh, portable::exp};
#if defined(__x86_64__)
const ActivationKernels kAvx2 = {avx2::sigmoid, avx2::tanh, avx2::exp};
#endif
}  // namespace

const ActivationKernels* activation_kernels(int which) {
#if defined(__x86_64__)
  if (which == 1) return cpu_has_avx2() ? &kAvx2 : nullptr;
#endif
  return which == 0 ? &kPortable : nullptr;
}

bool use_avx2() {
  static const bool on = [] {
    const char* off = std::getenv("EDDY_DISABLE_AVX2");
    return cpu_has_avx2() && !(off && off[0] == '1');
  }();
  return on;
}

const ActivationKernels& act() {
  static const ActivationKernels* chosen = use_avx2() ? activation_kernels(1) : &kPortable;
  return *chosen;
}

}  // namespace eddy
