#include "blas.h"

#ifndef EDDY_BLAS_DESCRIPTION
#define EDDY_BLAS_DESCRIPTION "unknown CBLAS"
#endif

namespace eddy {

#if defined(EDDY_BLAS_OPENBLAS)

void blas_set_num_threads(int n) { openblas_set_num_threads(n); }
const char* blas_name() { return "OpenBLAS"; }
const char* blas_config() { return openblas_get_config(); }
const char* blas_core() { return openblas_get_corename(); }

#elif defined(EDDY_BLAS_ACCELERATE)

// Accelerate sizes its own thread use and has no portable setter before
// macOS 15 (BLASSetThreading); its GEMMs on Apple silicon run on the
// matrix unit, which Eddy's pool threads share.
void blas_set_num_threads(int) {}
const char* blas_name() { return "Accelerate"; }
const char* blas_config() { return "Apple Accelerate (vecLib)"; }
const char* blas_core() { return "unknown"; }

#else

void blas_set_num_threads(int) {}
const char* blas_name() { return "CBLAS"; }
const char* blas_config() { return EDDY_BLAS_DESCRIPTION; }
const char* blas_core() { return "unknown"; }

#endif

}  // namespace eddy
