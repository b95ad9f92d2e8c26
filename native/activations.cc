#include "activations.h"

#include "isa.h"

#include <cmath>

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

bool cpu_has_avx2() { return cpu_supports(Isa::kAvx2); }

namespace {
const ActivationKernels kPortable = {portable::sigmoid, portable::tanh, portable::exp};
#if defined(__x86_64__)
const ActivationKernels kAvx2 = {avx2::sigmoid, avx2::tanh, avx2::exp};
const ActivationKernels kAvx512 = {avx512::sigmoid, avx512::tanh, nullptr};
#endif
}  // namespace

const ActivationKernels* activation_kernels(int which) {
#if defined(__x86_64__)
  if (which == 1) return cpu_has_avx2() ? &kAvx2 : nullptr;
  if (which == 2) return cpu_supports(Isa::kAvx512) ? &kAvx512 : nullptr;
#endif
  return which == 0 ? &kPortable : nullptr;
}

bool use_avx2() { return isa() != Isa::kGeneric; }

const ActivationKernels& act() {
  static const ActivationKernels* chosen = use_avx2() ? activation_kernels(1) : &kPortable;
  return *chosen;
}

}  // namespace eddy
