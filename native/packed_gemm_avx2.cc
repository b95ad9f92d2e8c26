// AVX2+FMA tiles of the packed GEMM (packed_gemm_tiles.h): panels of 8
// columns, tiles of 4 rows × 3 panels (12 accumulators of the 16 ymm
// registers), more panels for fewer rows. Compiled with -mavx2 -mfma and
// reached only when isa() says so.
#include "packed_gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "packed_gemm_tiles.h"

namespace eddy {
namespace avx2 {
namespace {

struct V {
  static constexpr int kWidth = 8;
  using Reg = __m256;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static Reg madd(float a, Reg b, Reg acc) { return _mm256_fmadd_ps(_mm256_set1_ps(a), b, acc); }
  static void store(float* c, Reg v, int n, bool accumulate) {
    if (n == kWidth) {
      _mm256_storeu_ps(c, accumulate ? _mm256_add_ps(_mm256_loadu_ps(c), v) : v);
      return;
    }
    alignas(32) float lanes[kWidth];
    _mm256_store_ps(lanes, v);
    for (int j = 0; j < n; ++j) c[j] = accumulate ? c[j] + lanes[j] : lanes[j];
  }
};

}  // namespace

const PackedGemmKernels kPackedGemm = tiles::kernels<V, 4, 3, 8, 6, 4>("avx2 4x(8x3) packed");

}  // namespace avx2
}  // namespace eddy
#endif
