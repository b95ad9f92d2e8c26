// A training step allocates and frees the same large blocks every time:
// output and gradient tensors, packed weights, per-call scratch. glibc maps
// blocks above its mmap threshold afresh and returns freed memory at the
// top of the heap once more than its trim threshold is free; both thresholds
// adapt to what was freed, but only up to 32 MiB and 64 MiB. A stacked
// BiLSTM's step (C3) frees more than that at once, so every step mapped its
// memory again: about 1 800 page faults a step and about 7 % more CPU per
// step, and more on a rank in lock-step with another (docs/distributed.md).
// Fixing the thresholds at 32 MiB (mmap) and 256 MiB (trim) keeps that
// memory for reuse; blocks of 32 MiB and more are still mapped and returned
// whole. The price: freed memory stays with the process for its next
// allocations. The main heap returns its top only once 256 MiB of it are
// free, and the heaps of other threads (at most 64 MiB each) keep theirs;
// memory freed below a heap's top was never returned anyway.
#include "heap.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

// Older C libraries (the prebuilt binaries' glibc 2.31) do not name the
// advice; the kernel's number is fixed (Linux 5.14+).
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#endif

namespace eddy {

namespace {

std::atomic<const char*> policy{"system"};

#if defined(__GLIBC__)
constexpr int kMmapThreshold = 32 << 20;  // glibc's largest (HEAP_MAX_SIZE / 2 on 64-bit)
constexpr int kTrimThreshold = 256 << 20;

// Whether the environment already sets glibc's thresholds: that choice is
// the user's, and stays (unless EDDY_HEAP=retain says otherwise).
bool malloc_configured() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.")) return true;
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}
#endif

}  // namespace

void choose_heap_policy() {
  const char* want = std::getenv("EDDY_HEAP");
  if (want && std::strcmp(want, "system") == 0) return;
  const bool asked = want && std::strcmp(want, "retain") == 0;
  if (want && *want && !asked) {
    policy.store("unknown-setting");
    return;
  }
#if defined(__GLIBC__)
  if (!asked && malloc_configured()) return;
  // mallopt returns 1 on success; a sanitizer's allocator ignores it.
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1) policy.store("retain");
#endif
}

const char* heap_policy() { return policy.load(); }

void map_for_write(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  // Below this the faults cost less than the call.
  constexpr size_t kMinBytes = size_t{256} << 10;
  // A kernel that does not know the advice refuses it with EINVAL (our ranges
  // are ordinary anonymous memory): it is not asked again.
  static std::atomic<bool> known{true};
  if (bytes < kMinBytes || !known.load(std::memory_order_relaxed)) return;
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(page - 1);
  if (end <= begin) return;
  // An output the allocator reused from its heap was cleared page by page
  // (calloc), so its pages are all resident and written: walking them again
  // costs about 1 % of a C1 inference call. Fresh memory is not resident at
  // all, and memory that grew the heap is not at its end: both ends resident
  // means nothing is left to do. (A page only ever read is resident as the
  // shared zero page and still faults on its first write; only the speed
  // depends on this.)
  unsigned char first = 0, last = 0;
  if (mincore(reinterpret_cast<void*>(begin), page, &first) == 0 && mincore(reinterpret_cast<void*>(end - page), page, &last) == 0 &&
      (first & last & 1)) {
    return;
  }
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) != 0 && errno == EINVAL) known.store(false, std::memory_order_relaxed);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace eddy
