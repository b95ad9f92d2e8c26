#!/usr/bin/env bash
# Checks one prebuilt eddy-rnn binary for the oldest systems it promises to
# load on (glibc 2.31 and GCC 10's libstdc++: Debian 11, Ubuntu 20.04,
# RHEL 9, Amazon Linux 2023):
#   * the newest GLIBC / GLIBCXX / CXXABI symbol versions it requires
#     (objdump -T) are at most 2.31 / 3.4.28 / 1.3.12;
#   * the shared libraries it needs (ldd, through qemu for another
#     architecture) include no BLAS, LAPACK or Fortran runtime.
# Runs inside the build root, where the cross binutils and loaders live.
#
# Usage: scripts/check-binary.sh FILE.node x64|arm64
set -euo pipefail
file=$1
arch=$2
max_glibc=2.31
max_glibcxx=3.4.28
max_cxxabi=1.3.12

case "$arch" in
  x64) objdump=objdump; ldd=(ldd) ;;
  arm64) objdump=aarch64-linux-gnu-objdump; ldd=(qemu-aarch64-static /lib/ld-linux-aarch64.so.1 --list) ;;
  *) echo "unknown architecture $arch" >&2; exit 2 ;;
esac

# "version_le A B": A <= B in version order.
version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

status=0
symbols=$("$objdump" -T "$file")
for pair in "GLIBC $max_glibc" "GLIBCXX $max_glibcxx" "CXXABI $max_cxxabi"; do
  set -- $pair
  newest=$(grep -o "$1_[0-9][0-9.]*" <<<"$symbols" | sed "s/^$1_//" | sort -Vu | tail -n 1)
  if [ -z "$newest" ]; then
    echo "  $1: none required"
  elif version_le "$newest" "$2"; then
    echo "  $1: newest required $newest (limit $2)"
  else
    echo "  FAIL: $1_$newest required, above the limit $2:" >&2
    grep "$1_$newest" <<<"$symbols" | sed 's/^/    /' >&2
    status=1
  fi
done

libs=$("${ldd[@]}" "$file")
sed 's/^/  ldd: /' <<<"$libs"
if grep -Ei 'blas|lapack|gfortran|quadmath|not found' <<<"$libs" >&2; then
  echo "  FAIL: the binary needs the libraries above" >&2
  status=1
fi
exit $status
