#include "isa.h"

#include <cstdlib>
#include <cstring>

namespace eddy {

bool cpu_supports(Isa isa) {
#if defined(__x86_64__) || defined(_M_X64)
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  static const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  switch (isa) {
    case Isa::kAvx512: return avx512;
    case Isa::kAvx2: return avx2;
    default: return true;
  }
#else
  return isa == Isa::kGeneric;
#endif
}

namespace {

Isa requested() {
  const char* name = std::getenv("EDDY_ISA");
  if (name && std::strcmp(name, "generic") == 0) return Isa::kGeneric;
  if (name && std::strcmp(name, "avx2") == 0) return Isa::kAvx2;
  if (name && std::strcmp(name, "avx512") == 0) return Isa::kAvx512;
  const char* off = std::getenv("EDDY_DISABLE_AVX2");
  if (off && off[0] == '1') return Isa::kGeneric;
  return Isa::kAvx512;
}

}  // namespace

Isa isa() {
  static const Isa chosen = [] {
    Isa want = requested();
    while (!cpu_supports(want)) want = static_cast<Isa>(static_cast<int>(want) - 1);
    return want;
  }();
  return chosen;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "generic";
  }
}

}  // namespace eddy
