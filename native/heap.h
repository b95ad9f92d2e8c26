// How Eddy's large blocks meet the system's memory (heap.cc): the C heap's
// policy, and mapping a caller's fresh output before the kernels write it.
#pragma once

#include <cstddef>

namespace eddy {

// Chosen once, when the module first loads: "retain" (freed large blocks
// stay in the heap for the next call), "system" (the C library's own
// policy, as asked by EDDY_HEAP=system or by glibc threshold settings already
// in the environment, or where it cannot be changed) or "unknown-setting" (an
// EDDY_HEAP value other than retain and system; the policy is left alone).
void choose_heap_policy();
const char* heap_policy();

// Maps the whole pages inside [p, p + bytes) for writing, as the first write
// to each would, without changing their contents: one system call instead of
// a fault per 4 KiB page of a caller's fresh output (regions under 256 KiB are
// left to fault, and regions whose first and last pages are mapped already
// are left alone). Only a hint: where the system cannot (Linux before 5.14,
// other systems) the pages fault in on first write as before.
void map_for_write(void* p, size_t bytes);

}  // namespace eddy
