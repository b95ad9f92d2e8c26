// AVX2+FMA activations. This file alone is compiled with -mavx2 -mfma and
// is only called after a runtime CPU check (activations.cc).
// The body exists only on x86-64: other targets build the generic path.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cmath>

#include "activations.h"
#include "vec_math.h"

namespace eddy {
namespace avx2 {
namespace {

typedef int32_t I8 __attribute__((vector_size(32)));
__m256 exp8(__m256 x) { return vec::exp<__m256, I8>(x); }
__m256 sigmoid8(__m256 x) { return vec::sigmoid<__m256, I8>(x); }
__m256 tanh8(__m256 x) { return vec::tanh<__m256, I8>(x); }

template <__m256 (*F)(__m256)>
inline void apply(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F(_mm256_loadu_ps(x + i)));
  if (i < n) {
    // Tail through the same vector code, so every element gets identical
    // arithmetic whatever its position.
    alignas(32) float buf[8] = {0};
    for (int64_t j = i; j < n; ++j) buf[j - i] = x[j];
    _mm256_store_ps(buf, F(_mm256_load_ps(buf)));
    for (int64_t j = i; j < n; ++j) y[j] = buf[j - i];
  }
}

}  // namespace

void sigmoid(float* y, const float* x, int64_t n) { apply<sigmoid8>(y, x, n); }
void tanh(float* y, const float* x, int64_t n) { apply<tanh8>(y, x, n); }
void exp(float* y, const float* x, int64_t n) { apply<exp8>(y, x, n); }

}  // namespace avx2
}  // namespace eddy

#endif  // x86-64
