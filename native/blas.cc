#include "blas.h"

#include <strings.h>

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

bool blas_core_is_one_of(std::initializer_list<const char*> names) {
  const char* core = blas_core();
  for (const char* name : names)
    if (strcasecmp(core, name) == 0) return true;
  return false;
}

}  // namespace eddy
