#!/usr/bin/env bash
# Proves that a packed eddy-rnn installs and runs from its prebuilt binary
# alone: builds the prebuild and the tarball from a copy of the source tree
# (so the build in ./build, which a running process may have loaded, is
# never touched), installs the tarball into an
# empty project with a PATH that holds no cmake or compiler, then, where the
# system lets us hide OpenBLAS, loads it with no OpenBLAS on the machine and
# multiplies two matrices.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/eddy-prebuild.XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }

step "copying the source tree"
src="$work/src"
mkdir -p "$src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src")
ln -s "$root/node_modules" "$src/node_modules"
cd "$src"
echo "$src"

step "building the prebuild (npm run prebuildify)"
npm run --silent prebuildify >"$work/prebuildify.log" 2>&1 || { cat "$work/prebuildify.log"; exit 1; }
prebuild=$(ls prebuilds/linux-x64/*.node)
echo "$prebuild"

step "checking that the prebuild links no BLAS or Fortran runtime"
if ldd "$prebuild" | grep -Ei 'openblas|blas|gfortran|quadmath'; then
  echo "FAIL: the prebuild depends on the libraries above" >&2
  exit 1
fi
ldd "$prebuild" | sed 's/^/  /'

step "packing (npm pack)"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
tarball="$work/$tarball"
listing=$(tar -tzf "$tarball")
grep -q 'package/prebuilds/linux-x64/.*\.node$' <<<"$listing" || { echo "FAIL: tarball has no prebuild" >&2; exit 1; }
echo "$tarball ($(du -h "$tarball" | cut -f1))"

step "installing into an empty project without build tools on PATH"
bin="$work/bin"
mkdir -p "$bin" "$work/consumer"
for tool in node npm npx sh bash env; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
for tool in cmake g++ c++ gcc cc make; do
  if PATH="$bin" command -v "$tool" >/dev/null 2>&1; then echo "FAIL: $tool is on the restricted PATH" >&2; exit 1; fi
done
cd "$work/consumer"
PATH="$bin" npm init -y >/dev/null
PATH="$bin" npm install --no-audit --no-fund "$tarball"
test ! -e node_modules/eddy-rnn/build || { echo "FAIL: install built from source instead of using the prebuild" >&2; exit 1; }
# npm may defer dependency install scripts until approved; run eddy-rnn's
# install script explicitly: it must accept the prebuild without building.
(cd node_modules/eddy-rnn && PATH="$bin" npm run --silent install)
test ! -e node_modules/eddy-rnn/build || { echo "FAIL: the install script built from source instead of using the prebuild" >&2; exit 1; }
echo "install script accepted the prebuild"


cat >"$work/consumer/check.js" <<'JS'
const assert = require('assert');
const eddy = require('eddy-rnn');
const c = eddy.matmul(eddy.tensor([[1, 2], [3, 4]]), eddy.tensor([[5, 6], [7, 8]]));
assert.deepStrictEqual(c.toArray(), [[19, 22], [43, 50]]);
console.log(`require('eddy-rnn') works: [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = ${JSON.stringify(c.toArray())}`);
JS

step "loading it and multiplying two matrices"
# Hide OpenBLAS and the Fortran runtime in a private mount namespace, so
# the check also holds on a machine where they are not installed.
hide=()
for lib in /usr/lib/x86_64-linux-gnu/openblas-pthread /usr/lib/x86_64-linux-gnu/libopenblas* \
           /usr/lib/x86_64-linux-gnu/libblas* /usr/lib/x86_64-linux-gnu/libgfortran* /usr/lib/x86_64-linux-gnu/libquadmath*; do
  [ -e "$lib" ] && [ ! -L "$lib" ] && hide+=("$lib")  # symlinks dangle once their targets are hidden
done
unshare=$(command -v unshare || true)
mount=$(command -v mount || true)
script='m=$1; shift; for p in "$@"; do if [ -d "$p" ]; then "$m" -t tmpfs none "$p"; else "$m" --bind /dev/null "$p"; fi; done; exec node check.js'
if [ ${#hide[@]} -gt 0 ] && [ -n "$unshare" ] && [ -n "$mount" ] && "$unshare" -m true 2>/dev/null; then
  PATH="$bin" "$unshare" -m sh -c "$script" sh "$mount" "${hide[@]}"
  echo "(with OpenBLAS and libgfortran hidden: ${#hide[@]} paths)"
else
  echo "note: cannot hide system libraries here (no mount namespace); relying on the ldd check above"
  PATH="$bin" node check.js
fi

step "OK: the packed module installs and runs from its prebuilt binary"
