/*
 * Open MPI's own all-reduce on this machine, without Node or Eddy: the
 * reference that docs/distributed.md compares Eddy's collectives with.
 * Float32 sums of 1 KiB to 64 MiB, in place (as Eddy's are), each size
 * repeated after a barrier; prints the median and the best time per size.
 *
 *   mpicc -O2 -o /tmp/mpi_allreduce bench/mpi_allreduce.c
 *   mpirun --allow-run-as-root --oversubscribe --bind-to none \
 *     --mca btl self,vader --mca btl_vader_single_copy_mechanism none \
 *     -np 2 /tmp/mpi_allreduce [blocking|nonblocking|ring]
 *
 * blocking:    MPI_Allreduce (coll/tuned picks the algorithm; set
 *              --mca coll_tuned_use_dynamic_rules 1
 *              --mca coll_tuned_allreduce_algorithm N to force one);
 * nonblocking: MPI_Iallreduce polled with MPI_Test, as Eddy did before it
 *              ran large all-reduces itself (coll/libnbc);
 * ring:        reduce-scatter and all-gather over MPI_Sendrecv with a
 *              local sum, the algorithm native/distributed.cc runs (without
 *              its segmenting).
 */
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* Block b of the ring (taken modulo size) holds elements [start(b), start(b + 1)). */
static int wrap(int b, int size) { return ((b % size) + size) % size; }
static int start(int b, int n, int size) { return (int)((long long)n * b / size); }
static int length(int b, int n, int size) { return start(b + 1, n, size) - start(b, n, size); }

static void ring(float* a, float* scratch, int n, int rank, int size) {
  const int right = (rank + 1) % size, left = (rank + size - 1) % size;
  for (int step = 0; step < size - 1; step++) {
    const int out = wrap(rank - step, size), in = wrap(rank - step - 1, size);
    MPI_Sendrecv(a + start(out, n, size), length(out, n, size), MPI_FLOAT, right, 0, scratch, length(in, n, size),
                 MPI_FLOAT, left, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    float* dst = a + start(in, n, size);
    for (int i = 0; i < length(in, n, size); i++) dst[i] += scratch[i];
  }
  for (int step = 0; step < size - 1; step++) {
    const int out = wrap(rank + 1 - step, size), in = wrap(rank - step, size);
    MPI_Sendrecv(a + start(out, n, size), length(out, n, size), MPI_FLOAT, right, 1, a + start(in, n, size),
                 length(in, n, size), MPI_FLOAT, left, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const char* mode = argc > 1 ? argv[1] : "blocking";
  const size_t sizes[] = {1 << 10, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 37818372, 1 << 26};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    const int n = (int)(sizes[s] / 4);
    float* a = malloc(sizes[s]);
    float* scratch = malloc(sizes[s]);
    for (int i = 0; i < n; i++) a[i] = (float)(rank + 1);
    const int reps = sizes[s] >= (1 << 22) ? 5 : 20;
    double times[20];
    for (int r = -1; r < reps; r++) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      if (strcmp(mode, "ring") == 0) {
        ring(a, scratch, n, rank, size);
      } else if (strcmp(mode, "nonblocking") == 0) {
        MPI_Request req;
        int done = 0;
        MPI_Iallreduce(MPI_IN_PLACE, a, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req);
        while (!done) {
          MPI_Test(&req, &done, MPI_STATUS_IGNORE);
          if (!done) sched_yield();
        }
      } else {
        MPI_Allreduce(MPI_IN_PLACE, a, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      }
      if (r >= 0) times[r] = (MPI_Wtime() - t0) * 1e3;
    }
    /* reps + 1 sums: the first gives size (size + 1) / 2, each further one multiplies by size (exact
       in float for two ranks). */
    double want = size * (size + 1) / 2.0;
    for (int r = 0; r < reps; r++) want *= size;
    if (size == 2 && (a[0] != want || a[n - 1] != want)) {
      fprintf(stderr, "rank %d: %s of %zu bytes gave %g, expected %g\n", rank, mode, sizes[s], a[0], want);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    qsort(times, reps, sizeof times[0], cmp);
    if (rank == 0) {
      printf("{\"mode\":\"%s\",\"ranks\":%d,\"bytes\":%zu,\"ms\":%.3f,\"best_ms\":%.3f,\"algbw_GBps\":%.3f}\n", mode, size,
             sizes[s], times[reps / 2], times[0], sizes[s] / times[reps / 2] / 1e6);
    }
    free(a);
    free(scratch);
  }
  MPI_Finalize();
  return 0;
}
