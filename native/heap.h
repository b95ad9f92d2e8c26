// How the C heap treats large blocks in a process running Eddy (heap.cc).
#pragma once

namespace eddy {

// Chosen once, when the module first loads: "retain" (freed large blocks
// stay in the heap for the next call), "system" (the C library's own
// policy, as asked by EDDY_HEAP=system or by glibc threshold settings already
// in the environment, or where it cannot be changed) or "unknown-setting" (an
// EDDY_HEAP value other than retain and system; the policy is left alone).
void choose_heap_policy();
const char* heap_policy();

}  // namespace eddy
