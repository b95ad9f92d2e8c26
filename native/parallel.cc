#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "blas.h"

namespace eddy {
namespace {

// True on the pool's worker threads, and on a dispatching thread while it
// runs its own chunk.
thread_local bool in_region = false;

// How long a thread that has run out of work (a worker between jobs, a
// caller waiting for the workers' chunks) spins before it sleeps. A layer
// forks a job per block of steps and a training step a few dozen jobs, back
// to back; a sleeping worker takes tens of microseconds to wake on a
// virtual machine (a futex wake, often an interrupt to a halted CPU), as
// long as a short block's work. Spinning only when every pool thread can
// have a core of its own.
constexpr auto kSpin = std::chrono::microseconds(150);

// The CPUs this process may run on (its affinity mask, as
// os.availableParallelism() counts them), else the machine's.
int usable_cores() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Spins (pause, the clock read every 64 pauses) until done() or kSpin has
// passed; returns done().
template <typename Done>
bool spin_until(Done&& done) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (done()) return true;
    spin_pause();
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= until) return done();
  }
}

// Fork-join pool: workers sleep on a condition variable and wake on a new
// generation number. A parallel_for job gives each worker the chunk
// matching its index; a parallel_blocks job lets whoever comes claim
// blocks, tagged with the job's generation so that a worker arriving late
// cannot claim a block of the next job.
class Pool {
 public:
  ~Pool() { resize(1); }

  void resize(int n) {
    std::lock_guard<std::mutex> dispatch(dispatch_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      generation_++;
      published_.store(generation_, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    // Each worker starts from the current generation, read here rather than
    // in the new thread: a thread that read it late would miss a wake-up.
    // The size counts only threads that really started: when the system
    // refuses a thread, the pool keeps the ones it has (a chunk handed to a
    // thread that does not exist would never finish) and the caller learns
    // why.
    const uint64_t start = generation_;
    const int want = std::max(1, n);
    spin_ = want <= usable_cores();
    size_ = 1;
    try {
      for (int i = 1; i < want; ++i) {
        workers_.emplace_back([this, i, start] { worker(i, start); });
        size_ = i + 1;
      }
    } catch (const std::system_error&) {
      throw ResourceExhausted("the system refused to start another thread for Eddy's pool");
    }
  }

  int size() const { return size_.load(std::memory_order_relaxed); }

  // team: n is the most members, and chunk i runs fn(ctx, i, chunks).
  void run(int64_t n, int64_t min_chunk, detail::RangeFn fn, void* ctx, bool team = false) {
    // Nested calls (from a chunk already running on the pool) and calls made
    // while another thread owns the pool run serially on the calling thread.
    const int64_t alone = team ? 1 : n;
    if (in_region) {
      fn(ctx, 0, alone);
      return;
    }
    std::unique_lock<std::mutex> dispatch(dispatch_, std::try_to_lock);
    if (!dispatch.owns_lock()) {
      fn(ctx, 0, alone);
      return;
    }
    // The size cannot change while dispatch_ is held.
    const int64_t grain = std::max<int64_t>(min_chunk, 1);
    const int64_t chunks = std::min<int64_t>(size(), (n + grain - 1) / grain);
    if (chunks <= 1) {
      dispatch.unlock();
      fn(ctx, 0, alone);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = fn;
      ctx_ = ctx;
      n_ = team ? chunks : n;
      chunks_ = chunks;
      team_ = team;
      blocks_ = 0;
      pending_.store(static_cast<int>(chunks - 1), std::memory_order_relaxed);
      generation_++;
      published_.store(generation_, std::memory_order_release);
    }
    wake_.notify_all();
    // A chunk that throws (std::bad_alloc from a kernel's scratch space)
    // must not end a worker thread, which would terminate the process, nor
    // leave the caller before every chunk is done, since the chunks use its
    // stack: the first exception is kept and rethrown here once all finish.
    in_region = true;
    try {
      fn(ctx, 0, team ? chunks : chunk_end(0));
    } catch (...) {
      keep_first(std::current_exception());
    }
    in_region = false;
    if (spin_) spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    std::exception_ptr error = error_;
    error_ = nullptr;
    lock.unlock();
    if (error) std::rethrow_exception(error);
  }

  void run_blocks(int64_t blocks, detail::RangeFn fn, void* ctx) {
    auto serial = [&] {
      for (int64_t i = 0; i < blocks; ++i) fn(ctx, i, i + 1);
    };
    // The claim word's low half counts blocks.
    if (in_region || size() < 2 || blocks < 2 || blocks > 0x7fffffff) return serial();
    std::unique_lock<std::mutex> dispatch(dispatch_, std::try_to_lock);
    if (!dispatch.owns_lock()) return serial();
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = fn;
      ctx_ = ctx;
      blocks_ = blocks;
      chunks_ = 0;  // no worker has a chunk of its own
      done_blocks_.store(0, std::memory_order_relaxed);
      gen = generation_ + 1;
      claim_.store(tag(gen), std::memory_order_relaxed);
      generation_ = gen;
      published_.store(gen, std::memory_order_release);
    }
    wake_.notify_all();
    in_region = true;
    claim_blocks(gen, fn, ctx, blocks);
    in_region = false;
    // Only blocks already claimed can still be running: wait for those.
    for (int spins = 0; done_blocks_.load(std::memory_order_acquire) < blocks; ++spins) {
      if (spins < 4096) spin_pause();
      else std::this_thread::yield();
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::exception_ptr error = error_;
    error_ = nullptr;
    if (error) std::rethrow_exception(error);
  }

 private:
  // A claim word: the job's generation in the high half, the next block in the low.
  static uint64_t tag(uint64_t gen) { return gen << 32; }

  // Claims and runs blocks of job `gen` until none is left (or the job is
  // another one); each block counts as done even when it throws.
  void claim_blocks(uint64_t gen, detail::RangeFn fn, void* ctx, int64_t blocks) {
    uint64_t c = claim_.load(std::memory_order_acquire);
    while ((c >> 32) == (gen & 0xffffffffu) && static_cast<int64_t>(c & 0xffffffffu) < blocks) {
      if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      const int64_t i = static_cast<int64_t>(c & 0xffffffffu);
      try {
        fn(ctx, i, i + 1);
      } catch (...) {
        keep_first(std::current_exception());
      }
      done_blocks_.fetch_add(1, std::memory_order_release);
      c = claim_.load(std::memory_order_acquire);
    }
  }

  int64_t chunk_end(int64_t i) const { return n_ * (i + 1) / chunks_; }

  void keep_first(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = e;
  }

  void worker(int index, uint64_t seen) {
    in_region = true;
    for (;;) {
      // The next job usually comes within microseconds: look for it before sleeping.
      if (spin_) spin_until([&] { return published_.load(std::memory_order_acquire) != seen; });
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      seen = generation_;
      if (stop_) return;
      if (blocks_ > 0) {
        detail::RangeFn fn = fn_;
        void* ctx = ctx_;
        const int64_t blocks = blocks_;
        lock.unlock();
        claim_blocks(seen, fn, ctx, blocks);
        continue;
      }
      if (index >= chunks_) continue;
      detail::RangeFn fn = fn_;
      void* ctx = ctx_;
      int64_t begin = team_ ? index : n_ * index / chunks_, end = team_ ? chunks_ : chunk_end(index);
      lock.unlock();
      try {
        fn(ctx, begin, end);
      } catch (...) {
        keep_first(std::current_exception());
      }
      // The caller may be spinning on pending_ rather than waiting on done_:
      // notify under the lock either way, so a caller about to wait cannot miss it.
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        lock.lock();
        done_.notify_one();
      }
    }
  }

  std::mutex dispatch_;  // one parallel_for at a time
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::atomic<int> size_{1};
  bool stop_ = false;
  uint64_t generation_ = 0;
  detail::RangeFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0, chunks_ = 1;
  bool team_ = false;
  int64_t blocks_ = 0;                       // a parallel_blocks job when > 0
  std::atomic<uint64_t> claim_{0};           // tag(generation) + next block
  std::atomic<int64_t> done_blocks_{0};
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> published_{0};  // generation_, readable without mu_ (for spinning)
  bool spin_ = false;                   // set by resize: every pool thread can have a core
  std::exception_ptr error_;  // the first exception a chunk of the current run threw
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked on purpose: no join at process exit
  return *p;
}

}  // namespace

void set_num_threads(int n) {
  n = std::max(1, n);
  // The BLAS always runs single-threaded, inside this pool's threads: Eddy
  // splits GEMMs (gemm.cc) and time loops (recurrent.cc) itself, so no
  // second set of threads ever competes for the cores.
  blas_set_num_threads(1);
  pool().resize(n);
}

int num_threads() { return pool().size(); }

namespace detail {
void parallel_run(int64_t n, int64_t min_chunk, RangeFn fn, void* ctx) { pool().run(n, min_chunk, fn, ctx); }
void team_run(int max_members, RangeFn fn, void* ctx) { pool().run(std::max(1, max_members), 1, fn, ctx, true); }
void parallel_blocks_run(int64_t blocks, RangeFn fn, void* ctx) { pool().run_blocks(blocks, fn, ctx); }
}  // namespace detail

void TeamMember::Shared::fail(std::exception_ptr e) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!error) error = e;
  }
  failed.store(true, std::memory_order_release);
}

void TeamMember::sync() {
  if (size_ <= 1) return;
  Shared& s = *shared_;
  ++seen_;
  // The last member to arrive opens the next generation; its acq_rel
  // read-modify-write follows every earlier arrival, so what any member
  // wrote before sync() is visible to all after it.
  if (s.arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == size_) {
    s.arrived.store(0, std::memory_order_relaxed);
    s.generation.store(seen_, std::memory_order_release);
    return;
  }
  // Spin first (a step's imbalance is a few microseconds), then give the
  // core away between checks: on a machine running more threads than it has
  // cores the member being waited for may need this one's core.
  for (int spins = 0; s.generation.load(std::memory_order_acquire) != seen_; ++spins) {
    if (s.failed.load(std::memory_order_acquire)) throw Abandoned();
    if (spins < 4096) {
      spin_pause();
    } else {
      if (spins == 4096) s.slow.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::yield();
    }
  }
}

}  // namespace eddy
