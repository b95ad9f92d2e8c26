#include "batch_order.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "heap.h"
#include "parallel.h"

namespace eddy {
namespace {

size_t user_row(const RnnShape& s, int original, int t) {
  return s.batch_first ? static_cast<size_t>(original) * s.T + t : static_cast<size_t>(t) * s.B + original;
}

// Runs fn(t) for every step, steps dealt across the pool: the copies are
// large (the caller's tensors, often fresh pages that fault on first touch)
// and would otherwise run on one thread while the others wait.
template <typename Fn>
void for_each_step(const RnnShape& s, int width, Fn&& fn) {
  // Chunks of at least ~64 KB.
  const int64_t per_step = static_cast<int64_t>(s.B) * width;
  parallel_for(s.T, std::max<int64_t>(1, 16384 / std::max<int64_t>(per_step, 1)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) fn(static_cast<int>(t));
  });
}

}  // namespace

Order make_order(const RnnShape& s, const int32_t* lengths, int groups) {
  Order o;
  std::vector<int> sorted(s.B);
  std::iota(sorted.begin(), sorted.end(), 0);
  auto length = [&](int b) { return lengths ? lengths[b] : s.T; };
  for (int b = 0; b < s.B; ++b) {
    if (length(b) < 1 || length(b) > s.T) throw std::invalid_argument("length out of range");
  }
  std::stable_sort(sorted.begin(), sorted.end(), [&](int a, int b) { return length(a) > length(b); });
  groups = std::max(1, std::min(groups, s.B));
  const bool equal = s.B == 0 || length(sorted.front()) == length(sorted.back());
  for (int g = 0; g < groups; ++g) {
    Group grp;
    grp.off = static_cast<int>(o.perm.size());
    if (equal) {
      for (int i = s.B * g / groups; i < s.B * (g + 1) / groups; ++i) o.perm.push_back(sorted[i]);
    } else {
      for (int i = g; i < s.B; i += groups) o.perm.push_back(sorted[i]);
    }
    grp.size = static_cast<int>(o.perm.size()) - grp.off;
    grp.batch_sizes.assign(s.T, 0);
    for (int t = 0; t < s.T; ++t) {
      int n = 0;
      while (n < grp.size && length(o.perm[grp.off + n]) > t) ++n;
      grp.batch_sizes[t] = n;
    }
    o.groups.push_back(std::move(grp));
  }
  o.identity = true;
  for (int b = 0; b < s.B; ++b) {
    o.len.push_back(length(o.perm[b]));
    o.identity = o.identity && o.perm[b] == b;
  }
  return o;
}

int group_count(const RnnShape& s) {
  const int threads = num_threads();
  const int wanted = (threads + s.dirs - 1) / s.dirs;
  return std::max(1, std::min(wanted, s.B / 8));
}

void gather_seq(float* dst, const float* src, const RnnShape& s, const Order& o, int width) {
  for_each_step(s, width, [&](int t) {
    for (int b = 0; b < s.B; ++b) {
      float* d = dst + (static_cast<size_t>(t) * s.B + b) * width;
      if (!src || t >= o.len[b]) {
        std::memset(d, 0, sizeof(float) * width);
      } else {
        std::memcpy(d, src + user_row(s, o.perm[b], t) * width, sizeof(float) * width);
      }
    }
  });
}

void scatter_seq(float* dst, const float* src, const RnnShape& s, const Order& o, int width) {
  map_for_write(dst, sizeof(float) * s.T * s.B * width);
  for_each_step(s, width, [&](int t) {
    for (int b = 0; b < s.B; ++b) {
      std::memcpy(dst + user_row(s, o.perm[b], t) * width, src + (static_cast<size_t>(t) * s.B + b) * width,
                  sizeof(float) * width);
    }
  });
}

void gather_state(float* dst, const float* src, const RnnShape& s, const Order& o) {
  const size_t H = s.H;
  for (int k = 0; k < s.layers * s.dirs; ++k) {
    for (int b = 0; b < s.B; ++b) {
      float* d = dst + (static_cast<size_t>(k) * s.B + b) * H;
      if (src) {
        std::memcpy(d, src + (static_cast<size_t>(k) * s.B + o.perm[b]) * H, sizeof(float) * H);
      } else {
        std::memset(d, 0, sizeof(float) * H);
      }
    }
  }
}

void scatter_state(float* dst, const float* src, const RnnShape& s, const Order& o) {
  const size_t H = s.H;
  for (int k = 0; k < s.layers * s.dirs; ++k) {
    for (int b = 0; b < s.B; ++b) {
      std::memcpy(dst + (static_cast<size_t>(k) * s.B + o.perm[b]) * H, src + (static_cast<size_t>(k) * s.B + b) * H,
                  sizeof(float) * H);
    }
  }
}

}  // namespace eddy
