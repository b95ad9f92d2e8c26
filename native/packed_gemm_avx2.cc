// AVX2+FMA tiles of the packed GEMM (packed_gemm_tiles.h): panels of 8
// columns, tiles of 5 rows × 2 panels (10 accumulators of the 16 ymm
// registers), more panels for fewer rows. Like 4 × 3, the tile reads 7
// streams in its K loop (panels and rows of A); on the Xeon of model 167 it
// ran the recurrent layers' projection shapes 3–43 % faster with the
// operands in cache (docs/kernels.md, The AVX2 GEMM in tiles of 5 rows).
// Compiled with -mavx2 -mfma and reached only when isa() says so.
#include "packed_gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "packed_gemm_tiles.h"
#include "vec_math.h"

namespace eddy {
namespace avx2 {
namespace {

typedef int32_t I8 __attribute__((vector_size(32)));

struct V {
  static constexpr int kWidth = 8;
  static constexpr int kEpilogueRows = 1;  // rows per epilogue call (epilogue_rows)
  using Reg = __m256;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set(float a) { return _mm256_set1_ps(a); }
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
  // Partial vectors go through a zeroed buffer, so every lane gets the same instructions.
  static Reg loadn(const float* p, int n) {
    if (n >= kWidth) return _mm256_loadu_ps(p);
    alignas(32) float buf[kWidth] = {0};
    for (int j = 0; j < n; ++j) buf[j] = p[j];
    return _mm256_load_ps(buf);
  }
  static void storen(float* p, Reg v, int n) {
    if (n >= kWidth) return _mm256_storeu_ps(p, v);
    alignas(32) float buf[kWidth];
    _mm256_store_ps(buf, v);
    for (int j = 0; j < n; ++j) p[j] = buf[j];
  }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg relu(Reg a) { return _mm256_max_ps(a, zero()); }
  static Reg where_positive(Reg x, Reg y) { return _mm256_and_ps(_mm256_cmp_ps(x, zero(), _CMP_GT_OQ), y); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg sigmoid(Reg x) { return vec::sigmoid<Reg, I8>(x); }
  static Reg tanh(Reg x) { return vec::tanh<Reg, I8>(x); }
};

}  // namespace

int pack_rows_by_eight(float* dst, const float* const* rows, int k, int w) {
  int p = 0;
  for (; p + 8 <= k; p += 8) {
    for (int j = 0; j < w; j += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = rows[j + i] ? _mm256_loadu_ps(rows[j + i] + p) : _mm256_setzero_ps();
      // Pairs, then quads, then the 128-bit halves: o[i] holds step p + i of rows j … j + 7.
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 q0 = _mm256_shuffle_ps(t0, t2, 0x44), q1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 q2 = _mm256_shuffle_ps(t1, t3, 0x44), q3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 q4 = _mm256_shuffle_ps(t4, t6, 0x44), q5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 q6 = _mm256_shuffle_ps(t5, t7, 0x44), q7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      const __m256 o[8] = {_mm256_permute2f128_ps(q0, q4, 0x20), _mm256_permute2f128_ps(q1, q5, 0x20),
                           _mm256_permute2f128_ps(q2, q6, 0x20), _mm256_permute2f128_ps(q3, q7, 0x20),
                           _mm256_permute2f128_ps(q0, q4, 0x31), _mm256_permute2f128_ps(q1, q5, 0x31),
                           _mm256_permute2f128_ps(q2, q6, 0x31), _mm256_permute2f128_ps(q3, q7, 0x31)};
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + static_cast<size_t>(p + i) * w + j, o[i]);
    }
  }
  return p;
}

constexpr PackedGemmKernels kPackedGemm = tiles::kernels<V>(
    "avx2 5x(8x2) packed, fused lstm 3x(8x4), gru 4x(8x3), rnn 4x(8x3), backward 4x(8x3)", tiles::GemmShapes<8, 6, 4, 3, 2>(),
    tiles::StepShapes<3, 4, 4, 3, 3, 4, 3, 3, 3, 4, 8, 8>());

}  // namespace avx2
}  // namespace eddy
#endif
