// Vectorised activations over arrays. The AVX2+FMA versions are chosen at
// load time when the CPU has them; the portable ones run everywhere. Both
// are accurate to about 1e-7 absolute (sigmoid, tanh) / 2 ulp (exp).
#pragma once

#include <cstdint>

namespace eddy {

struct ActivationKernels {
  void (*sigmoid)(float* y, const float* x, int64_t n);
  void (*tanh)(float* y, const float* x, int64_t n);
  void (*exp)(float* y, const float* x, int64_t n);
};

// The kernels in use (AVX2 when available unless disabled).
const ActivationKernels& act();
// The sets, for tests: index 0 portable, 1 AVX2, 2 the AVX-512 fused steps'
// sigmoid and tanh (vec_math_avx512.h; exp null); null when unsupported.
const ActivationKernels* activation_kernels(int which);
bool cpu_has_avx2();
// Whether Eddy's AVX2 activations run: the instruction set in use (isa.h)
// is AVX2 or wider.
bool use_avx2();

namespace portable {
void sigmoid(float* y, const float* x, int64_t n);
void tanh(float* y, const float* x, int64_t n);
void exp(float* y, const float* x, int64_t n);
}  // namespace portable

namespace avx2 {
void sigmoid(float* y, const float* x, int64_t n);
void tanh(float* y, const float* x, int64_t n);
void exp(float* y, const float* x, int64_t n);
}  // namespace avx2

namespace avx512 {
void sigmoid(float* y, const float* x, int64_t n);
void tanh(float* y, const float* x, int64_t n);
}  // namespace avx512

}  // namespace eddy
