#!/usr/bin/env bash
# Proves that a packed eddy-rnn is a working product once installed: builds
# the host prebuild and the tarball from a copy of the source tree (so the
# build in ./build, which a running process may have loaded, is never
# touched), checks the tarball's contents, installs it into an empty project
# with a PATH that holds no cmake or compiler, then, with OpenBLAS and the
# Fortran runtime hidden where the system allows it:
#   * require() and import from the package,
#   * `eddy train` (short) on the bundled data and `eddy generate` on its model,
#   * `tsc --noEmit` of a TypeScript consumer of the public types.
#
# Usage: scripts/check-prebuild.sh [--tarball FILE]
#   --tarball FILE  check an existing tarball (its prebuilds included) instead
#                   of building one from the source tree.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/eddy-prebuild.XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

tarball=
if [ "${1:-}" = "--tarball" ]; then tarball=$(realpath "$2"); fi

if [ -z "$tarball" ]; then
  step "copying the source tree"
  src="$work/src"
  mkdir -p "$src"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src")
  ln -s "$root/node_modules" "$src/node_modules"
  cd "$src"
  echo "$src"

  step "building the host prebuild (npm run prebuildify)"
  # prebuildify leaves its staging folder in the temp directory: keep it inside $work.
  mkdir -p "$work/tmp"
  TMPDIR="$work/tmp" npm run --silent prebuildify >"$work/prebuildify.log" 2>&1 || { cat "$work/prebuildify.log"; exit 1; }
  ls prebuilds/*/*.node

  step "packing (npm pack)"
  tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
fi
echo "$tarball ($(du -h "$tarball" | cut -f1))"

step "checking the tarball's contents"
mkdir -p "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
node "$root/scripts/check-tarball.js" "$work/unpacked/package"
host=$(node -p 'process.platform + "-" + process.arch')
prebuild=$(ls "$work/unpacked/package/prebuilds/$host/"*.node 2>/dev/null | head -n 1) || true
[ -n "$prebuild" ] || fail "the tarball has no prebuild for $host"
echo "prebuild for $host: ${prebuild#"$work/unpacked/package/"}"
if ldd "$prebuild" | grep -Ei 'blas|lapack|gfortran|quadmath'; then
  fail "the prebuild depends on the libraries above"
fi
ldd "$prebuild" | sed 's/^/  /'

step "installing into an empty project without build tools on PATH"
bin="$work/bin"
consumer="$work/consumer"
mkdir -p "$bin" "$consumer"
for tool in node npm npx sh bash env cat head tail wc tr; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
for tool in cmake g++ c++ gcc cc make; do
  if PATH="$bin" command -v "$tool" >/dev/null 2>&1; then fail "$tool is on the restricted PATH"; fi
done
cp "$root/scripts/consumer/"* "$consumer/"
cd "$consumer"
PATH="$bin" npm init -y >/dev/null
PATH="$bin" npm install --no-audit --no-fund "$tarball"
test ! -e node_modules/eddy-rnn/build || fail "install built from source instead of using the prebuild"
# npm may defer dependency install scripts until approved; run eddy-rnn's
# install script explicitly: it must accept the prebuild without building.
(cd node_modules/eddy-rnn && PATH="$bin" npm run --silent install)
test ! -e node_modules/eddy-rnn/build || fail "the install script built from source instead of using the prebuild"
echo "install script accepted the prebuild"

# What a user does first, run as one script so that it can run with the
# system's BLAS hidden. 20 000 characters and one epoch keep it to seconds.
cat >"$consumer/run.sh" <<'SH'
set -eu
node check.cjs
node check.mjs
npx --no-install eddy train --max-chars 20000 --epochs 1 --out run >train.log 2>&1 || { cat train.log; exit 1; }
tail -n 3 train.log
test -s run/model.safetensors
npx --no-install eddy generate run/model.safetensors --length 60 --seed 1 --prompt "It is" >generate.log 2>&1 || { cat generate.log; exit 1; }
test "$(wc -c <generate.log)" -ge 60
printf 'eddy generate: %s\n' "$(head -c 80 generate.log | tr '\n' ' ')"
echo "eddy train and eddy generate work from the installed package"
SH

step "running the installed package: require, import, eddy train, eddy generate"
# Hide OpenBLAS and the Fortran runtime in a private mount namespace, so
# the check also holds on a machine where they are not installed.
hide=()
for lib in /usr/lib/*-linux-gnu/openblas-pthread /usr/lib/*-linux-gnu/libopenblas* /usr/lib/*-linux-gnu/libblas* \
           /usr/lib/*-linux-gnu/liblapack* /usr/lib/*-linux-gnu/libgfortran* /usr/lib/*-linux-gnu/libquadmath*; do
  [ -e "$lib" ] && [ ! -L "$lib" ] && hide+=("$lib")  # symlinks dangle once their targets are hidden
done
unshare=$(command -v unshare || true)
mount=$(command -v mount || true)
script='m=$1; shift; for p in "$@"; do if [ -d "$p" ]; then "$m" -t tmpfs none "$p"; else "$m" --bind /dev/null "$p"; fi; done; exec sh run.sh'
if [ ${#hide[@]} -gt 0 ] && [ -n "$unshare" ] && [ -n "$mount" ] && "$unshare" -m true 2>/dev/null; then
  PATH="$bin" "$unshare" -m sh -c "$script" sh "$mount" "${hide[@]}"
  echo "(with OpenBLAS and the Fortran runtime hidden: ${#hide[@]} paths)"
else
  echo "note: cannot hide system libraries here (no mount namespace); relying on the ldd check above"
  PATH="$bin" sh run.sh
fi

step "compiling a TypeScript consumer against the installed types (tsc --noEmit)"
# The project's own compiler and Node types; the consumer resolves eddy-rnn
# through its exports map (module nodenext), as a user's project would.
mkdir -p node_modules/@types
ln -s "$root/node_modules/@types/node" node_modules/@types/node
PATH="$bin" node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json
echo "the public types compile in a consumer"

step "OK: the packed module installs and runs from its prebuilt binary"
