// Which instruction set Eddy's own kernels use. Chosen once per process:
// the widest the CPU has, unless EDDY_ISA=avx512|avx2|generic asks for a
// narrower one (EDDY_DISABLE_AVX2=1, the older switch, means generic). A
// request for a set the CPU lacks falls back to the widest it has. The
// build targets baseline x86-64; wider code lives in *_avx2.cc and
// *_avx512.cc files and is reached only through this choice.
#pragma once

namespace eddy {

enum class Isa : int { kGeneric = 0, kAvx2 = 1, kAvx512 = 2 };

// Whether the CPU (and OS) can run the set: AVX2 means AVX2+FMA; AVX-512
// means F, BW, DQ and VL with FMA.
bool cpu_supports(Isa isa);
// The set in use.
Isa isa();
const char* isa_name(Isa isa);

}  // namespace eddy
