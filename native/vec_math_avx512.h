// sigmoid and tanh over a 16-float vector with AVX-512's own instructions,
// for the AVX-512 fused steps (packed_gemm_avx512.cc) and the accuracy
// tests (activations_avx512.cc). Included only by files compiled with
// -mavx512f/dq; the functions are static, so no instantiation is shared
// with code compiled for other instruction sets. The includer's own
// AVX-512 code comes after it, under the same warning settings.
#pragma once

#if defined(__x86_64__) || defined(_M_X64)
// GCC 12's AVX-512 intrinsics self-initialise their "undefined" operands,
// which -Wuninitialized reports wherever they are inlined (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

#include "vec_math.h"

namespace eddy {
namespace vec512 {

// Fewer instructions than vec_math.h's forms (which the other paths run):
// on Intel the fused steps' gate pass shares the two 512-bit vector ports
// with the tiles' FMAs, so its instruction count is what it costs. A
// sigmoid here is 14 vector instructions and a tanh 26, against 20 and 33
// for vec_math.h's forms on AVX-512's min, max, vscalefps and rcp14; an
// LSTM row's gate pass about 105 against 133. In bench/native/cell_step.cc
// at C1's shape the LSTM gate pass alone took 35–36 ns per row and block
// of 16 units against 47–49 (Intel Xeon model 207). Each lane gets the
// same instructions, whatever its position.
//
// e^{c·x} as 2^t with t = c·log₂e·x: vreduceps splits off f = t − ⌊t⌋ in
// [0, 1) exactly, a degree-6 polynomial gives 2^f (relative error 1.9e-9
// in exact arithmetic, 8.4e-8 evaluated in float) and vscalefps multiplies
// by 2^⌊t⌋, going to 0 below the float range by itself (and for t = −∞);
// only the top needs a clamp (2^127·2^f stays finite, so 1/(1 + e) is
// never ∞·0). Rounding t costs e^{c·x} up to about 6e-8·|c·x| relative
// (4e-6 at 88), which σ(1 − σ) and 1 − tanh² scale down: over [−40, 40]
// sigmoid is within 9.1e-8 and tanh within 8.5e-8 absolute of float64, as
// vec_math.h's forms are (8.9e-8, 7.5e-8); relative to σ, within 4.7e-7
// where σ > 1e-3 (vec_math.h's 1.3e-7). 1/d is rcp14 with one Newton step
// (relative error about 2⁻²⁸ before rounding). NaN stays NaN (vminps
// returns its second operand when either is NaN).
static inline __attribute__((always_inline)) __m512 exp_times(__m512 x, float c) {
  __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(c * 1.44269504088896341f));
  t = _mm512_min_ps(_mm512_set1_ps(127.0f), t);
  const __m512 f = _mm512_reduce_ps(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 p = _mm512_set1_ps(2.1702254890e-4f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.2439688435e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6788406372e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5483341217e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022983015e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314700365e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, t);
}

static inline __attribute__((always_inline)) __m512 recip(__m512 d) {
  const __m512 y = _mm512_rcp14_ps(d);
  return _mm512_fmadd_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(1.0f)), y);
}

static inline __attribute__((always_inline)) __m512 sigmoid(__m512 x) {
  return recip(_mm512_add_ps(_mm512_set1_ps(1.0f), exp_times(x, -1.0f)));
}

// As vec_math.h's tanh: its odd polynomial below |x| = 0.625, else
// 1 − 2/(e^{2|x|} + 1) with x's sign put back.
static inline __attribute__((always_inline)) __m512 tanh(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 small = vec::tanh_small(x, _mm512_mul_ps(x, x));
  const __m512 r = recip(_mm512_add_ps(exp_times(ax, 2.0f), _mm512_set1_ps(1.0f)));
  const __m512 big_abs = _mm512_fnmadd_ps(_mm512_set1_ps(2.0f), r, _mm512_set1_ps(1.0f));
  // big_abs | (x & sign bit), one instruction.
  const __m512i big = _mm512_ternarylogic_epi32(_mm512_castps_si512(big_abs), _mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN), 0xf8);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ), _mm512_castsi512_ps(big), small);
}

}  // namespace vec512
}  // namespace eddy

#endif  // x86-64
