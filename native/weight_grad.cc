#include "weight_grad.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "blas.h"
#include "gemm.h"
#include "isa.h"
#include "packed_gemm.h"
#include "parallel.h"
#include "workspace_layout.h"

namespace eddy {
namespace {

// The loop nest keeps each operand where it is reused. For a block of kNc
// columns, the rows of C go in blocks of at most kCBlockBytes (a thread's
// whole share for the layers' usual shapes: C1's dW_hh is 1024 × 256, 512 KB
// a thread on two), which stay in L2 while every block of kKc rows of K
// passes over them. For each, B's rows are packed into panels of 64 columns
// just before use (16 KB a panel, reused from L1 by every tile of rows), and
// A is read in place (kKc rows of the block's columns), from L2 for every
// panel after the first: packing A measured slower, the copy costing more
// than the broadcasts from its strided rows saved. A's rows are 4 KB and
// more apart, so a tile's kKc rows lie on as many pages: 64 of them stay
// within the first-level TLB. On an Intel Xeon (model 207), 64 × 384 took
// 7–30 % less time than 128 × 192 on the recurrent layers' shapes; packing
// B a block of K at a time, with a thread's rows of C in one block, instead
// of packing B whole (3.2 MB a thread for C1's dW_hh, 6.5 MB for C5's) and
// streaming it back past L2 once per block of 384 rows took 5–13 % less
// time in a training step's calls and 3–24 % less alone, C3's shapes level
// (docs/kernels.md, The weight gradients' B packed as it is used).
constexpr int kKc = 64;
constexpr int kNc = 256;  // a multiple of the kernel's nr
constexpr size_t kCBlockBytes = 576 << 10;

// The first panel's tiles read A's block from L3, the later panels' from
// L2. With three panels of columns or more, the tiles of the second and
// later panels also fetch the next block of K's rows of A into L2, a few
// lines a tile, for the next first panel. On an Intel Xeon (model 207), one
// thread, L2 flushed before each call, interleaved, time against without:
// C3's dW_ih (2048 × 1024, K 1600) 0.87–0.89, C2's dW_hh (768 × 256, K
// 6400) 0.88–0.91, C5's (256 × 256, K 6400) 0.88–0.92, C3's dW_hh and C1's
// 0.91–1.0; two threads 0.91–0.99. With two panels (C1's dW_ih, 1024 × 128)
// every line came in during one panel: 1.02–1.03, so it fetches nothing.
constexpr int kPrefetchPanels = 3;

// The lines of rows [0, rows) of a block of A (`cols` floats from `first`,
// rows `ld` floats apart), handed out `count` at a time to be fetched into
// L2. A row counts one line more than its width, for a start inside a line.
class RowLines {
 public:
  RowLines(const float* first, size_t ld, int rows, int cols)
      : first_(first), ld_(ld), per_row_(static_cast<int>((sizeof(float) * cols + 63) / 64) + 1), total_(rows * per_row_) {}

  int total() const { return total_; }

  void fetch(int count) {
    for (const int end = std::min(total_, next_ + count); next_ < end; ++next_) {
      const uintptr_t row = reinterpret_cast<uintptr_t>(first_ + static_cast<size_t>(next_ / per_row_) * ld_) & ~uintptr_t(63);
      __builtin_prefetch(reinterpret_cast<const char*>(row) + 64 * (next_ % per_row_), 0, 2);
    }
  }

 private:
  const float* first_;
  size_t ld_;
  int per_row_, total_, next_ = 0;
};

// Whether OpenBLAS runs its AVX-512 kernels here (its DYNAMIC_ARCH choice,
// or the one OPENBLAS_CORETYPE forces).
bool blas_runs_avx512() {
  static const bool yes = blas_core_is_one_of({"SkylakeX", "Cooperlake", "SapphireRapids"});
  return yes;
}

// The own kernels where they are the faster: on the AVX-512 path, unless
// OpenBLAS runs its AVX-512 kernels too. Measured on these shapes (K = T·B, one
// thread, Zen 5): the own tile 140–177 GFLOP/s of CPU, OpenBLAS's AVX-512
// kernels 148–183 (level within ±10 %, shape by shape), its Haswell kernels
// 85–97. An own AVX2 tile (6×16) reached 80–88 against OpenBLAS Haswell's
// 89–100, so the AVX2 and generic paths call gemm().
// EDDY_WEIGHT_GRADIENTS=own|blas overrides the rule (own only where the
// AVX-512 path runs), for tests and benchmarks.
const char* forced_kernel() {
  static const char* force = std::getenv("EDDY_WEIGHT_GRADIENTS");
  return force ? force : "";
}

const WeightGradKernels* kernels_for(Isa which) {
#if defined(__x86_64__) || defined(_M_X64)
  const bool own = std::strcmp(forced_kernel(), "own") == 0, blas = std::strcmp(forced_kernel(), "blas") == 0;
  if (which == Isa::kAvx512 && !blas && (own || !blas_runs_avx512())) return &avx512::kWeightGrad;
#endif
  (void)which;
  return nullptr;
}

// The input gradient on the packed GEMM wherever the AVX-512 path runs,
// OpenBLAS's AVX-512 kernels or not. Against OpenBLAS's SkylakeX kernels on
// an Intel Xeon (model 167, two threads, alternating runs of 3–4 pairs,
// two runs): C1's training step 0–4 % faster, C2's 1–2 %, C3's 1–3 %. The
// AVX2 path keeps gemm(): there C3 ran 5 % slower on the packed GEMM than
// on OpenBLAS's Haswell kernels. EDDY_WEIGHT_GRADIENTS=blas puts it back
// on gemm() everywhere.
bool input_grad_on_packed() {
  return isa() == Isa::kAvx512 && std::strcmp(forced_kernel(), "blas") != 0;
}

// Copies rows [p0, p0 + kc) of the (·, ld) matrix src, columns [j0, j0 + cols),
// into panels of W columns: panel q holds [kc][W], zero-padded. W is a
// compile-time constant so the copies of whole panels are plain vector moves.
template <int W>
void pack_panels_of(float* out, const float* src, int ld, int p0, int kc, int j0, int cols) {
  const int full = cols / W, rest = cols - full * W;
  for (int p = 0; p < kc; ++p) {
    const float* row = src + static_cast<size_t>(p0 + p) * ld + j0;
    float* dst = out + static_cast<size_t>(p) * W;
    for (int q = 0; q < full; ++q, row += W, dst += static_cast<size_t>(kc) * W)
      for (int j = 0; j < W; ++j) dst[j] = row[j];
    if (rest)
      for (int j = 0; j < W; ++j) dst[j] = j < rest ? row[j] : 0.0f;
  }
}

void pack_panels(float* out, const float* src, int ld, int p0, int kc, int j0, int cols, int width) {
  switch (width) {
    case 64: return pack_panels_of<64>(out, src, ld, p0, kc, j0, cols);
    default: throw std::logic_error("weight_grad: no packing for this panel width");
  }
}

// Rows [i0, i1) of C, on the calling thread, in the loop nest described
// above. B is packed once per block of C's rows: 1/(2·rows) of the block's
// multiply-adds.
void weight_grad_rows(const WeightGradKernels& kern, int i0, int i1, int n, int k, const float* a, int lda, const float* b,
                      int ldb, float* c, int ldc) {
  if (i1 <= i0) return;
  const int MR = kern.mr, NR = kern.nr;
  thread_local std::vector<float> b_buf;
  grow(b_buf, static_cast<size_t>(kKc) * ((std::min(n, kNc) + NR - 1) / NR * NR));
  float* bp = b_buf.data();
  for (int jc = 0; jc < n; jc += kNc) {
    const int nc = std::min(kNc, n - jc), col_panels = (nc + NR - 1) / NR;
    // The rows dealt into equal blocks (whole tiles) of at most kCBlockBytes of C.
    const int most = std::max(MR, static_cast<int>(kCBlockBytes / (sizeof(float) * col_panels * NR)));
    const int tiles = (i1 - i0 + MR - 1) / MR, blocks = (i1 - i0 + most - 1) / most;
    const int block = (tiles + blocks - 1) / blocks * MR;
    for (int ic = i0; ic < i1; ic += block) {
      const int mc = std::min(block, i1 - ic), row_panels = (mc + MR - 1) / MR;
      for (int p0 = 0; p0 < k; p0 += kKc) {
        const int kc = std::min(kKc, k - p0);
        // Panel q of this block of K at bp + q·kc·NR.
        pack_panels(bp, b, ldb, p0, kc, jc, nc, NR);
        const int next_rows = col_panels >= kPrefetchPanels ? std::max(0, std::min(kKc, k - p0 - kKc)) : 0;
        RowLines next(next_rows > 0 ? a + static_cast<size_t>(p0 + kc) * lda + ic : a, static_cast<size_t>(lda), next_rows, mc);
        const int fetching_tiles = (col_panels - 1) * row_panels;
        const int per_tile = next_rows > 0 ? (next.total() + fetching_tiles - 1) / fetching_tiles : 0;
        for (int q = 0; q < col_panels; ++q) {
          for (int r = 0; r < row_panels; ++r) {
            if (q > 0) next.fetch(per_tile);
            float* ct = c + static_cast<size_t>(ic + r * MR) * ldc + jc + q * NR;
            kern.tile(kc, a + static_cast<size_t>(p0) * lda + ic + r * MR, lda, bp + static_cast<size_t>(q) * kc * NR, ct, ldc,
                      std::min(MR, mc - r * MR), std::min(NR, nc - q * NR));
          }
        }
      }
    }
  }
}

}  // namespace

const char* weight_grad_kernel_name() {
  const WeightGradKernels* kern = kernels_for(isa());
  return kern ? kern->name : gemm_kernel_name();
}

namespace {

// C += Aᵀ·B on one instruction set's kernels: threads take whole panels of
// rows of C, or, for a single column, blocks of 64 rows on the column kernel.
void run_weight_grad(const WeightGradKernels& kern, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                     float* c, int ldc) {
  if (n == 1) {
    // One column (a bias gradient): blocks of 64 rows of C across the pool,
    // through a contiguous copy of the column when its elements are apart.
    thread_local std::vector<float> col;
    float* cc = c;
    if (ldc != 1) {
      grow(col, static_cast<size_t>(m));
      for (int i = 0; i < m; ++i) col[i] = c[static_cast<size_t>(i) * ldc];
      cc = col.data();
    }
    constexpr int kRows = 64;
    const int64_t blocks = (m + kRows - 1) / kRows;
    const int64_t min_chunk = std::max<int64_t>(1, static_cast<int64_t>(kParallelFlops / (2.0 * kRows * k)));
    parallel_for(blocks, min_chunk, [&](int64_t q0, int64_t q1) {
      const int i0 = static_cast<int>(q0 * kRows), i1 = std::min(m, static_cast<int>(q1 * kRows));
      kern.column(k, a + i0, lda, b, ldb, cc + i0, i1 - i0);
    });
    if (ldc != 1)
      for (int i = 0; i < m; ++i) c[static_cast<size_t>(i) * ldc] = cc[i];
    release_if_large(col);
    return;
  }
  // Each thread packs its own copy of B's block.
  const int MR = kern.mr;
  const int64_t panels = (m + MR - 1) / MR;
  const double panel_flops = 2.0 * MR * n * k;
  const int64_t min_chunk = std::max<int64_t>(1, static_cast<int64_t>(kParallelFlops / panel_flops));
  parallel_for(panels, min_chunk, [&](int64_t q0, int64_t q1) {
    const int i0 = static_cast<int>(q0 * MR), i1 = std::min(m, static_cast<int>(q1 * MR));
    weight_grad_rows(kern, i0, i1, n, k, a, lda, b, ldb, c, ldc);
  });
}

}  // namespace

void weight_grad(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  const WeightGradKernels* kern = kernels_for(isa());
  if (!kern) {
    gemm(true, false, m, n, k, 1.0f, a, lda, b, ldb, 1.0f, c, ldc);
    return;
  }
  run_weight_grad(*kern, m, n, k, a, lda, b, ldb, c, ldc);
}

bool weight_grad_own(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
#if defined(__x86_64__) || defined(_M_X64)
  if (isa() != Isa::kAvx512) return false;
  if (m > 0 && n > 0 && k > 0) run_weight_grad(avx512::kWeightGrad, m, n, k, a, lda, b, ldb, c, ldc);
  return true;
#else
  (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
  return false;
#endif
}

bool grad_products_row_invariant() { return kernels_for(isa()) != nullptr && input_grad_on_packed(); }

const char* input_grad_kernel_name() { return input_grad_on_packed() ? packed_gemm_kernel_name() : gemm_kernel_name(); }

void input_grad(int m, int n, int k, const float* a, int lda, const float* b, int ldb, bool accumulate, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (!input_grad_on_packed() || k <= 0) {
    gemm(false, false, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
    return;
  }
  thread_local PackedMatrix packed;
  pack_b(packed, false, b, ldb, k, n);
  packed_gemm_parallel(m, a, lda, packed, accumulate, c, ldc);
  release_if_large(packed.data);
}

}  // namespace eddy
