// AVX-512 weight-gradient tile (weight_grad_tiles.h): 6 rows × 4 vectors of
// 16 columns, 24 accumulators of the 32 zmm registers. Compiled with
// -mavx512f/bw/dq/vl -mfma and reached only when isa() says so.
#include "weight_grad.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "weight_grad_tiles.h"

namespace eddy {
namespace avx512 {
namespace {

struct V {
  static constexpr int kWidth = 16;
  using Reg = __m512;
  static __mmask16 lanes(int n) {
    return n >= kWidth ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << n) - 1);
  }
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set(float a) { return _mm512_set1_ps(a); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  // Whole vectors skip the mask: masked loads and stores cost more (packed_gemm_avx512.cc).
  static Reg loadn(const float* p, int n) { return n >= kWidth ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(lanes(n), p); }
  static void storen(float* p, Reg v, int n) {
    if (n >= kWidth) return _mm512_storeu_ps(p, v);
    _mm512_mask_storeu_ps(p, lanes(n), v);
  }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
};

}  // namespace

const WeightGradKernels kWeightGrad = {6, 64, "avx512 6x64 k-blocked", wgrad::tile<V, 6, 4>, wgrad::column<V, 4>};

}  // namespace avx512
}  // namespace eddy
#endif
