// Eddy's thread pool. It is the only source of parallelism: OpenBLAS is kept
// single-threaded and called from the pool's threads, so one setting
// (set_num_threads) governs everything and nothing oversubscribes the cores.
#pragma once

#include <cstdint>
#include <new>

namespace eddy {

// The system refused something Eddy needs (memory, address space, a
// thread). It is a std::bad_alloc, so every boundary that catches failed
// allocations catches it too, and what() says what was refused. The
// message is a string literal: throwing allocates nothing.
class ResourceExhausted : public std::bad_alloc {
 public:
  explicit ResourceExhausted(const char* what) : what_(what) {}
  const char* what() const noexcept override { return what_; }

 private:
  const char* what_;
};

// Resizes the pool. When the system refuses a thread the pool keeps the
// threads it could start and this throws ResourceExhausted.
void set_num_threads(int n);
int num_threads();

namespace detail {
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
void parallel_run(int64_t n, int64_t min_chunk, RangeFn fn, void* ctx);
void parallel_blocks_run(int64_t blocks, RangeFn fn, void* ctx);
}  // namespace detail

// Splits [0, n) into at most num_threads() contiguous chunks of at least
// min_chunk items and runs fn(begin, end) on each, the caller taking the
// first. Returns when every chunk is done; when chunks throw, the first
// exception is rethrown here once all of them have ended (a worker thread
// never lets one escape). No allocation per call. When the pool is already
// busy (another thread is inside parallel_for), the work runs serially on
// the calling thread instead of queueing behind it.
template <typename Fn>
void parallel_for(int64_t n, int64_t min_chunk, Fn&& fn) {
  if (n <= 0) return;
  auto trampoline = [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); };
  detail::parallel_run(n, min_chunk, trampoline, &fn);
}

// Runs fn(i) for every block i of [0, blocks): the calling thread takes
// blocks one at a time and the pool's threads join in as they come free.
// It returns once every block is done, without waiting for a thread that
// never started one, so a call costs at most what the caller alone would
// take plus one block, whatever a late (or descheduled) worker does. For
// short calls made back to back (a serving step), where the time a
// sleeping worker takes to wake would otherwise decide the call's length.
// Which thread runs a block changes from call to call: fn's result must not
// depend on it. Exceptions and nesting as for parallel_for.
template <typename Fn>
void parallel_blocks(int64_t blocks, Fn&& fn) {
  if (blocks <= 0) return;
  auto trampoline = [](void* ctx, int64_t b, int64_t) { (*static_cast<Fn*>(ctx))(b); };
  detail::parallel_blocks_run(blocks, trampoline, &fn);
}

}  // namespace eddy
