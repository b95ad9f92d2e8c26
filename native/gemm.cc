#include "gemm.h"

#if defined(EDDY_OPENBLAS_BUFFER_GATE)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "activations.h"
#include "blas.h"
#include "heap.h"
#include "isa.h"
#include "packed_gemm.h"
#include "parallel.h"
#include "small_gemm.h"
#include "weight_grad.h"
#include "workspace_layout.h"

#if defined(EDDY_OPENBLAS_BUFFER_GATE)
// OpenBLAS's buffer allocator (driver/others/memory.c). Linked statically,
// so these are the very functions cblas_sgemm calls.
extern "C" {
void* blas_memory_alloc(int procpos);
void blas_memory_free(void* buffer);
void* __real_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset);
void* __wrap_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset);
}

// Why OpenBLAS is fenced in: every cblas_sgemm takes one of OpenBLAS's
// packing buffers (BUFFER_SIZE, 128 MiB of address space on x86-64). A
// buffer is mapped the first time a call finds all existing ones taken and
// is kept for the life of the process; when that mmap fails OpenBLAS
// retries it forever, so a GEMM under a memory limit (ulimit -v, strict
// overcommit) would hang its thread and, through the pool, the process.
//
// So Eddy (1) lets at most as many threads into OpenBLAS at once as there
// are reserved buffers, and (2) reserves buffers only while no thread is
// inside, by holding them all and asking for one more: OpenBLAS then maps
// exactly one fresh buffer, and its mmap goes through __wrap_mmap (the
// addon is linked with --wrap=mmap), which hands it memory Eddy has already
// mapped and checked. OpenBLAS's own mmap never runs during a GEMM, and a
// refused reservation is a ResourceExhausted error, never a hang.
namespace {

constexpr size_t kBlasBufferBytes = size_t(32) << 22;  // OpenBLAS's BUFFER_SIZE on x86-64
thread_local void* handover = nullptr;

}  // namespace

extern "C" void* __wrap_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (handover && !addr && length == kBlasBufferBytes && (flags & MAP_ANONYMOUS)) {
    void* region = handover;
    handover = nullptr;
    return region;
  }
  return __real_mmap(addr, length, prot, flags, fd, offset);
}

namespace eddy {
namespace {

class BlasGate {
 public:
  // Waits for a reserved buffer; reserves more first when the pool grew and
  // nobody is inside. Throws ResourceExhausted when no buffer can be had.
  void enter() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      const int want = num_threads() + 1;  // the pool, plus one caller from outside it
      if (busy_ == 0 && reserved_ < want && (want != refused_ || reserved_ == 0)) reserve(want);
      if (busy_ < reserved_) break;
      free_.wait(lock);
    }
    ++busy_;
  }

  void leave() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --busy_;
    }
    free_.notify_one();
  }

 private:
  // Takes buffers 0..want-1 from OpenBLAS, mapping the missing ones through
  // the hand-over, and gives them all back. Called with mu_ held and no
  // thread inside OpenBLAS, so OpenBLAS hands out exactly those buffers.
  void reserve(int want) {
    std::vector<void*> held;
    held.reserve(want);
    for (int i = 0; i < want; ++i) {
      if (i >= reserved_) {
        void* region = __real_mmap(nullptr, kBlasBufferBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) break;
        handover = region;
      }
      held.push_back(blas_memory_alloc(0));
      // A buffer OpenBLAS had mapped before needs no hand-over.
      if (handover) munmap(handover, kBlasBufferBytes);
      handover = nullptr;
    }
    for (void* buffer : held) blas_memory_free(buffer);
    reserved_ = std::max(reserved_, static_cast<int>(held.size()));
    refused_ = reserved_ < want ? want : 0;
    if (reserved_ == 0) {
      throw ResourceExhausted("could not reserve OpenBLAS's 128 MiB GEMM buffer (not enough address space)");
    }
  }

  std::mutex mu_;
  std::condition_variable free_;
  int reserved_ = 0;  // buffers OpenBLAS has mapped for Eddy
  int busy_ = 0;      // threads inside OpenBLAS now
  int refused_ = 0;   // a reservation of this many buffers failed: retry only when the target changes
};

BlasGate& blas_gate() {
  static BlasGate* gate = new BlasGate();  // leaked on purpose, like the pool
  return *gate;
}

#else

namespace eddy {
namespace {

// Any other BLAS (shared OpenBLAS, Accelerate, a generic CBLAS) manages its
// own buffers; there is nothing to fence in.
struct BlasGate {
  void enter() {}
  void leave() {}
};

BlasGate& blas_gate() {
  static BlasGate gate;
  return gate;
}

#endif  // EDDY_OPENBLAS_BUFFER_GATE

void gemm_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                 int ldb, float beta, float* c, int ldc) {
  BlasGate& gate = blas_gate();
  gate.enter();
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
  gate.leave();
}

// OpenBLAS's cores whose sgemm runs AVX2 and FMA or wider. DYNAMIC_ARCH
// picks the core by CPU model, so a CPU newer than the library (Emerald
// Rapids under OpenBLAS 0.3.21, say) falls back to Prescott: SSE3 kernels
// at a fifth of Eddy's own on the same shapes.
bool blas_core_is_vector() {
  static const bool yes = blas_core_is_one_of({"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"});
  return yes;
}

// C = op(A) · op(B) (+ C when accumulate) on Eddy's own kernels.
void own_product(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                 bool accumulate, float* c, int ldc) {
  if (trans_a && !trans_b) {
    // Aᵀ·B as the weight gradients run it, where the instruction set has a kernel for it.
    if (!accumulate)
      for (int i = 0; i < m; ++i) std::fill_n(c + static_cast<size_t>(i) * ldc, n, 0.0f);
    if (weight_grad_own(m, n, k, a, lda, b, ldb, c, ldc)) return;
    accumulate = true;
  }
  thread_local std::vector<float> a_rows;
  if (trans_a) {
    // A stored (k, m): its transpose, row-major, for the packed GEMM.
    grow(a_rows, static_cast<size_t>(m) * k);
    for (int p = 0; p < k; ++p)
      for (int i = 0; i < m; ++i) a_rows[static_cast<size_t>(i) * k + p] = a[static_cast<size_t>(p) * lda + i];
    a = a_rows.data();
    lda = k;
  }
  thread_local PackedMatrix packed;
  pack_b(packed, trans_b, b, ldb, k, n);
  packed_gemm_parallel(m, a, lda, packed, accumulate, c, ldc);
  release_if_large(packed.data);
  release_if_large(a_rows);
}

// C = alpha · op(A) · op(B) + beta · C on Eddy's own kernels, alpha ≠ 0
// (gemm() scales C itself for alpha = 0), with BLAS's convention that
// beta = 0 ignores C's old values.
void own_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
              int ldb, float beta, float* c, int ldc) {
  auto scale_c = [&](float s) {
    for (int i = 0; i < m; ++i) {
      float* row = c + static_cast<size_t>(i) * ldc;
      for (int j = 0; j < n; ++j) row[j] = s == 0.0f ? 0.0f : s * row[j];
    }
  };
  if (alpha != 1.0f) {
    // The product into scratch, then C = alpha · P + beta · C.
    std::vector<float> p(static_cast<size_t>(m) * n);
    own_product(trans_a, trans_b, m, n, k, a, lda, b, ldb, false, p.data(), n);
    for (int i = 0; i < m; ++i) {
      float* row = c + static_cast<size_t>(i) * ldc;
      const float* pr = p.data() + static_cast<size_t>(i) * n;
      for (int j = 0; j < n; ++j) row[j] = beta == 0.0f ? alpha * pr[j] : alpha * pr[j] + beta * row[j];
    }
    return;
  }
  if (beta != 0.0f && beta != 1.0f) scale_c(beta);
  own_product(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta != 0.0f, c, ldc);
}

}  // namespace

bool gemm_runs_own_kernels() {
  static const char* force = std::getenv("EDDY_GEMM");
  if (force && std::strcmp(force, "own") == 0) return true;
  if (force && std::strcmp(force, "blas") == 0) return false;
#if defined(EDDY_BLAS_OPENBLAS)
  return isa() != Isa::kGeneric && !blas_core_is_vector();
#else
  return false;
#endif
}

const char* gemm_kernel_name() {
  if (!gemm_runs_own_kernels()) return blas_name();
  // The packed GEMM's part of its name: "avx512 8x(16x3) packed".
  thread_local std::string name;
  name = packed_gemm_kernel_name();
  name = name.substr(0, name.find(','));
  return name.c_str();
}

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    // C = beta · C, as BLAS defines both cases, with A and B not read. Done
    // here rather than left to the BLAS: OpenBLAS's argument checks want
    // lda >= 1 even for empty operands, and OpenBLAS 0.3.21 on its
    // Cooperlake kernels multiplied an A of NaN by alpha = 0 into C
    // (Aᵀ·B, 12 × 10, k = 7), where BLAS leaves A unread.
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        float& v = c[static_cast<size_t>(i) * ldc + j];
        v = beta == 0.0f ? 0.0f : beta * v;
      }
    return;
  }
  // C += …: a C fresh from the allocator would be read (the zero page) before
  // it is written, faulting twice a page (recurrent.cc, rnn_backward).
  if (beta != 0.0f && ldc == n) map_for_write(c, sizeof(float) * m * n);
#if defined(__x86_64__) || defined(_M_X64)
  if (m <= avx2::kSmallGemmRows && !trans_a && use_avx2()) {
    avx2::small_gemm(trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#endif
  if (gemm_runs_own_kernels()) {
    own_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int threads = num_threads();
  if (threads < 2 || 2.0 * m * n * k < kParallelFlops) {
    gemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Split C into blocks of rows (or of columns when it is short and wide),
  // in multiples of 16 so every block keeps full-width micro-kernels.
  const bool by_rows = m >= 32 * threads || m >= n;
  const int extent = by_rows ? m : n;
  const int64_t units = (extent + 15) / 16;
  parallel_for(units, 1, [&](int64_t u0, int64_t u1) {
    const int lo = static_cast<int>(u0 * 16), hi = std::min(extent, static_cast<int>(u1 * 16));
    if (lo >= hi) return;
    if (by_rows) {
      const float* ab = trans_a ? a + lo : a + static_cast<size_t>(lo) * lda;
      gemm_serial(trans_a, trans_b, hi - lo, n, k, alpha, ab, lda, b, ldb, beta, c + static_cast<size_t>(lo) * ldc, ldc);
    } else {
      const float* bb = trans_b ? b + static_cast<size_t>(lo) * ldb : b + lo;
      gemm_serial(trans_a, trans_b, m, hi - lo, k, alpha, a, lda, bb, ldb, beta, c + lo, ldc);
    }
  });
}

}  // namespace eddy
