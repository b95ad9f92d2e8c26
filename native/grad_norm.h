// Passes over many gradient tensors at once: norm clipping (one reduction
// over all of them, then one scaling pass) and accumulation into gradients
// kept from earlier steps.
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

// dst[k] ← dst[k] + src[k] elementwise, span k of dst with span k of src
// (same sizes, and the two spans of a pair the same or not overlapping: the
// caller checks). Each element is one float addition, so the result does
// not depend on the thread count.
void add_spans(const std::vector<FloatSpan>& dst, const std::vector<FloatSpan>& src);

}  // namespace eddy
