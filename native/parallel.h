// Eddy's thread pool. It is the only source of parallelism: OpenBLAS is kept
// single-threaded and called from the pool's threads, so one setting
// (set_num_threads) governs everything and nothing oversubscribes the cores.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <thread>

namespace eddy {

// Below this many FLOPs a product (a GEMM, a weight gradient) runs on the
// calling thread: waking the pool costs about as much as the work.
constexpr double kParallelFlops = 4e6;

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

// One pause of a spin-wait (the core stays with the thread).
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

// Resizes the pool. When the system refuses a thread the pool keeps the
// threads it could start and this throws ResourceExhausted.
void set_num_threads(int n);
int num_threads();

namespace detail {
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
void parallel_run(int64_t n, int64_t min_chunk, RangeFn fn, void* ctx);
// Runs fn(ctx, member, members) once per member, each on its own thread;
// members is at most max_members and 1 when the pool is busy or the call is nested.
void team_run(int max_members, RangeFn fn, void* ctx);
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

// One member of a team started by parallel_team: its index, the team size,
// and the barrier the members meet at.
class TeamMember {
 public:
  int index() const { return index_; }
  int size() const { return size_; }

  // Returns once every member has called sync() as often as this one: a
  // spin on a shared step counter (pause, then yield the core after a
  // while, for machines with more threads than cores). When another member
  // failed, it throws instead, so no member waits for one that will never
  // arrive; parallel_team reports the failure itself.
  void sync();

  // Whether a teammate has failed. A member that waits on its teammates'
  // progress other than at sync() (a counter of its own) checks this while
  // it waits, and leaves when it is set.
  bool abandoned() const { return shared_->failed.load(std::memory_order_acquire); }

 private:
  template <typename Fn>
  friend int64_t parallel_team(int, Fn&&);
  struct Shared {
    std::atomic<int> arrived{0};
    std::atomic<int64_t> generation{0};
    std::atomic<bool> failed{false};
    std::atomic<int64_t> slow{0};  // waits that gave the core away
    std::mutex mu;
    std::exception_ptr error;
    void fail(std::exception_ptr e);
  };
  // What sync() throws on the members left behind by a failed one.
  struct Abandoned {};
  TeamMember(int index, int size, Shared* shared) : index_(index), size_(size), shared_(shared) {}
  int index_, size_;
  int64_t seen_ = 0;
  Shared* shared_;
};

// Runs fn(TeamMember&) on up to max_members threads of the pool at once, for
// work that moves in lock step (a time loop whose steps each member splits
// with the others, meeting at TeamMember::sync between steps). The team is
// as large as the pool can make it now: one member when the pool has one
// thread, is busy on another call, or when called from inside a pool task,
// so fn must split its work by member.size(), never assume max_members.
// Each member keeps its thread from start to end: no wake-up per step.
// The first exception a member throws is rethrown here once every member
// has stopped; the others leave at their next sync(). Returns how many
// sync() waits outlasted the spin and gave the core away — a sign that the
// machine runs more threads than it has cores, where a team waits on
// members the scheduler has taken off theirs.
template <typename Fn>
int64_t parallel_team(int max_members, Fn&& fn) {
  TeamMember::Shared shared;
  struct Ctx {
    Fn* fn;
    TeamMember::Shared* shared;
  } ctx{&fn, &shared};
  auto trampoline = [](void* c, int64_t member, int64_t members) {
    Ctx& x = *static_cast<Ctx*>(c);
    TeamMember m(static_cast<int>(member), static_cast<int>(members), x.shared);
    try {
      (*x.fn)(m);
    } catch (const TeamMember::Abandoned&) {
      // A teammate failed; its exception is the one reported.
    } catch (...) {
      x.shared->fail(std::current_exception());
    }
  };
  detail::team_run(max_members, trampoline, &ctx);
  if (shared.error) std::rethrow_exception(shared.error);
  return shared.slow.load(std::memory_order_relaxed);
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
