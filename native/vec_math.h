// exp, sigmoid and tanh over a whole vector, written once with GCC/Clang
// vector extensions and compiled by each instruction set's file
// (activations_avx2.cc, packed_gemm_avx2.cc, packed_gemm_avx512.cc) into
// that set's registers: F is a vector of floats (8 for AVX2, 16 for
// AVX-512), I the integer vector of the same size. Accurate to about 1e-7
// absolute (sigmoid, tanh) and 2 ulp (exp); every lane gets the same
// instructions, whatever its position. Bits move between F and I with
// vector casts (same size, bits unchanged). Functions are static: no
// instantiation compiled for a wider set can be shared with baseline code.
// They are forced inline into the fused steps' epilogues that call them.
#pragma once

#include <cstdint>

namespace eddy {
namespace vec {

template <typename F>
static inline __attribute__((always_inline)) F splat(float v) {
  return F{} + v;
}

// The steps of exp, sigmoid and tanh an instruction set may do with
// instructions of its own (packed_gemm_avx512.cc): min and max that keep x
// when it is NaN, p · 2^k for integral k, and 1/d. These generic forms are
// plain vector arithmetic.
template <typename F, typename I>
struct GenericOps {
  static inline __attribute__((always_inline)) F min(F a, F x) { return a < x ? a : x; }
  static inline __attribute__((always_inline)) F max(F a, F x) { return a > x ? a : x; }
  // 2^k put straight into the exponent bits (k within the clamped range).
  static inline __attribute__((always_inline)) F scale(F p, F k) {
    const I e = (__builtin_convertvector(k, I) + 127) << 23;
    return p * (F)e;
  }
  static inline __attribute__((always_inline)) F recip(F d) { return 1.0f / d; }
};

// exp(x): range reduction x = k·ln2 + r with |r| <= ln2/2 (ln2 split in two
// parts for exactness), a degree-6 minimax polynomial for e^r, then scaled
// by 2^k. Inputs are clamped to the float range; NaN stays NaN.
template <typename F, typename I, typename Ops = GenericOps<F, I>>
static inline __attribute__((always_inline)) F exp(F x) {
  x = Ops::min(splat<F>(88.3762626647949f), x);
  x = Ops::max(splat<F>(-87.3365478515625f), x);
  // Adding 1.5·2^23 rounds to the nearest integer (|x·log2 e| < 2^22 here).
  const F magic = splat<F>(12582912.0f);
  const F k = (x * 1.44269504088896341f + magic) - magic;
  F r = x - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  F p = splat<F>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + (r + 1.0f);
  return Ops::scale(p, k);
}

template <typename F, typename I, typename Ops = GenericOps<F, I>>
static inline __attribute__((always_inline)) F sigmoid(F x) {
  return Ops::recip(1.0f + exp<F, I, Ops>(F{} - x));
}

// tanh(x) for |x| < 0.625 as an odd polynomial, z = x·x (vec_math_avx512.h
// uses it too).
template <typename F>
static inline __attribute__((always_inline)) F tanh_small(F x, F z) {
  F p = splat<F>(-5.70498872745e-3f);
  p = p * z + 2.06390887954e-2f;
  p = p * z + -5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z + -3.33332819422e-1f;
  return (p * z) * x + x;
}

// tanh(x): tanh_small for |x| < 0.625, where 1 - 2/(e^{2x}+1) would lose
// relative accuracy, and that formula (on |x|, sign restored) beyond.
template <typename F, typename I, typename Ops = GenericOps<F, I>>
static inline __attribute__((always_inline)) F tanh(F x) {
  const I bits = (I)x;
  const I sign = bits & static_cast<int32_t>(0x80000000u);
  const I abs_bits = bits & 0x7fffffff;
  const F ax = (F)abs_bits;
  const F small = tanh_small(x, x * x);
  const F e = exp<F, I, Ops>(2.0f * ax);
  // 2 · (1/d) is 2/d exactly: doubling neither rounds nor overflows here.
  const F big_abs = 1.0f - 2.0f * Ops::recip(e + 1.0f);
  const F big = (F)((I)big_abs | sign);
  return ax < splat<F>(0.625f) ? small : big;
}

}  // namespace vec
}  // namespace eddy
