// Fused scaled dot-product attention (FlashAttention-2's schedule on CPU).
//
// Forward, per (b, h) and block of kBr queries: for each block of kBc keys,
//   S = s·Q_i K_jᵀ + M_ij                        [kBr, kBc] scratch
//   m' = max(m, rowmax S); P = exp(S − m'); l = l·e^(m−m') + rowsum P
//   A = A·e^(m−m') + (P ∘ Z) V_j                 Z: dropout keep mask / (1 − p)
// then O_i = A / l and lse_i = m + log l. Only lse [B, H, Tq] is kept for
// backward; the weights are written only when asked for (a second pass).
//
// Backward, per (b, h) (one task owns dK, dV and dQ of its head), with
// D_i = rowsum(dO_i ∘ O_i) (+ rowsum(dW_i ∘ W_i) when the weights got a
// gradient), for each key block j and query block i:
//   P = exp(S − lse_i); dV_j += (P ∘ Z)ᵀ dO_i; dP = (dO_i V_jᵀ) ∘ Z + dW_ij
//   dS = P ∘ (dP − D_i); dQ_i += s·dS K_j; dK_j += s·dSᵀ Q_i
//
// Masked keys (beyond a sequence's length, above the causal diagonal) are
// never visited; additive −∞ entries get a weight of exactly 0. The kernel
// is a template so tests can run the same schedule in double precision; the
// float instance runs its products through gemm() (OpenBLAS, one thread per
// pool task) and its exponentials through the vectorised act().exp.
#include "attention_sdpa.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "activations.h"
#include "gemm.h"
#include "parallel.h"

namespace eddy {
namespace {

constexpr int kBr = 64;  // queries per tile
constexpr int kBc = 64;  // keys per tile

// Row-major C = alpha·op(A)·op(B) + beta·C.
void tile_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int64_t lda, const float* b,
               int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  gemm(ta, tb, m, n, k, alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

// The double instance (tests only): plain loops, same operand conventions.
void tile_gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int64_t lda, const double* b,
               int64_t ldb, double beta, double* c, int64_t ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double acc = 0;
      for (int p = 0; p < k; ++p) acc += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = alpha * acc + (beta == 0 ? 0 : beta * c[i * ldc + j]);
    }
  }
}

void exp_inplace(float* x, int n) { act().exp(x, x, n); }
void exp_inplace(double* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

// max(init, x[0..n)) and Σ x[0..n) with eight independent lanes, so the
// compiler vectorises them (a single running max or sum is a serial chain).
template <typename T>
T row_max(const T* x, int n, T init) {
  T lane[8] = {init, init, init, init, init, init, init, init};
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int u = 0; u < 8; ++u) lane[u] = x[j + u] > lane[u] ? x[j + u] : lane[u];
  for (; j < n; ++j) lane[0] = x[j] > lane[0] ? x[j] : lane[0];
  T m = lane[0];
  for (int u = 1; u < 8; ++u) m = lane[u] > m ? lane[u] : m;
  return m;
}

template <typename T>
T row_sum(const T* x, int n) {
  T lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int u = 0; u < 8; ++u) lane[u] += x[j + u];
  for (; j < n; ++j) lane[0] += x[j];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The dropout pattern: a counter-based hash of (seed, b·H + h, i, j), so
// backward regenerates exactly the mask forward used without storing it.
template <typename T>
struct Dropout {
  bool on = false;
  uint64_t seed = 0;
  uint64_t threshold = 0;  // keep when the hash's top 32 bits are ≥ threshold
  T scale = 1;             // 1 / (1 − p)

  explicit Dropout(const SdpaShape& s) {
    if (s.dropout <= 0) return;
    on = true;
    seed = mix64(s.seed);
    threshold = static_cast<uint64_t>(std::min(s.dropout, 1.0) * 4294967296.0);
    scale = static_cast<T>(1.0 / (1.0 - s.dropout));
  }
  // Z for row i, keys j0 … j0+c−1: scale or 0.
  void row(T* z, int64_t bh, int i, int j0, int c, const SdpaShape& s) const {
    const uint64_t base = (static_cast<uint64_t>(bh) * s.Tq + i) * s.Tk + j0;
    for (int jj = 0; jj < c; ++jj) z[jj] = (mix64(seed ^ (base + jj)) >> 32) >= threshold ? scale : T(0);
  }
};

// Operands of one (b, h): base pointers and row strides.
template <typename T>
struct Head {
  int b;
  int64_t bh;
  int kv_len;      // keys of this sequence
  const T* mask;   // [Tq, Tk] of this head, or null
};

template <typename T>
Head<T> head_of(int64_t bh, const int32_t* kv_lengths, const T* mask, const SdpaShape& s) {
  Head<T> h;
  h.b = static_cast<int>(bh / s.H);
  h.bh = bh;
  h.kv_len = kv_lengths ? std::min(std::max(kv_lengths[h.b], 0), s.Tk) : s.Tk;
  h.mask = mask ? mask + (s.mask_per_head ? bh * s.Tq * static_cast<int64_t>(s.Tk) : 0) : nullptr;
  return h;
}

// Keys query i may see: [0, limit).
inline int key_limit(int i, int kv_len, const SdpaShape& s) {
  return s.causal ? std::min(kv_len, std::max(0, i + s.causal_offset + 1)) : kv_len;
}

template <typename T>
const T* at(const T* base, const HeadView& v, const Head<T>& h, int hd) {
  return base + h.b * v.sb + static_cast<int64_t>(hd) * v.sh;
}

// P[ii, jj] = exp(s·q_i·k_j + M_ij − shift_ii) for rows i0 … i0+r−1 and keys
// j0 … j0+c−1, exactly 0 where masked; `shift` null means the row maximum
// (returned in rowmax, combined with the running max `m`, for the online
// softmax). Returns nothing; rows whose every key is masked are all 0.
template <typename T>
void probabilities(T* P, int ldp, const T* qh, const T* kh, int i0, int r, int j0, int c, const Head<T>& h,
                   const SdpaShape& s, const T* shift, T* m_running, T* rescale) {
  const T ninf = -std::numeric_limits<T>::infinity();
  tile_gemm(false, true, r, c, s.D, static_cast<T>(s.scale), qh + i0 * s.q.st, s.q.st, kh + j0 * s.k.st, s.k.st, T(0), P,
            ldp);
  for (int ii = 0; ii < r; ++ii) {
    const int i = i0 + ii;
    T* row = P + static_cast<int64_t>(ii) * ldp;
    const int valid = std::min(c, std::max(0, key_limit(i, h.kv_len, s) - j0));
    const T* mrow = h.mask ? h.mask + static_cast<int64_t>(i) * s.Tk + j0 : nullptr;
    if (mrow)
      for (int jj = 0; jj < valid; ++jj) row[jj] += mrow[jj];
    T sub;
    if (shift) {
      sub = shift[ii];
    } else {
      const T mx = row_max(row, valid, m_running[ii]);
      rescale[ii] = mx == ninf ? T(1) : (m_running[ii] == ninf ? T(0) : std::exp(m_running[ii] - mx));
      m_running[ii] = mx;
      sub = mx;
    }
    if (sub == ninf) {
      std::fill(row, row + c, T(0));
      continue;
    }
    for (int jj = 0; jj < valid; ++jj) row[jj] -= sub;
    exp_inplace(row, valid);
    std::fill(row + valid, row + c, T(0));
    if (mrow)
      for (int jj = 0; jj < valid; ++jj)
        if (mrow[jj] == ninf) row[jj] = 0;
  }
}

}  // namespace

template <typename T>
void sdpa_forward(T* out, T* lse, T* weights, const T* q, const T* k, const T* v, const int32_t* kv_lengths,
                  const T* mask, const SdpaShape& s) {
  const int nqb = (s.Tq + kBr - 1) / kBr;
  const int64_t BH = static_cast<int64_t>(s.B) * s.H;
  const T ninf = -std::numeric_limits<T>::infinity();
  parallel_for(BH * nqb, 1, [&](int64_t w0, int64_t w1) {
    std::vector<T> P(static_cast<size_t>(kBr) * kBc), acc(static_cast<size_t>(kBr) * s.Dv), z(kBc);
    std::vector<T> m(kBr), l(kBr), rescale(kBr);
    const Dropout<T> drop(s);
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t bh = w / nqb;
      const Head<T> h = head_of(bh, kv_lengths, mask, s);
      const int hd = static_cast<int>(bh % s.H);
      const T* qh = at(q, s.q, h, hd);
      const T* kh = at(k, s.k, h, hd);
      const T* vh = at(v, s.v, h, hd);
      const int i0 = static_cast<int>(w % nqb) * kBr, r = std::min(kBr, s.Tq - i0);
      std::fill(m.begin(), m.end(), ninf);
      std::fill(l.begin(), l.end(), T(0));
      std::fill(acc.begin(), acc.end(), T(0));
      const int kend = key_limit(i0 + r - 1, h.kv_len, s);
      for (int j0 = 0; j0 < kend; j0 += kBc) {
        const int c = std::min(kBc, kend - j0);
        probabilities(P.data(), kBc, qh, kh, i0, r, j0, c, h, s, static_cast<const T*>(nullptr), m.data(), rescale.data());
        for (int ii = 0; ii < r; ++ii) {
          T* row = P.data() + static_cast<size_t>(ii) * kBc;
          l[ii] = l[ii] * rescale[ii] + row_sum(row, c);
          if (rescale[ii] != T(1))
            for (int d = 0; d < s.Dv; ++d) acc[static_cast<size_t>(ii) * s.Dv + d] *= rescale[ii];
          if (drop.on) {
            drop.row(z.data(), bh, i0 + ii, j0, c, s);
            for (int jj = 0; jj < c; ++jj) row[jj] *= z[jj];
          }
        }
        tile_gemm(false, false, r, s.Dv, c, T(1), P.data(), kBc, vh + j0 * s.v.st, s.v.st, T(1), acc.data(), s.Dv);
      }
      T* oh = out + h.b * s.o.sb + static_cast<int64_t>(hd) * s.o.sh;
      for (int ii = 0; ii < r; ++ii) {
        const T inv = l[ii] > 0 ? T(1) / l[ii] : T(0);
        T* orow = oh + (i0 + ii) * s.o.st;
        for (int d = 0; d < s.Dv; ++d) orow[d] = acc[static_cast<size_t>(ii) * s.Dv + d] * inv;
        lse[bh * s.Tq + i0 + ii] = l[ii] > 0 ? m[ii] + std::log(l[ii]) : ninf;
      }
      if (!weights) continue;
      // The weights, if asked for: one more pass, now with the final lse.
      for (int j0 = 0; j0 < s.Tk; j0 += kBc) {
        const int c = std::min(kBc, s.Tk - j0);
        probabilities(P.data(), kBc, qh, kh, i0, r, j0, c, h, s, lse + bh * s.Tq + i0, static_cast<T*>(nullptr),
                      static_cast<T*>(nullptr));
        for (int ii = 0; ii < r; ++ii)
          std::copy(P.data() + static_cast<size_t>(ii) * kBc, P.data() + static_cast<size_t>(ii) * kBc + c,
                    weights + (bh * s.Tq + i0 + ii) * s.Tk + j0);
      }
    }
  });
}

template <typename T>
void sdpa_backward(T* dq, T* dk, T* dv, const T* dout, const T* dweights, const T* q, const T* k, const T* v,
                   const T* out, const T* lse, const T* weights, const int32_t* kv_lengths, const T* mask,
                   const SdpaShape& s) {
  const int64_t BH = static_cast<int64_t>(s.B) * s.H;
  parallel_for(BH, 1, [&](int64_t bh0, int64_t bh1) {
    std::vector<T> P(static_cast<size_t>(kBr) * kBc), dP(static_cast<size_t>(kBr) * kBc), Pz(static_cast<size_t>(kBr) * kBc);
    std::vector<T> Dvec(s.Tq), z(kBc);
    const Dropout<T> drop(s);
    for (int64_t bh = bh0; bh < bh1; ++bh) {
      const Head<T> h = head_of(bh, kv_lengths, mask, s);
      const int hd = static_cast<int>(bh % s.H);
      const T* qh = at(q, s.q, h, hd);
      const T* kh = at(k, s.k, h, hd);
      const T* vh = at(v, s.v, h, hd);
      const T* oh = at(out, s.o, h, hd);
      const T* doh = dout + bh * s.Tq * static_cast<int64_t>(s.Dv);
      T* dqh = dq ? dq + h.b * s.q.sb + static_cast<int64_t>(hd) * s.q.sh : nullptr;
      T* dkh = dk ? dk + h.b * s.k.sb + static_cast<int64_t>(hd) * s.k.sh : nullptr;
      T* dvh = dv ? dv + h.b * s.v.sb + static_cast<int64_t>(hd) * s.v.sh : nullptr;
      const T* dwh = dweights ? dweights + bh * s.Tq * static_cast<int64_t>(s.Tk) : nullptr;
      const T* wh = dweights ? weights + bh * s.Tq * static_cast<int64_t>(s.Tk) : nullptr;
      for (int i = 0; i < s.Tq; ++i) {
        T d = 0;
        for (int e = 0; e < s.Dv; ++e) d += doh[static_cast<int64_t>(i) * s.Dv + e] * oh[i * s.o.st + e];
        if (dwh)
          for (int j = 0; j < s.Tk; ++j) d += dwh[static_cast<int64_t>(i) * s.Tk + j] * wh[static_cast<int64_t>(i) * s.Tk + j];
        Dvec[i] = d;
      }
      const int kend = s.causal ? key_limit(s.Tq - 1, h.kv_len, s) : h.kv_len;
      for (int j0 = 0; j0 < kend; j0 += kBc) {
        const int c = std::min(kBc, kend - j0);
        // Queries that see key j0 at all start at j0 − causal_offset.
        const int ifirst = s.causal ? std::max(0, j0 - s.causal_offset) : 0;
        for (int i0 = ifirst - ifirst % kBr; i0 < s.Tq; i0 += kBr) {
          const int r = std::min(kBr, s.Tq - i0);
          probabilities(P.data(), kBc, qh, kh, i0, r, j0, c, h, s, lse + bh * s.Tq + i0, static_cast<T*>(nullptr),
                        static_cast<T*>(nullptr));
          tile_gemm(false, true, r, c, s.Dv, T(1), doh + static_cast<int64_t>(i0) * s.Dv, s.Dv, vh + j0 * s.v.st, s.v.st,
                    T(0), dP.data(), kBc);
          const T* Pv = P.data();
          if (drop.on) {
            for (int ii = 0; ii < r; ++ii) {
              drop.row(z.data(), bh, i0 + ii, j0, c, s);
              const size_t base = static_cast<size_t>(ii) * kBc;
              for (int jj = 0; jj < c; ++jj) {
                Pz[base + jj] = P[base + jj] * z[jj];
                dP[base + jj] *= z[jj];
              }
            }
            Pv = Pz.data();
          }
          if (dvh)
            tile_gemm(true, false, c, s.Dv, r, T(1), Pv, kBc, doh + static_cast<int64_t>(i0) * s.Dv, s.Dv, T(1),
                      dvh + j0 * s.v.st, s.v.st);
          for (int ii = 0; ii < r; ++ii) {
            const size_t base = static_cast<size_t>(ii) * kBc;
            const T* dwrow = dwh ? dwh + static_cast<int64_t>(i0 + ii) * s.Tk + j0 : nullptr;
            for (int jj = 0; jj < c; ++jj) {
              const T g = dP[base + jj] + (dwrow ? dwrow[jj] : T(0));
              dP[base + jj] = P[base + jj] * (g - Dvec[i0 + ii]);  // dS
            }
          }
          if (dqh)
            tile_gemm(false, false, r, s.D, c, static_cast<T>(s.scale), dP.data(), kBc, kh + j0 * s.k.st, s.k.st, T(1),
                      dqh + i0 * s.q.st, s.q.st);
          if (dkh)
            tile_gemm(true, false, c, s.D, r, static_cast<T>(s.scale), dP.data(), kBc, qh + i0 * s.q.st, s.q.st, T(1),
                      dkh + j0 * s.k.st, s.k.st);
        }
      }
    }
  });
}

template void sdpa_forward<float>(float*, float*, float*, const float*, const float*, const float*, const int32_t*,
                                  const float*, const SdpaShape&);
template void sdpa_forward<double>(double*, double*, double*, const double*, const double*, const double*,
                                   const int32_t*, const double*, const SdpaShape&);
template void sdpa_backward<float>(float*, float*, float*, const float*, const float*, const float*, const float*,
                                   const float*, const float*, const float*, const float*, const int32_t*,
                                   const float*, const SdpaShape&);
template void sdpa_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                    const double*, const double*, const double*, const double*, const double*,
                                    const int32_t*, const double*, const SdpaShape&);

}  // namespace eddy
