// AVX-512 tiles of the packed GEMM (packed_gemm_tiles.h): panels of 16
// columns, tiles of 8 rows × 3 panels (24 accumulators of the 32 zmm
// registers; a group of W_ih's panels for K = 128 stays in L1), more panels
// for fewer rows (GemmShapes below). Compiled with -mavx512f/bw/dq/vl -mfma
// and reached only when isa() says so.
#include "packed_gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
// Its warning settings (GCC bug 105593) cover the AVX-512 code below.
#include "vec_math_avx512.h"

#include "packed_gemm_tiles.h"

namespace eddy {
namespace avx512 {
namespace {

struct V {
  static constexpr int kWidth = 16;
  static constexpr int kEpilogueRows = 1;  // rows per epilogue call (epilogue_rows)
  using Reg = __m512;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set(float a) { return _mm512_set1_ps(a); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static Reg madd(float a, Reg b, Reg acc) { return _mm512_fmadd_ps(_mm512_set1_ps(a), b, acc); }
  static void store(float* c, Reg v, int n, bool accumulate) {
    if (accumulate) v = _mm512_add_ps(loadn(c, n), v);
    storen(c, v, n);
  }
  // Whole vectors skip the mask: on Zen 5 a masked load or store, even with
  // every lane set, cost C5 about 5 % and C1 training about 7 % of their
  // time on 1 thread (same bits).
  static __mmask16 lanes(int n) { return n >= kWidth ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << n) - 1); }
  static Reg loadn(const float* p, int n) { return n >= kWidth ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(lanes(n), p); }
  static void storen(float* p, Reg v, int n) {
    if (n >= kWidth) return _mm512_storeu_ps(p, v);
    _mm512_mask_storeu_ps(p, lanes(n), v);
  }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg relu(Reg a) { return _mm512_max_ps(a, zero()); }
  static Reg where_positive(Reg x, Reg y) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, zero(), _CMP_GT_OQ), y); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg sigmoid(Reg x) { return vec512::sigmoid(x); }
  static Reg tanh(Reg x) { return vec512::tanh(x); }
};

}  // namespace

// The fused LSTM step takes tiles of 7 rows: 28 accumulators and the 4
// panels' vectors fill the registers (GCC keeps one accumulator on the
// stack), and each panel line loaded from L2 feeds 7 FMAs instead of 6. In
// the cell-step benchmark the step ran about 5 % faster at C1's and C3's
// shapes than with 6 (Intel Xeon model 207, six interleaved rounds; single
// rounds from 11 % slower to 11 % faster); a row's arithmetic is the same in
// any tile. The backward and RNN steps take tiles of 8 rows × 3 unit
// blocks: 24 accumulators as with 6 × 4, but C3's 32 rows (and C1's 32 a
// batch group) run as four tiles instead of six, so each panel group is
// read from L2 fewer times. Alone (one thread, the steps of a 50- or
// 100-step sequence, medians of 15–31 alternating runs, Intel Xeon model
// 167): C3's backward step ran 10 % faster, C1's, C2's and C5's 1–3 %; the
// RNN step of 64 rows (C5) 4 %, folded or not, of 8 rows 12 %. Where a
// batch's tiles would have 6 rows or fewer (batches of 2–6, 9–13, 17–20,
// …) both keep groups of 4 blocks: 3 ran 4–9 % slower there.
constexpr PackedGemmKernels kPackedGemm = tiles::kernels<V>(
    "avx512 8x(16x3) packed, fused lstm 7x(16x4), gru 8x(16x3), rnn 8x(16x3), backward 8x(16x3)", tiles::GemmShapes<8, 8, 6, 6, 4, 4, 3, 3>(),
    tiles::StepShapes<7, 8, 8, 3, 4, 8, 3, 4, 2, 8, 8, 8>());

}  // namespace avx512
}  // namespace eddy
#endif
