#!/usr/bin/env bash
# Builds crmsync (Debug) and runs every test. Usage: scripts/test.sh [--sanitize]
#   --sanitize   build in build-asan with AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
extra=()
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  # Benchmarks are not tests: the Debug build keeps them compiling.
  extra=(-DCRMSYNC_SANITIZE=ON -DCRMSYNC_BUILD_BENCHMARKS=OFF)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  # cpprestsdk keeps pplx objects in flight at exit (toolchain.md). Stacks are
  # unwound fully: the frame-pointer unwinder can stop inside OpenSSL (built
  # without frame pointers), and a stack cut there loses the cpprestsdk frames
  # that the suppression in .ci/lsan.supp matches.
  export LSAN_OPTIONS="suppressions=$PWD/.ci/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug "${extra[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" -j "$(nproc)" --output-on-failure --timeout 600
