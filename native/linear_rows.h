// A Linear layer's y = x·Wᵀ + b on Eddy's packed GEMM, for serving. The
// weights are copied and packed once; each row of y is one chain of
// multiply-adds over the inputs in order, then + b (packed_gemm.h), so a
// row's result is bit-identical whatever the number of rows, their order
// or the threads — unlike BLAS sgemm, whose blocking follows the shape.
#pragma once

#include <vector>

#include "packed_gemm.h"

namespace eddy {

class LinearRows {
 public:
  // w (out, in) as PyTorch stores it; bias (out) or null.
  LinearRows(const float* w, const float* bias, int out, int in);

  // y [m, out] = x [m, in] · Wᵀ + b; groups of rows run on the pool.
  void run(int m, const float* x, float* y) const;

  // Rows [lo, hi) of the same (x and y point at row 0), on the calling thread.
  void run_rows(int lo, int hi, const float* x, float* y) const;

  int in() const { return in_; }
  int out() const { return out_; }

 private:
  int out_, in_;
  PackedMatrix w_;
  std::vector<float> bias_;
};

}  // namespace eddy
