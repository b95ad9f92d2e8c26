// The one place that knows which BLAS Eddy was built against. CMake defines
// EDDY_BLAS_OPENBLAS (OpenBLAS: thread control and build description) or
// EDDY_BLAS_ACCELERATE (Apple's Accelerate); any other CBLAS works too, with
// the generic answers below.
#pragma once

#if defined(EDDY_BLAS_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

#include <initializer_list>

namespace eddy {

// Threads the BLAS itself may start; Eddy calls it with 1 and parallelises
// around it (parallel.h). A no-op where the BLAS offers no such control.
void blas_set_num_threads(int n);
// "OpenBLAS", "Accelerate" or "CBLAS".
const char* blas_name();
// How the library was built (OpenBLAS: its configuration string).
const char* blas_config();
// The kernel family chosen for this CPU (OpenBLAS DYNAMIC_ARCH), else "unknown".
const char* blas_core();
// Whether blas_core() is one of `names` (case-insensitive).
bool blas_core_is_one_of(std::initializer_list<const char*> names);

}  // namespace eddy
