#include "packed_gemm.h"

#include <algorithm>
#include <cstring>

#include "packed_gemm_tiles.h"
#include "parallel.h"

namespace eddy {
namespace generic {
namespace {

// Portable tiles: 8 lanes of plain multiply-then-add (no fused multiply-add
// in baseline x86-64), which compilers turn into SSE.
struct V {
  static constexpr int kWidth = 8;
  struct Reg {
    float v[kWidth];
  };
  static Reg zero() { return Reg{}; }
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
};

}  // namespace

const PackedGemmKernels kPackedGemm = tiles::kernels<V, 4, 2, 4, 4, 2>("generic 4x(8x2) packed");

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

void pack_b(PackedMatrix& out, bool trans, const float* b, int ldb, int k, int n) {
  out.isa = isa();
  out.k = k;
  out.n = n;
  out.width = kernels_for(out.isa).width;
  const int w = out.width, panels = (n + w - 1) / w;
  out.data.assign(static_cast<size_t>(panels) * k * w, 0.0f);
  for (int j0 = 0; j0 < n; j0 += w) {
    float* panel = out.data.data() + static_cast<size_t>(j0 / w) * k * w;
    const int cols = std::min(w, n - j0);
    for (int p = 0; p < k; ++p) {
      float* dst = panel + static_cast<size_t>(p) * w;
      for (int j = 0; j < cols; ++j) {
        dst[j] = trans ? b[static_cast<size_t>(j0 + j) * ldb + p] : b[static_cast<size_t>(p) * ldb + j0 + j];
      }
    }
  }
}

void packed_gemm(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc) {
  if (m <= 0 || b.n <= 0) return;
  kernels_for(b.isa).gemm(m, b.n, b.k, a, lda, b.data.data(), accumulate, c, ldc);
}

void packed_gemm_parallel(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc) {
  // Chunks of 64 rows: big enough to keep each thread's panels in cache.
  const int64_t chunks = (m + 63) / 64;
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    const int lo = static_cast<int>(c0 * 64), hi = std::min(m, static_cast<int>(c1 * 64));
    packed_gemm(hi - lo, a + static_cast<size_t>(lo) * lda, lda, b, accumulate, c + static_cast<size_t>(lo) * ldc, ldc);
  });
}

const char* packed_gemm_kernel_name() { return kernels_for(isa()).name; }

}  // namespace eddy
