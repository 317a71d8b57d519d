#!/usr/bin/env bash
# The repository's .clang-tidy reports, as errors, what CI relies on it for:
# runs clang-tidy on fixture.cpp (found beside this script) and checks that it
# fails with exactly the findings the fixture marks. Usage: clang_tidy_config_test.sh [CLANG_TIDY]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
clang_tidy=${1:-clang-tidy}

out=$("$clang_tidy" --quiet "$here/fixture.cpp" -- -std=c++20 2>&1)
status=$?
fail() {
  echo "clang_tidy_config_test: $1" >&2
  echo "$out" >&2
  exit 1
}
[ "$status" -ne 0 ] || fail "clang-tidy passed the fixture: warnings are not errors"
found=$(grep -oE "^$here/fixture.cpp:[0-9]+:[0-9]+: error: .*\[[a-z.-]+" <<<"$out" |
  sed -E 's/^[^:]+:([0-9]+):[0-9]+: .*\[([a-z.-]+)$/\1 \2/' | sort -u)
expected=$(grep -n "// reported: " "$here/fixture.cpp" | sed -E 's/^([0-9]+):.*reported: ([a-z.-]+).*/\1 \2/' | sort -u)
[ "$found" = "$expected" ] || fail "expected findings (line check):
$expected
got:
$found"
echo "clang_tidy_config_test: $(wc -l <<<"$expected") findings as expected"
