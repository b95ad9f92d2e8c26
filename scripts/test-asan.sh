#!/usr/bin/env bash
# npm run test:asan: builds the addon with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ (the normal build in build/ is
# left alone) and runs the tests that exercise native code against it.
#
# Node itself is not instrumented, so the ASan runtime is preloaded and leak
# detection is off (it would report Node's own allocations). Any ASan or
# UBSan report ends the process, which fails the test run. The tests that
# cap the address space (test/native/resources.test.ts) are left out: ASan
# reserves terabytes of it.
set -euo pipefail
cd "$(dirname "$0")/.."

npx cmake-js compile --out build-asan --CDEDDY_SANITIZE=ON
npx tsc -p .

# A package root whose build/Release holds the sanitized addon: lib/native.ts
# loads the addon relative to the compiled code, so the code is copied (a
# symlink would resolve back to this checkout and its normal build).
root=build-asan/package
rm -rf "$root"
mkdir -p "$root/build/Release"
cp -r dist "$root/dist"
for entry in package.json node_modules test; do ln -s "$PWD/$entry" "$root/$entry"; done
ln -s "$PWD/build-asan/Release/eddy.node" "$root/build/Release/eddy.node"

# The native-facing tests: the loader, kernels and pool, every recurrent
# path (sync, async, backward, step by step, batch invariance), products,
# attention, optimizers.
tests=(
  native.test.js
  native/*.test.js
  runtime/threads.test.js
  ops/*.test.js
  layers/recurrent*.test.js
  layers/batch-invariance.test.js
  layers/bidirectional.test.js
  layers/attention.test.js
  autograd/backward-async.test.js
  optim/*.test.js
)
cd "$root"
files=()
for pattern in "${tests[@]}"; do
  for f in dist/test/$pattern; do
    [[ "$f" == dist/test/native/resources.test.js ]] || files+=("$f")
  done
done

asan_runtime="$(g++ -print-file-name=libasan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The tests must run the sanitized addon, not a prebuild or the normal build.
LD_PRELOAD="$asan_runtime" node -e "
  require('./dist/lib');
  if (!require('fs').readFileSync('/proc/self/maps', 'utf8').includes('build-asan/Release/eddy.node')) {
    console.error('test:asan: the sanitized addon was not the one loaded');
    process.exit(1);
  }"
LD_PRELOAD="$asan_runtime" node node_modules/mocha/bin/mocha.js --no-config --timeout 300000 \
  --reporter ./dist/test/reporter.js "${files[@]}"
