// The communication thread and the dlopen'ed MPI entry points (see
// distributed.h for the design).
#include "distributed.h"

#include <dlfcn.h>
#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

namespace eddy::dist {
namespace {

// Open MPI's ABI: every handle is a pointer to an exported object.
using Handle = void*;
constexpr int kThreadFunneled = 1;  // MPI_THREAD_FUNNELED, the same value in every MPI
void* const kInPlace = reinterpret_cast<void*>(1);  // Open MPI's MPI_IN_PLACE

struct Mpi {
  void* lib = nullptr;
  int (*Init_thread)(int*, char***, int, int*) = nullptr;
  int (*Initialized)(int*) = nullptr;
  int (*Finalize)() = nullptr;
  int (*Comm_rank)(Handle, int*) = nullptr;
  int (*Comm_size)(Handle, int*) = nullptr;
  int (*Comm_set_errhandler)(Handle, Handle) = nullptr;
  int (*Iallreduce)(const void*, void*, int, Handle, Handle, Handle, Handle*) = nullptr;
  int (*Ibcast)(void*, int, Handle, int, Handle, Handle*) = nullptr;
  int (*Ibarrier)(Handle, Handle*) = nullptr;
  int (*Isend)(const void*, int, Handle, int, int, Handle, Handle*) = nullptr;
  int (*Irecv)(void*, int, Handle, int, int, Handle, Handle*) = nullptr;
  int (*Test)(Handle*, int*, void*) = nullptr;
  int (*Abort)(Handle, int) = nullptr;
  int (*Error_string)(int, char*, int*) = nullptr;
  int (*Get_library_version)(char*, int*) = nullptr;
  Handle comm_world = nullptr, errors_return = nullptr;
  Handle float32 = nullptr, float64 = nullptr, int32 = nullptr, uint8 = nullptr;
  Handle sum = nullptr, max = nullptr, min = nullptr, prod = nullptr;
};

Mpi mpi;
std::function<void(Job*)> on_done;
std::mutex mu;
std::condition_variable cv;
std::deque<Job*> queue;
bool running = false;    // guarded by mu
bool finalized = false;  // guarded by mu: MPI cannot be initialized twice
std::atomic<bool> mpi_ready{false};
std::atomic<int> abort_code{-1};
bool broken = false;  // communication thread only: a collective timed out
int world_rank = 0, world_size = 1;  // communication thread only, set by init
std::string broken_reason;

template <typename T>
bool Resolve(T& fn, const char* name) {
  fn = reinterpret_cast<T>(dlsym(mpi.lib, name));
  return fn != nullptr;
}

// Loads libmpi and resolves the entry points; on failure says why in `error`.
bool Load(const std::string& requested, std::string& loaded, std::string& error) {
  std::vector<std::string> candidates;
  if (!requested.empty()) {
    candidates.push_back(requested);
  } else {
    candidates = {"libmpi.so.40", "libmpi.so", "libmpi.so.12"};
  }
  std::string tried;
  for (const auto& name : candidates) {
    mpi.lib = dlopen(name.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (mpi.lib) {
      loaded = name;
      break;
    }
    const char* why = dlerror();
    tried += (tried.empty() ? "" : "; ") + name + ": " + (why ? why : "not found");
  }
  if (!mpi.lib) {
    error = "no MPI library could be loaded (" + tried + ")";
    return false;
  }
  mpi.comm_world = dlsym(mpi.lib, "ompi_mpi_comm_world");
  if (!mpi.comm_world) {
    error = loaded + " is not Open MPI (it exports no ompi_mpi_comm_world; MPICH's integer handles are not supported)";
    return false;
  }
  const char* missing = nullptr;
  auto need = [&](auto& fn, const char* name) {
    if (!missing && !Resolve(fn, name)) missing = name;
  };
  need(mpi.Init_thread, "MPI_Init_thread");
  need(mpi.Initialized, "MPI_Initialized");
  need(mpi.Finalize, "MPI_Finalize");
  need(mpi.Comm_rank, "MPI_Comm_rank");
  need(mpi.Comm_size, "MPI_Comm_size");
  need(mpi.Comm_set_errhandler, "MPI_Comm_set_errhandler");
  need(mpi.Iallreduce, "MPI_Iallreduce");
  need(mpi.Ibcast, "MPI_Ibcast");
  need(mpi.Ibarrier, "MPI_Ibarrier");
  need(mpi.Isend, "MPI_Isend");
  need(mpi.Irecv, "MPI_Irecv");
  need(mpi.Test, "MPI_Test");
  need(mpi.Abort, "MPI_Abort");
  need(mpi.Error_string, "MPI_Error_string");
  need(mpi.Get_library_version, "MPI_Get_library_version");
  const std::pair<Handle*, const char*> handles[] = {
      {&mpi.errors_return, "ompi_mpi_errors_return"}, {&mpi.float32, "ompi_mpi_float"},
      {&mpi.float64, "ompi_mpi_double"},              {&mpi.int32, "ompi_mpi_int"},
      {&mpi.uint8, "ompi_mpi_byte"},                  {&mpi.sum, "ompi_mpi_op_sum"},
      {&mpi.max, "ompi_mpi_op_max"},                  {&mpi.min, "ompi_mpi_op_min"},
      {&mpi.prod, "ompi_mpi_op_prod"}};
  for (const auto& [slot, name] : handles) {
    if (!missing && !(*slot = dlsym(mpi.lib, name))) missing = name;
  }
  if (missing) {
    error = loaded + " lacks " + missing + " (an MPI-3 Open MPI is required)";
    return false;
  }
  return true;
}

std::string ErrorText(int rc) {
  char text[1024] = {0};
  int len = 0;
  if (mpi.Error_string && mpi.Error_string(rc, text, &len) == 0) return std::string(text, std::min(len, 1023));
  return "MPI error " + std::to_string(rc);
}

Handle TypeHandle(DType t) {
  switch (t) {
    case DType::Float32: return mpi.float32;
    case DType::Float64: return mpi.float64;
    case DType::Int32: return mpi.int32;
    case DType::Uint8: return mpi.uint8;
  }
  return mpi.uint8;
}

size_t TypeBytes(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::Uint8: return 1;
  }
  return 1;
}

Handle OpHandle(Op op) {
  switch (op) {
    case Op::Sum: return mpi.sum;
    case Op::Max: return mpi.max;
    case Op::Min: return mpi.min;
    case Op::Prod: return mpi.prod;
  }
  return mpi.sum;
}

[[noreturn]] void AbortNow(int code) {
  mpi.Abort(mpi.comm_world, code);
  std::_Exit(code == 0 ? 1 : code);  // MPI_Abort does not return; this is the belt to its braces
}

// How Wait polls. MPI_Test is also what drives MPI's progress engine, and
// Open MPI's shared-memory transport moves a large message in fragments
// that each need a poll on both sides, so a transfer wants polls back to
// back; but most of a collective's time is usually spent waiting for the
// slowest rank to arrive, when polling only takes a core from the ranks
// still computing (on a machine with as many ranks as cores, from the very
// rank being waited for). So each collective first waits in an arrival
// barrier, polled with sleeps that double up to a cap, and only then runs
// the transfer, knowing every rank is there:
//  * kArrive: 20 µs, 40 µs, … up to 500 µs between polls. A wait of 50 ms
//    costs about a hundred wake-ups instead of thousands, and a rank notices
//    the last arrival within 0.5 ms (under 1 % of a training step).
//  * kTransfer: back to back for the first millisecond (yielding the core),
//    then every 20 µs, so a transfer slowed by a descheduled peer does not
//    spin for long.
// The thread's timer slack is 1 µs (see Loop), so the sleeps are as asked.
enum class Pace { kArrive, kTransfer };

// When a collective gives up (timed: false waits forever).
struct Deadline {
  std::chrono::steady_clock::time_point at;
  bool timed;
};

Status Wait(Handle& req, Pace pace, const Deadline& deadline, std::string& error) {
  const auto start = std::chrono::steady_clock::now();
  auto nap = std::chrono::microseconds(20);
  for (;;) {
    int flag = 0;
    int rc = mpi.Test(&req, &flag, nullptr);  // Open MPI's MPI_STATUS_IGNORE is a null pointer
    if (rc != 0) {
      error = ErrorText(rc);
      return Status::MpiError;
    }
    if (flag) return Status::Ok;
    int code = abort_code.load();
    if (code >= 0) AbortNow(code);
    const auto now = std::chrono::steady_clock::now();
    if (deadline.timed && now >= deadline.at) return Status::Timeout;
    if (pace == Pace::kArrive) {
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds(500));
    } else if (now - start < std::chrono::milliseconds(1)) {
      sched_yield();
    } else {
      std::this_thread::sleep_for(nap);
    }
  }
}

void RunInit(Job* job) {
  if (!Load(job->library, job->loaded, job->error)) {
    job->status = Status::Unavailable;
    return;
  }
  int already = 0;
  mpi.Initialized(&already);
  if (already) {
    job->status = Status::MpiError;
    job->error = "MPI was already initialized in this process by other code";
    return;
  }
  int provided = 0;
  int rc = mpi.Init_thread(nullptr, nullptr, kThreadFunneled, &provided);
  if (rc != 0) {
    job->status = Status::MpiError;
    job->error = "MPI_Init_thread failed: " + ErrorText(rc);
    return;
  }
  mpi_ready = true;
  // Errors come back as return codes (turned into rejected Promises)
  // instead of MPI's default of aborting every rank on the spot.
  mpi.Comm_set_errhandler(mpi.comm_world, mpi.errors_return);
  mpi.Comm_rank(mpi.comm_world, &job->rank);
  mpi.Comm_size(mpi.comm_world, &job->size);
  world_rank = job->rank;
  world_size = job->size;
  job->thread_level = provided;
  char version[8192] = {0};
  int len = 0;
  if (mpi.Get_library_version(version, &len) == 0) {
    std::string v(version, std::min(len, static_cast<int>(sizeof version) - 1));
    v.resize(std::strlen(v.c_str()));
    job->version = v.substr(0, v.find_first_of("\r\n"));
  }
}

// ------------------------------------------------------------ ring all-reduce
//
// Large all-reduces do not go to MPI_Iallreduce. Open MPI's non-blocking
// all-reduce (libnbc) reduces the whole buffer to one rank and broadcasts
// it back when the buffer is MPI_IN_PLACE, as ours always is: the full
// buffer crosses twice, one direction at a time, and its 38 MB took 0.2
// to 0.8 s on two ranks of one machine (docs/distributed.md has the
// measurements). Above kRingMinBytes this file runs the bandwidth-optimal
// ring instead, over point-to-point messages: the buffer is cut into one
// block per rank; in N - 1 reduce-scatter steps each rank sends a block to
// its right neighbour and adds the block arriving from its left into its
// own buffer, after which rank r holds the full sum of block r + 1; in
// N - 1 all-gather steps those sums travel round the ring into every
// rank's buffer. Each rank sends and receives 2 (N - 1) / N of the buffer,
// both directions at once. Within a step the block travels in segments of
// kSegmentBytes, all posted at once, and each arriving segment is added
// while the later ones are still moving.
//
// Every element of the result is computed once, by one rank, in an order
// fixed by the world size, and copied to the others: the sums are
// deterministic and identical on every rank (with two ranks, a + b on one
// and b + a on the other are the same bits anyway).

constexpr size_t kRingMinBytes = size_t{64} << 10;
constexpr size_t kSegmentBytes = size_t{1} << 20;
constexpr int kRingTag = 0x4544;  // MPI_Iallreduce's messages use the communicator's collective context, never this one

// The reduce-scatter's receive buffer, kept for the next collective (and
// never freed: after a timeout, a late message may still land in it).
std::vector<char> scratch;

template <typename T>
void Combine(T* __restrict dst, const T* __restrict src, size_t n, Op op) {
  switch (op) {
    case Op::Sum:
      if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;  // wraps on overflow, as MPI's integer sums do in practice
        for (size_t i = 0; i < n; i++) dst[i] = static_cast<T>(static_cast<U>(dst[i]) + static_cast<U>(src[i]));
      } else {
        for (size_t i = 0; i < n; i++) dst[i] += src[i];
      }
      break;
    case Op::Prod:
      if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;  // wraps on overflow, like the sum
        for (size_t i = 0; i < n; i++) dst[i] = static_cast<T>(static_cast<U>(dst[i]) * static_cast<U>(src[i]));
      } else {
        for (size_t i = 0; i < n; i++) dst[i] = static_cast<T>(dst[i] * src[i]);
      }
      break;
    // MPI_MAX and MPI_MIN of floats are `a > b ? a : b` and `a < b ? a : b`
    // (Open MPI's op functions): a NaN in the buffer arriving first wins.
    case Op::Max:
      for (size_t i = 0; i < n; i++) dst[i] = dst[i] > src[i] ? dst[i] : src[i];
      break;
    case Op::Min:
      for (size_t i = 0; i < n; i++) dst[i] = dst[i] < src[i] ? dst[i] : src[i];
      break;
  }
}

template <typename T>
void ScaleInPlace(T* __restrict x, size_t n, double s) {
  for (size_t i = 0; i < n; i++) x[i] = static_cast<T>(x[i] * s);
}

// Every float element of the job's buffer times s (see Job::pre_scale).
void Scale(Job* job, double s) {
  if (s == 1) return;
  if (job->dtype == DType::Float32) ScaleInPlace(static_cast<float*>(job->data), job->count, s);
  if (job->dtype == DType::Float64) ScaleInPlace(static_cast<double*>(job->data), job->count, s);
}

// dst op= src over n elements of dtype t.
void CombineBytes(DType t, void* dst, const void* src, size_t n, Op op) {
  switch (t) {
    case DType::Float32: return Combine(static_cast<float*>(dst), static_cast<const float*>(src), n, op);
    case DType::Float64: return Combine(static_cast<double*>(dst), static_cast<const double*>(src), n, op);
    case DType::Int32: return Combine(static_cast<int32_t*>(dst), static_cast<const int32_t*>(src), n, op);
    case DType::Uint8: return Combine(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), n, op);
  }
}

// One ring step: sends `send_bytes` at `send` to rank `to` and receives
// `recv_bytes` from rank `from` into `recv`, both in segments; calls
// `arrived(offset, bytes)` for each received segment, in order, as it
// lands. Waits for the sends before returning, so `send` may change after.
template <typename F>
Status RingStep(const char* send, size_t send_bytes, int to, char* recv, size_t recv_bytes, int from, size_t unit,
                const Deadline& d, std::string& error, F&& arrived) {
  const size_t segment = kSegmentBytes / unit * unit;
  std::vector<Handle> sends, recvs;
  auto post = [&](bool is_send, size_t bytes, std::vector<Handle>& reqs) -> int {
    for (size_t at = 0; at < bytes; at += segment) {
      const int n = static_cast<int>(std::min(segment, bytes - at));
      Handle req = nullptr;
      int rc = is_send ? mpi.Isend(send + at, n, mpi.uint8, to, kRingTag, mpi.comm_world, &req)
                       : mpi.Irecv(recv + at, n, mpi.uint8, from, kRingTag, mpi.comm_world, &req);
      if (rc != 0) return rc;
      reqs.push_back(req);
    }
    return 0;
  };
  int rc = post(false, recv_bytes, recvs);
  if (rc == 0) rc = post(true, send_bytes, sends);
  if (rc != 0) {
    error = ErrorText(rc);
    return Status::MpiError;
  }
  for (size_t i = 0; i < recvs.size(); i++) {
    Status s = Wait(recvs[i], Pace::kTransfer, d, error);
    if (s != Status::Ok) return s;
    arrived(i * segment, std::min(segment, recv_bytes - i * segment));
  }
  for (Handle& req : sends) {
    Status s = Wait(req, Pace::kTransfer, d, error);
    if (s != Status::Ok) return s;
  }
  return Status::Ok;
}

Status RingAllReduce(Job* job, int rank, int size, const Deadline& d) {
  const size_t unit = TypeBytes(job->dtype);
  char* data = static_cast<char*>(job->data);
  // Block b holds elements [begin(b), begin(b + 1)).
  auto begin = [&](int b) { return job->count * static_cast<size_t>(b) / static_cast<size_t>(size) * unit; };
  auto length = [&](int b) { return begin(b + 1) - begin(b); };
  auto wrap = [&](int b) { return ((b % size) + size) % size; };
  const int right = (rank + 1) % size, left = (rank + size - 1) % size;
  size_t largest = 0;
  for (int b = 0; b < size; b++) largest = std::max(largest, length(b));
  if (scratch.size() < largest) scratch.resize(largest);
  for (int step = 0; step < size - 1; step++) {
    const int out = wrap(rank - step), in = wrap(rank - step - 1);
    char* target = data + begin(in);
    Status s = RingStep(data + begin(out), length(out), right, scratch.data(), length(in), left, unit, d, job->error,
                        [&](size_t at, size_t bytes) {
                          CombineBytes(job->dtype, target + at, scratch.data() + at, bytes / unit, job->op);
                        });
    if (s != Status::Ok) return s;
  }
  for (int step = 0; step < size - 1; step++) {
    const int out = wrap(rank + 1 - step), in = wrap(rank - step);
    Status s = RingStep(data + begin(out), length(out), right, data + begin(in), length(in), left, unit, d, job->error,
                        [](size_t, size_t) {});
    if (s != Status::Ok) return s;
  }
  return Status::Ok;
}

// One collective after an arrival barrier (see Pace): a large all-reduce
// as a ring (see RingAllReduce), anything else as MPI's non-blocking
// collective, split into calls of at most 2^30 elements (MPI's counts are
// int).
void RunCollective(Job* job) {
  if (broken) {
    job->status = Status::Unavailable;
    job->error = broken_reason;
    return;
  }
  const bool timed = job->timeout_s > 0;
  const Deadline deadline{std::chrono::steady_clock::now() +
                              std::chrono::microseconds(static_cast<int64_t>(timed ? job->timeout_s * 1e6 : 0)),
                          timed};
  constexpr size_t kChunk = size_t{1} << 30;
  const size_t bytes = TypeBytes(job->dtype);
  auto fail = [&](Status status) {
    job->status = status;
    // Messages of a failed collective may still be in flight (and would
    // match the next one's): nothing more runs on this communicator.
    if (status == Status::Timeout) {
      broken = true;
      broken_reason = "an earlier collective timed out, so this process's MPI communicator can no longer be used";
    } else if (status != Status::Ok) {
      broken = true;
      broken_reason = "an earlier collective failed in MPI, so this process's MPI communicator can no longer be used";
    }
  };
  const bool reduce = job->kind == Kind::AllReduce;
  // Before the arrival barrier: the pass costs this rank nothing while a slower rank is still computing.
  if (reduce) Scale(job, job->pre_scale);
  Handle arrival = nullptr;
  int rc = mpi.Ibarrier(mpi.comm_world, &arrival);
  if (rc != 0) {
    job->status = Status::MpiError;
    job->error = ErrorText(rc);
    return;
  }
  Status arrived = Wait(arrival, Pace::kArrive, deadline, job->error);
  if (arrived != Status::Ok || job->kind == Kind::Barrier) return fail(arrived);
  if (reduce && world_size > 1 && job->count * bytes >= kRingMinBytes) {
    Status status = RingAllReduce(job, world_rank, world_size, deadline);
    if (status == Status::Ok) Scale(job, job->post_scale);
    return fail(status);
  }
  size_t done = 0;
  do {
    const int n = static_cast<int>(std::min(kChunk, job->count - done));
    char* at = static_cast<char*>(job->data) + done * bytes;
    Handle req = nullptr;
    switch (job->kind) {
      case Kind::AllReduce:
        rc = mpi.Iallreduce(kInPlace, at, n, TypeHandle(job->dtype), OpHandle(job->op), mpi.comm_world, &req);
        break;
      case Kind::Broadcast:
        rc = mpi.Ibcast(at, n, TypeHandle(job->dtype), job->root, mpi.comm_world, &req);
        break;
      default:
        return;  // a barrier is the arrival itself
    }
    if (rc != 0) {
      job->status = Status::MpiError;
      job->error = ErrorText(rc);
      return;
    }
    Status status = Wait(req, Pace::kTransfer, deadline, job->error);
    if (status != Status::Ok) return fail(status);
    done += static_cast<size_t>(n);
  } while (done < job->count);
  if (reduce) Scale(job, job->post_scale);
}

void Loop() {
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  prctl(PR_SET_NAME, "eddy-mpi", 0UL, 0UL, 0UL);  // as top -H and perf show it
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [] { return !queue.empty() || abort_code.load() >= 0; });
      if (abort_code.load() >= 0 && mpi_ready) {
        lock.unlock();
        AbortNow(abort_code.load());
      }
      if (queue.empty()) continue;
      job = queue.front();
      queue.pop_front();
    }
    bool stop = false;
    switch (job->kind) {
      case Kind::Init:
        RunInit(job);
        stop = job->status != Status::Ok;
        break;
      case Kind::Finalize: {
        int rc = mpi.Finalize();
        if (rc != 0) {
          job->status = Status::MpiError;
          job->error = ErrorText(rc);
        }
        mpi_ready = false;
        stop = true;
        break;
      }
      default:
        RunCollective(job);
        break;
    }
    if (stop) {
      // Jobs queued behind a failed init or a finalize fail: MPI is gone.
      std::deque<Job*> rest;
      {
        std::lock_guard<std::mutex> lock(mu);
        running = false;
        if (job->kind == Kind::Finalize) finalized = true;
        rest.swap(queue);
      }
      on_done(job);
      for (Job* j : rest) {
        j->status = Status::Unavailable;
        j->error = "MPI is not running (finalized, or initialization failed)";
        on_done(j);
      }
      return;
    }
    on_done(job);
  }
}

}  // namespace

void SetCompletion(std::function<void(Job*)> done) { on_done = std::move(done); }

void Submit(Job* job) {
  std::unique_lock<std::mutex> lock(mu);
  if (job->kind == Kind::Init) {
    if (running || finalized) {
      lock.unlock();
      job->status = Status::Unavailable;
      job->error = finalized ? "MPI was finalized; it cannot be initialized again in the same process"
                             : "MPI is already initialized";
      on_done(job);
      return;
    }
    // Detached: the process may exit with the thread blocked in MPI, and a
    // joinable std::thread destroyed at exit would call std::terminate.
    try {
      std::thread(Loop).detach();
    } catch (const std::system_error& e) {
      lock.unlock();
      job->status = Status::Unavailable;
      job->error = std::string("could not start the communication thread: ") + e.what();
      on_done(job);
      return;
    }
    running = true;
    queue.push_back(job);
    return;
  }
  if (!running) {
    lock.unlock();
    job->status = Status::Unavailable;
    job->error = "MPI is not running: call init() first";
    on_done(job);
    return;
  }
  queue.push_back(job);
  cv.notify_one();
}

bool Running() {
  std::lock_guard<std::mutex> lock(mu);
  return running;
}

void Abort(int code, double wait_s) {
  if (!mpi_ready) return;
  abort_code = std::max(code, 0);
  cv.notify_all();
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<int64_t>(wait_s * 1e6));
  while (std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (mpi_ready) AbortNow(abort_code.load());
}

}  // namespace eddy::dist
