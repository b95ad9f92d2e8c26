// The AVX-512 fused steps' sigmoid and tanh (vec_math_avx512.h) over
// arrays, for the accuracy tests (activation_kernels(2)); the library's
// own array activations are activations_avx2.cc's. Compiled with
// -mavx512f/bw/dq/vl -mfma and reached only when the CPU has AVX-512.
#include "activations.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "vec_math_avx512.h"

namespace eddy {
namespace avx512 {
namespace {

template <__m512 (*F)(__m512)>
void apply(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, F(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, F(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

__m512 sigmoid16(__m512 x) { return vec512::sigmoid(x); }
__m512 tanh16(__m512 x) { return vec512::tanh(x); }

}  // namespace

void sigmoid(float* y, const float* x, int64_t n) { apply<sigmoid16>(y, x, n); }
void tanh(float* y, const float* x, int64_t n) { apply<tanh16>(y, x, n); }

}  // namespace avx512
}  // namespace eddy

#endif  // x86-64
