// Eddy's own GEMM for the recurrent hot path: C (m×n) = A (m×k) · op(B)
// (+ C), with op(B) packed once into panels of `width` columns — the layout
// the micro-kernel of the chosen instruction set (isa.h) reads:
//   panel j: [k][width], columns j·width … j·width + width − 1, zero-padded.
// Batch invariance by design: every element of C is one chain of
// multiply-adds over p = 0 … k−1 in order, started from zero, then stored
// (or added to C); neither the row count, the row's position, the tile it
// falls in nor the thread that runs it changes that chain. So a row's
// result is bit-identical alone or inside any batch, for a given ISA.
#pragma once

#include <cstddef>
#include <vector>

#include "isa.h"

namespace eddy {

struct PackedMatrix {
  Isa isa = Isa::kGeneric;  // the kernels it was packed for
  int k = 0, n = 0, width = 0;
  std::vector<float> data;  // [ceil(n / width)][k][width]

  size_t panel_stride() const { return static_cast<size_t>(k) * width; }
};

// Packs op(B) of shape (k, n) for the ISA in use: B is stored (n, k) when
// trans (C = A · Bᵀ, as for h · W_hhᵀ), else (k, n); ldb is its row stride.
void pack_b(PackedMatrix& out, bool trans, const float* b, int ldb, int k, int n);

// C = A · op(B), or C += A · op(B) when accumulate; runs on the calling thread.
void packed_gemm(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc);

// The same, rows dealt across the pool (each row's arithmetic unchanged).
void packed_gemm_parallel(int m, const float* a, int lda, const PackedMatrix& b, bool accumulate, float* c, int ldc);

// What runs, for runtimeInfo(): e.g. "avx512 4x(16·6) packed".
const char* packed_gemm_kernel_name();

// One instruction set's kernels (packed_gemm_<isa>.cc).
struct PackedGemmKernels {
  int width;
  const char* name;
  void (*gemm)(int m, int n, int k, const float* a, int lda, const float* packed, bool accumulate, float* c, int ldc);
};

namespace generic {
extern const PackedGemmKernels kPackedGemm;
}
namespace avx2 {
extern const PackedGemmKernels kPackedGemm;
}
namespace avx512 {
extern const PackedGemmKernels kPackedGemm;
}

}  // namespace eddy
