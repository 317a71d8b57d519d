#!/usr/bin/env bash
# clang-tidy (.clang-tidy) over the product code, every warning an error, through
# the compile database of a build folder. Usage: scripts/clang-tidy.sh [BUILD_DIR]
#   BUILD_DIR   default build (configured here in Debug when it has no
#               compile_commands.json; nothing needs to be built first)
# Product code: the rooms of design.md that exist (common, http, crm, connectors,
# mapping, daemon, state, status, sync) and their headers; never tests/ (which holds the
# emulator) or generated sources.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${1:-build}

if [ ! -f "$build_dir/compile_commands.json" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
fi

rooms=()
for room in common http crm connectors mapping daemon state status sync; do
  if [ -d "$room" ]; then rooms+=("$room"); fi
done
pattern="^$root/($(IFS='|'; echo "${rooms[*]}"))/"

start=$(date +%s)
# The compile database carries GCC's warning flags; clang does not know some of them.
status=0
run-clang-tidy -j2 -quiet -p "$build_dir" -header-filter="$pattern" -extra-arg=-Wno-unknown-warning-option \
  "$pattern" || status=$?
echo "clang-tidy: ${rooms[*]} in $(( $(date +%s) - start )) s$([ "$status" -eq 0 ] || echo ': FAILED')"
exit "$status"
