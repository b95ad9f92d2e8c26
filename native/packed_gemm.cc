#include "packed_gemm.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "activations.h"
#include "packed_gemm_tiles.h"
#include "parallel.h"

namespace eddy {
namespace generic {
namespace {

// Portable tiles: 8 lanes of plain multiply-then-add (no fused multiply-add
// in baseline x86-64), which compilers turn into SSE.
struct V {
  static constexpr int kWidth = 8;
  static constexpr int kEpilogueRows = 1;  // rows per epilogue call (epilogue_rows)
  struct Reg {
    float v[kWidth];
  };
  static Reg zero() { return Reg{}; }
  static Reg set(float a) {
    Reg r;
    for (int j = 0; j < kWidth; ++j) r.v[j] = a;
    return r;
  }
  static Reg load(const float* p) {
    Reg r;
    std::memcpy(r.v, p, sizeof r.v);
    return r;
  }
  static Reg madd(float a, const Reg& b, Reg acc) {
    for (int j = 0; j < kWidth; ++j) acc.v[j] = acc.v[j] + a * b.v[j];
    return acc;
  }
  static void store(float* c, const Reg& r, int n, bool accumulate) {
    for (int j = 0; j < n; ++j) c[j] = accumulate ? c[j] + r.v[j] : r.v[j];
  }
  static Reg loadn(const float* p, int n) {
    Reg r{};
    for (int j = 0; j < n && j < kWidth; ++j) r.v[j] = p[j];
    return r;
  }
  static void storen(float* p, const Reg& r, int n) { store(p, r, n < kWidth ? n : kWidth, false); }
  static Reg add(Reg a, const Reg& b) {
    for (int j = 0; j < kWidth; ++j) a.v[j] = a.v[j] + b.v[j];
    return a;
  }
  static Reg sub(Reg a, const Reg& b) {
    for (int j = 0; j < kWidth; ++j) a.v[j] = a.v[j] - b.v[j];
    return a;
  }
  static Reg mul(Reg a, const Reg& b) {
    for (int j = 0; j < kWidth; ++j) a.v[j] = a.v[j] * b.v[j];
    return a;
  }
  static Reg relu(Reg a) {
    for (int j = 0; j < kWidth; ++j) a.v[j] = a.v[j] > 0.0f ? a.v[j] : 0.0f;
    return a;
  }
  static Reg where_positive(const Reg& x, Reg y) {
    for (int j = 0; j < kWidth; ++j) y.v[j] = x.v[j] > 0.0f ? y.v[j] : 0.0f;
    return y;
  }
  static Reg fma(const Reg& a, const Reg& b, Reg c) {
    for (int j = 0; j < kWidth; ++j) c.v[j] = a.v[j] * b.v[j] + c.v[j];
    return c;
  }
  static Reg sigmoid(Reg x) {
    portable::sigmoid(x.v, x.v, kWidth);
    return x;
  }
  static Reg tanh(Reg x) {
    portable::tanh(x.v, x.v, kWidth);
    return x;
  }
};

}  // namespace

constexpr PackedGemmKernels kPackedGemm = tiles::kernels<V>(
    "generic 4x(8x2) packed, fused lstm 2x(8x4), gru 2x(8x3), rnn 4x(8x2), backward 4x(8x2)", tiles::GemmShapes<4, 4, 2, 2>(),
    tiles::StepShapes<2, 2, 4, 2, 2, 4, 2, 2, 2, 2, 4, 4>());

}  // namespace generic

namespace {

const PackedGemmKernels& kernels_for(Isa which) {
#if defined(__x86_64__) || defined(_M_X64)
  if (which == Isa::kAvx512) return avx512::kPackedGemm;
  if (which == Isa::kAvx2) return avx2::kPackedGemm;
#endif
  (void)which;
  return generic::kPackedGemm;
}

}  // namespace

namespace {

void start_packing(PackedMatrix& out, int k, int n) {
  out.isa = isa();
  out.k = k;
  out.n = n;
  out.width = kernels_for(out.isa).width;
  if (out.width > kMaxPanelWidth || out.width % 4 != 0) throw std::logic_error("packed panels must be 4 to 16 floats wide");
  // Every element is written (the padding with zeros), so a buffer kept
  // from the last call is not cleared first, nor shrunk: a resize up would
  // zero what it adds (each call, when one thread packs a smaller layer's
  // weights between two larger ones), and elements past the panels are unused.
  const size_t need = static_cast<size_t>((n + out.width - 1) / out.width) * k * out.width;
  if (out.data.size() < need) out.data.resize(need);
}

// Element (p, j) of panel dst = rows[j][p]: columns of op(B) stored as rows
// (C = A · Bᵀ), a row pointer per column (null: a column of zeros). Four
// rows by four steps at a time, read along the rows and transposed in
// registers: a column-at-a-time copy reads w rows 4 bytes apart. Steps
// from p on (those before it packed already).
void pack_rows_sse(float* dst, const float* const* rows, int k, int w, int p = 0) {
#if defined(__SSE2__)
  for (; p + 4 <= k; p += 4) {
    for (int j = 0; j < w; j += 4) {
      __m128 r[4];
      for (int i = 0; i < 4; ++i) r[i] = rows[j + i] ? _mm_loadu_ps(rows[j + i] + p) : _mm_setzero_ps();
      _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
      for (int i = 0; i < 4; ++i) _mm_storeu_ps(dst + static_cast<size_t>(p + i) * w + j, r[i]);
    }
  }
#endif
  for (; p < k; ++p) {
    for (int j = 0; j < w; ++j) dst[static_cast<size_t>(p) * w + j] = rows[j] ? rows[j][p] : 0.0f;
  }
}

// The panels' packer for the kernels of `which`: eight by eight where the
// instruction set has AVX, the steps left four by four. Both put the same
// floats in the same places.
void pack_rows(Isa which, float* dst, const float* const* rows, int k, int w) {
  int p = 0;
#if defined(__x86_64__) || defined(_M_X64)
  if ((which == Isa::kAvx2 || which == Isa::kAvx512) && w % 8 == 0) p = avx2::pack_rows_by_eight(dst, rows, k, w);
#endif
  (void)which;
  pack_rows_sse(dst, rows, k, w, p);
}

}  // namespace

void pack_b(PackedMatrix& out, bool trans, const float* b, int ldb, int k, int n) {
  start_packing(out, k, n);
  const int w = out.width;
  for (int j0 = 0; j0 < n; j0 += w) {
    float* panel = out.data.data() + static_cast<size_t>(j0 / w) * k * w;
    const int cols = std::min(w, n - j0);
    if (trans) {
      const float* rows[kMaxPanelWidth];
      for (int j = 0; j < w; ++j) rows[j] = j < cols ? b + static_cast<size_t>(j0 + j) * ldb : nullptr;
      pack_rows(out.isa, panel, rows, k, w);
      continue;
    }
    for (int p = 0; p < k; ++p) {
      float* dst = panel + static_cast<size_t>(p) * w;
      std::memcpy(dst, b + static_cast<size_t>(p) * ldb + j0, sizeof(float) * cols);
      for (int j = cols; j < w; ++j) dst[j] = 0.0f;
    }
  }
}

void pack_gate_hidden(PackedMatrix& out, const float* w_hh, int G, int H, const float* w_ih, int in) {
  const int w = kernels_for(isa()).width, blocks = (H + w - 1) / w;
  if (!w_ih) in = 0;
  const int k = H + in;
  // Columns in the order the kernel reads its output: block u, gate g,
  // unit j  <-  W_hh row g·H + u·w + j (zero past H), then W_ih's row.
  start_packing(out, k, blocks * G * w);
  for (int u = 0; u < blocks; ++u) {
    for (int g = 0; g < G; ++g) {
      float* panel = out.data.data() + static_cast<size_t>(u * G + g) * k * w;
      const float* rows[kMaxPanelWidth];
      for (int j = 0; j < w; ++j) rows[j] = u * w + j < H ? w_hh + (static_cast<size_t>(g) * H + u * w + j) * H : nullptr;
      pack_rows(out.isa, panel, rows, H, w);
      if (in == 0) continue;
      for (int j = 0; j < w; ++j) rows[j] = u * w + j < H ? w_ih + (static_cast<size_t>(g) * H + u * w + j) * in : nullptr;
      pack_rows(out.isa, panel + static_cast<size_t>(H) * w, rows, in, w);
    }
  }
}

int unit_blocks(const PackedMatrix& w, int H) { return w.width > 0 ? (H + w.width - 1) / w.width : 0; }

void lstm_fused_step(const CellStep& s, const PackedMatrix& w) {
  if (s.bs > 0 && s.u0 < s.u1) kernels_for(w.isa).lstm_step(s, w.data.data(), w.k);
}

void gru_fused_step(const CellStep& s, const PackedMatrix& w) {
  if (s.bs > 0 && s.u0 < s.u1) kernels_for(w.isa).gru_step(s, w.data.data(), w.k);
}

void rnn_fused_step(const CellStep& s, const PackedMatrix& w) {
  if (s.bs > 0 && s.u0 < s.u1) kernels_for(w.isa).rnn_step(s, w.data.data(), w.k);
}

void lstm_fused_backward_step(const CellBackStep& s, const PackedMatrix& w) {
  if (s.u0 < s.u1) kernels_for(w.isa).lstm_back(s, w.data.data(), w.k);
}

void gru_fused_backward_step(const CellBackStep& s, const PackedMatrix& w) {
  if (s.u0 < s.u1) kernels_for(w.isa).gru_back(s, w.data.data(), w.k);
}

void rnn_fused_backward_step(const CellBackStep& s, const PackedMatrix& w) {
  if (s.u0 < s.u1) kernels_for(w.isa).rnn_back(s, w.data.data(), w.k);
}

void packed_gemm(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc, const float* bias) {
  if (bias && accumulate) throw std::logic_error("packed_gemm: a bias is not added to an accumulated C");
  if (m <= 0 || b.n <= 0) return;
  kernels_for(b.isa).gemm(m, b.n, b.k, a, lda, b.data.data(), accumulate, bias, c, ldc);
}

void packed_gemm_list(int count, int m, const float* const* a, int lda, const PackedMatrix& b, float* const* c, int ldc, const float* bias) {
  if (count <= 0 || m <= 0 || b.n <= 0) return;
  kernels_for(b.isa).gemm_list(count, m, b.n, b.k, a, lda, b.data.data(), bias, c, ldc);
}

void packed_gemm_cols(int m, const float* a, int lda, const PackedMatrix& b, int j0, int j1, bool accumulate, float* c, int ldc,
                      const float* bias) {
  if (bias && accumulate) throw std::logic_error("packed_gemm_cols: a bias is not added to an accumulated C");
  j1 = std::min(j1, b.n);
  if (m <= 0 || j0 >= j1) return;
  kernels_for(b.isa).gemm(m, j1 - j0, b.k, a, lda, b.data.data() + static_cast<size_t>(j0 / b.width) * b.panel_stride(), accumulate, bias, c,
                          ldc);
}

void packed_gemm_parallel(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc) {
  const int threads = num_threads();
  if (threads < 2 || 2.0 * m * b.n * b.k < kParallelFlops) return packed_gemm(m, a, lda, b, accumulate, c, ldc);
  if (m < 64 * threads) {
    // Too few rows to deal: whole panels of columns instead.
    const int64_t panels = (b.n + b.width - 1) / b.width;
    parallel_for(panels, 1, [&](int64_t q0, int64_t q1) {
      const int j0 = static_cast<int>(q0 * b.width), j1 = std::min(b.n, static_cast<int>(q1 * b.width));
      packed_gemm_cols(m, a, lda, b, j0, j1, accumulate, c + j0, ldc);
    });
    return;
  }
  // Chunks of 64 rows: big enough to keep each thread's panels in cache.
  const int64_t chunks = (m + 63) / 64;
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    const int lo = static_cast<int>(c0 * 64), hi = std::min(m, static_cast<int>(c1 * 64));
    packed_gemm(hi - lo, a + static_cast<size_t>(lo) * lda, lda, b, accumulate, c + static_cast<size_t>(lo) * ldc, ldc);
  });
}

int packed_gemm_slab_columns(int k) { return kernels_for(isa()).slab_columns(k); }

int packed_gemm_tile_rows() { return kernels_for(isa()).rows; }

const char* packed_gemm_kernel_name() { return kernels_for(isa()).name; }

int fused_step_tile_rows(bool lstm) { return lstm ? kernels_for(isa()).lstm_rows : kernels_for(isa()).rnn_rows; }

}  // namespace eddy
