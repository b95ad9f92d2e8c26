// Micro-benchmark of the fused forward step (cell_step in
// native/packed_gemm_tiles.h) on one thread with warm data: the LSTM step
// as the addon runs it, the same step reading its gates from a 64-step
// sequence (out of cache, as the input projection leaves them), the same
// tiles with an epilogue that only stores the accumulators (the GEMM part
// alone), the epilogues alone, the plain packed GEMM of the same shape, and
// the fused LSTM backward step of a sequence.
// Prints GFLOP/s of the recurrent GEMM (2·rows·K·G·H per step) over thread
// CPU time, best and median of several repetitions. Not part of the addon: it includes one instruction
// set's kernel file, so it sees that file's vector type.
//
//   g++ -O3 -std=c++17 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -DEDDY_BENCH_AVX512 -Inative bench/native/cell_step.cc -o /tmp/cell_step
//   /tmp/cell_step
//   g++ -O3 -std=c++17 -mavx2 -mfma -Inative bench/native/cell_step.cc -o /tmp/cell_step2 && /tmp/cell_step2
//
// Arguments: rows K H [steps] [repetitions] (default: C1's 64 256 256 and
// C3's 32 512 512).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#ifdef EDDY_BENCH_AVX512
#include "packed_gemm_avx512.cc"
namespace isa_v = eddy::avx512;
#define EDDY_BENCH_SHAPE 6
#else
#include "packed_gemm_avx2.cc"
namespace isa_v = eddy::avx2;
#define EDDY_BENCH_SHAPE 3
#endif

namespace {

using eddy::CellStep;
using V = isa_v::V;

// The LSTM's tiles with an epilogue that stores the four gate accumulators
// and nothing else: what the GEMM part costs.
struct StoreCell {
  static constexpr int kGates = 4;
  static constexpr bool kInputFirst = false;  // accumulators from zero: the recurrent GEMM alone
  static void prefetch(const CellStep&, int, int) {}
  template <typename W, int R>
  static __attribute__((noinline)) void rows(const CellStep& s, int r, int j0, int n, const typename W::Reg* acc, int stride) {
    for (int q = 0; q < R; ++q) {
      float* gr = s.gates + static_cast<size_t>(r + q) * 4 * s.H + j0;
      for (int g = 0; g < 4; ++g) W::storen(gr + static_cast<size_t>(g) * s.H, acc[q * stride + g], n);
    }
  }
};

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

template <typename Fn>
void report(const char* what, double flops_per_step, int steps, int reps, Fn&& step) {
  for (int i = 0; i < steps; ++i) step();  // warm-up
  std::vector<double> rate;
  for (int r = 0; r < reps; ++r) {
    const double t0 = cpu_seconds();
    for (int i = 0; i < steps; ++i) step();
    rate.push_back(flops_per_step * steps / (cpu_seconds() - t0) * 1e-9);
  }
  std::sort(rate.begin(), rate.end());
  std::printf("  %-34s best %6.1f  median %6.1f GFLOP/s\n", what, rate.back(), rate[rate.size() / 2]);
}

// The fused LSTM backward step (back_step) as the addon runs it, over a
// sequence of 64 steps: each step's GEMM reads the gate gradients the step
// before wrote (dG_t [rows, 4H] against W_hh packed as op(B), K = 4H) and
// its epilogue writes step t − 1's. The arrays are restored before each
// repetition, outside the timing, so the values stay in range.
void run_backward(int rows, int H, int steps, int reps) {
  constexpr int G = 4, T = 64, W = V::kWidth;
  const int K = G * H, blocks = (H + W - 1) / W;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.005f, 0.095f);
  auto fill = [&](std::vector<float>& v, size_t n) {
    v.resize(n);
    for (float& x : v) x = u(rng);
  };
  std::vector<float> packed, gates0, saved0, dc0, dy, dh(static_cast<size_t>(rows) * H);
  fill(packed, static_cast<size_t>(blocks) * K * W);
  fill(gates0, static_cast<size_t>(T) * rows * K);
  fill(saved0, static_cast<size_t>(T) * rows * 2 * H);
  fill(dc0, static_cast<size_t>(rows) * H);
  fill(dy, static_cast<size_t>(T) * rows * H);
  std::vector<float> gates, saved, dc;
  const int passes = std::max(1, steps / (T - 1));
  std::vector<double> rate;
  for (int r = 0; r <= reps; ++r) {
    double spent = 0;
    for (int pass = 0; pass < passes; ++pass) {
      gates = gates0, saved = saved0, dc = dc0;
      const double t0 = cpu_seconds();
      for (int t = T - 1; t >= 1; --t) {
        eddy::CellBackStep s;
        s.bs = s.bs_next = rows;
        s.H = H;
        s.a = gates.data() + static_cast<size_t>(t) * rows * K;
        s.lda = K;
        s.dh = dh.data();
        s.dc = dc.data();
        s.dy = dy.data() + static_cast<size_t>(t - 1) * rows * H;
        s.ldy = H;
        s.gates = gates.data() + static_cast<size_t>(t - 1) * rows * K;
        s.saved = saved.data() + static_cast<size_t>(t - 1) * rows * 2 * H;
        s.u0 = 0;
        s.u1 = blocks;
        isa_v::kPackedGemm.lstm_back(s, packed.data(), K);
      }
      spent += cpu_seconds() - t0;
    }
    if (r > 0) rate.push_back(2.0 * rows * K * H * (T - 1) * passes / spent * 1e-9);  // the first is a warm-up
  }
  std::sort(rate.begin(), rate.end());
  std::printf("  %-34s best %6.1f  median %6.1f GFLOP/s\n", "backward step (as the addon runs it)", rate.back(), rate[rate.size() / 2]);
}

void run(int rows, int K, int H, int steps, int reps) {
  constexpr int G = 4, W = V::kWidth;
  const int blocks = (H + W - 1) / W;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  auto fill = [&](std::vector<float>& v, size_t n) {
    v.resize(n);
    for (float& x : v) x = u(rng);
  };
  // Packed gate-interleaved W_hh ([blocks·G panels][K][W]) and the plain op(B) of the same size.
  std::vector<float> packed, a, gates, gates0, c, h, y, acc;
  fill(packed, static_cast<size_t>(blocks) * G * K * W);
  fill(a, static_cast<size_t>(rows) * K);
  fill(gates0, static_cast<size_t>(rows) * G * H);
  fill(c, static_cast<size_t>(rows) * H);
  gates = gates0;
  h.assign(static_cast<size_t>(rows) * H, 0.0f);
  y.assign(static_cast<size_t>(rows) * H, 0.0f);
  fill(acc, static_cast<size_t>(G) * W);

  CellStep s;
  s.bs = rows;
  s.H = H;
  s.a = a.data();
  s.lda = K;
  s.gates = gates.data();
  s.c = c.data();
  s.h = h.data();
  s.y = y.data();
  s.ldy = H;
  s.u0 = 0;
  s.u1 = blocks;
  const double flops = 2.0 * rows * K * G * H;
  std::printf("rows %d, K %d, H %d (LSTM, %d steps x %d repetitions, 1 thread, CPU time)\n", rows, K, H, steps, reps);
  report("fused step (as the addon runs it)", flops, steps, reps, [&] { isa_v::kPackedGemm.lstm_step(s, packed.data(), K); });
  {
    // Gates of a whole sequence, written before the steps as the input
    // projection writes them: each step reads its own slice from far out of cache.
    constexpr int T = 64;
    std::vector<float> seq;
    fill(seq, static_cast<size_t>(T) * rows * G * H);
    int t = 0;
    report("fused step, gates of a 64-step sequence", flops, steps, reps, [&] {
      CellStep st = s;
      st.gates = seq.data() + static_cast<size_t>(t) * rows * G * H;
      t = (t + 1) % T;
      isa_v::kPackedGemm.lstm_step(st, packed.data(), K);
    });
  }
  report("GEMM part (epilogue stores only)", flops, steps, reps,
         [&] { eddy::tiles::cell_step<V, StoreCell, EDDY_BENCH_SHAPE, 1, 1, EDDY_BENCH_SHAPE>(s, packed.data(), K); });
  report("plain packed GEMM, same shape", flops, steps, reps,
         [&] { isa_v::kPackedGemm.gemm(rows, G * H, K, a.data(), K, packed.data(), false, nullptr, gates.data(), G * H); });
  gates = gates0;
  // The epilogue alone: every row and unit block of a step, accumulators from L1.
  typename V::Reg regs[G];
  for (int g = 0; g < G; ++g) regs[g] = V::load(acc.data() + g * W);
  const double t0 = cpu_seconds();
  for (int i = 0; i < steps; ++i) {
    for (int b = 0; b < blocks; ++b) {
      const int j0 = b * W, n = std::min(W, H - j0);
      int r = 0;
      for (; r + 6 <= rows; r += 6) eddy::tiles::epilogue_rows<V, eddy::tiles::LstmCell, 6>(s, r, j0, n, regs, 0);
      for (; r < rows; ++r) eddy::tiles::epilogue_rows<V, eddy::tiles::LstmCell, 1>(s, r, j0, n, regs, 0);
    }
  }
  const double per_step = (cpu_seconds() - t0) / steps;
  std::printf("  %-34s %6.2f us per step (%.1f ns per row and unit block)\n", "epilogue alone", per_step * 1e6,
              per_step * 1e9 / (rows * blocks));
  run_backward(rows, H, steps, reps);
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 4 ? std::atoi(argv[4]) : 2000;
  const int reps = argc > 5 ? std::atoi(argv[5]) : 7;
  std::printf("%s\n", isa_v::kPackedGemm.name);
  if (argc > 3) {
    run(std::atoi(argv[1]), std::atoi(argv[2]), std::atoi(argv[3]), steps, reps);
    return 0;
  }
  run(64, 256, 256, steps, reps);
  run(32, 512, 512, steps / 4, reps);
  return 0;
}
