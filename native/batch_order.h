// The internal batch order of a recurrent call: sequences sorted by length
// and dealt into groups, one per thread, and the copies between the user's
// layout and order and the internal time-major one.
#pragma once

#include <cstdint>
#include <vector>

#include "recurrent.h"

namespace eddy {

// A group of sequences that one thread runs through time: rows
// [off, off + size) of the internal order, longest first, so the rows still
// running at step t are the first batch_sizes[t].
struct Group {
  int off = 0, size = 0;
  std::vector<int> batch_sizes;  // [T]
};

// The internal batch order: sequences sorted by length (stable), then dealt
// round-robin into groups, so groups get similar amounts of work. When every
// sequence has the same length the groups are consecutive rows instead
// (equally balanced) and the order is the caller's own (identity), so the
// caller's tensors can be read and written in place.
struct Order {
  std::vector<int> perm;  // internal row → original batch index
  std::vector<int> len;   // internal row → sequence length
  std::vector<Group> groups;
  bool identity = false;  // perm[b] == b for every row
};

Order make_order(const RnnShape& s, const int32_t* lengths, int groups);

// How many groups to deal the batch into: enough (direction, group) tasks
// for every thread, but no group smaller than 8 rows, below which a GEMM
// per step stops paying for a thread.
int group_count(const RnnShape& s);

// Copies a sequence tensor in the user's layout and batch order into the
// internal time-major order (gather) or back (scatter). Steps past a
// sequence's end are zero in the internal copy.
void gather_seq(float* dst, const float* src, const RnnShape& s, const Order& o, int width);
void scatter_seq(float* dst, const float* src, const RnnShape& s, const Order& o, int width);

// States [L·D, B, H] between user order and internal order (a null source gathers zeros).
void gather_state(float* dst, const float* src, const RnnShape& s, const Order& o);
void scatter_state(float* dst, const float* src, const RnnShape& s, const Order& o);

}  // namespace eddy
