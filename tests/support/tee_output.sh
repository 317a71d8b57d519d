#!/usr/bin/env bash
# Runs a test program with its stdout and stderr passed through unchanged
# and also copied into a new file in DIR, for the secret_scan test: ctest's
# own log of the output (Testing/Temporary/LastTest.log) is still in ctest's
# write buffer when the last test runs, so it cannot be relied on.
# Set as the test executables' CROSSCOMPILING_EMULATOR (tests/CMakeLists.txt),
# which CTest and gtest_discover_tests put in front of every test command.
#
# Usage: tee_output.sh DIR PROGRAM [ARG]...
set -uo pipefail
dir=$1
shift
mkdir -p "$dir"
copy=$(mktemp "$dir/output-XXXXXX")
# The copies finish before this script does: ctest reads the pipes until
# every writer, the tees included, has closed them.
"$@" > >(tee -a "$copy") 2> >(tee -a "$copy" >&2)
