// Gradient-norm clipping over many tensors at once: one reduction over all
// of them, then one scaling pass.
#pragma once

#include <cstddef>
#include <vector>

namespace eddy {

struct FloatSpan {
  float* data;
  size_t size;
};

// (Σ_i |x_i|^p)^(1/p) over every element of every span, accumulated in
// double; p = ∞ gives max |x_i|. NaN anywhere gives NaN.
double total_norm(const std::vector<FloatSpan>& spans, double p);

// x ← c·x over every span.
void scale_spans(const std::vector<FloatSpan>& spans, float c);

}  // namespace eddy
