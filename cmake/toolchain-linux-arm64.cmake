# Cross-compiling for linux-arm64 on a Debian/Ubuntu x86-64 host with
# g++-aarch64-linux-gnu and the arm64 libopenblas-dev installed through
# multiarch (`dpkg --add-architecture arm64`), as scripts/prebuild-all.sh does.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Multiarch: libraries in /usr/lib/aarch64-linux-gnu, headers in
# /usr/include/aarch64-linux-gnu; host (x86-64) libraries are never searched.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
