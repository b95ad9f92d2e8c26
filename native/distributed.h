// Collectives over MPI for data-parallel training, with no MPI headers or
// libraries at build time: the system libmpi is loaded with dlopen on the
// first init (RTLD_NOW | RTLD_GLOBAL, because Open MPI's plugins resolve
// libmpi's symbols globally) and the handful of entry points and predefined
// handles used here are resolved with dlsym.
//
// Every MPI call happens on one communication thread that this file owns
// (MPI_THREAD_FUNNELED: that thread calls MPI_Init_thread). Jobs are queued
// to it; it waits for every rank to arrive (a non-blocking barrier, polled
// with sleeps that back off), then starts the collective as a non-blocking
// MPI call — or, for an all-reduce of 64 KiB and more, as a ring of
// non-blocking point-to-point messages summed here — and polls it with
// MPI_Test until it completes, its deadline passes, or an abort is
// requested, then hands the job to the completion callback (distributed.cc
// says why in two phases, and why the ring). A timed-out
// collective cannot be cancelled in MPI, so after one the communicator is
// marked broken and every later job fails at once.
//
// Handles follow Open MPI's ABI (MPI_Comm, MPI_Datatype, MPI_Op are
// pointers to the exported objects ompi_mpi_comm_world, ompi_mpi_float, …).
// MPICH's ABI uses integer handles instead; it is detected and refused with
// an explanation (see docs/distributed.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace eddy::dist {

enum class Kind { Init, AllReduce, Broadcast, Barrier, Finalize };
enum class DType { Float32, Float64, Int32, Uint8 };
enum class Op { Sum, Max, Min, Prod };
enum class Status { Ok, MpiError, Timeout, Unavailable };

struct Job {
  Kind kind = Kind::Barrier;
  // AllReduce (in place) and Broadcast: count elements of dtype at data.
  void* data = nullptr;
  size_t count = 0;
  DType dtype = DType::Float32;
  Op op = Op::Sum;
  int root = 0;
  // AllReduce of floats: every element times pre_scale before the
  // reduction and times post_scale after it, in double and rounded to the
  // element type (as JavaScript's `x[i] *= s` rounds), on the communication
  // thread: the JavaScript thread keeps no element loop, and the pre-scale
  // runs while this rank waits for the others to arrive. A scale of exactly
  // 1 is skipped. Ignored for integers.
  double pre_scale = 1, post_scale = 1;
  // Seconds until a collective is given up (Timeout); <= 0 waits forever.
  double timeout_s = 0;
  // Init: the library to load, or empty for the default search.
  std::string library;

  // Filled by the communication thread.
  Status status = Status::Ok;
  std::string error;
  int rank = 0, size = 1, thread_level = 0;
  std::string loaded;  // Init: the library path or name that was loaded
  std::string version; // Init: MPI_Get_library_version's text, first line

  // The binding's context (a pending Promise).
  void* user = nullptr;
};

// Sets the function called on the communication thread with every finished
// job. Call once, before the first Submit.
void SetCompletion(std::function<void(Job*)> done);

// Queues a job; the first must be an Init (which starts the thread). Jobs
// run in submission order.
void Submit(Job* job);

// Whether a communication thread is running (Init submitted, Finalize not yet done).
bool Running();

// From any thread: makes the communication thread call MPI_Abort(code),
// which ends every rank of the job. Waits up to wait_s seconds for it; if
// the thread is stuck outside MPI's progress loop, calls MPI_Abort directly.
// Returns only when MPI could not be reached (not initialized).
void Abort(int code, double wait_s);

}  // namespace eddy::dist
