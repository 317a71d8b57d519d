#!/usr/bin/env bash
# Fails when the suite's test secret (kTestClientSecret in test_secret.h)
# appears in any file under the given paths: ctest's logs of every test's
# output, and what the tests left in their temporary folders (daemon logs,
# state and local stores with their audit rows, exports, captured /status
# and /metrics). Binary files (SQLite) are searched too. Files named
# client-secret hold it by design (crmsync init writes them) and are skipped.
# Files are named, never their content.
#
# Usage: secret_scan.sh TEST_SECRET_H PATH...
#        secret_scan.sh TEST_SECRET_H --self-test   proves a planted secret is found
set -euo pipefail

header=$1
shift
secret=$(sed -n 's/.*kTestClientSecret\[\] = "\([^"]*\)".*/\1/p' "$header")
if [ -z "$secret" ]; then
  echo "secret_scan: no kTestClientSecret in $header" >&2
  exit 2
fi

# Prints the files under the paths that hold the secret; true when there are none.
scan() {
  local found
  found=$(grep -r -l -a -F --exclude=client-secret -e "$secret" -- "$@" 2>/dev/null || true)
  if [ -n "$found" ]; then
    printf '%s\n' "$found"
    return 1
  fi
}

if [ "${1:-}" = "--self-test" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/clean" "$work/dirty/nested"
  printf 'client_secret_file: client-secret\n' > "$work/clean/log"
  printf '%s\n' "$secret" > "$work/clean/client-secret"
  scan "$work/clean" >/dev/null || { echo "secret_scan: self-test: a clean folder was reported" >&2; exit 1; }
  # The secret inside binary data, as in an SQLite page.
  { printf '\0\1\2SQLite'; printf '%s' "$secret"; printf '\0\3'; } > "$work/dirty/nested/state.db"
  if found=$(scan "$work/clean" "$work/dirty"); then
    echo "secret_scan: self-test: the planted secret was not found" >&2
    exit 1
  fi
  [ "$found" = "$work/dirty/nested/state.db" ] || { echo "secret_scan: self-test: reported '$found'" >&2; exit 1; }
  echo "secret_scan: self-test: the planted secret is found, a clean folder passes"
  exit 0
fi

existing=()
for p in "$@"; do
  if [ -e "$p" ]; then existing+=("$p"); fi
done
if [ "${#existing[@]}" -eq 0 ]; then
  echo "secret_scan: nothing to scan in $*" >&2
  exit 1
fi
if ! found=$(scan "${existing[@]}"); then
  echo "secret_scan: the test client secret appears in:" >&2
  printf '  %s\n' $found >&2
  exit 1
fi
echo "secret_scan: the test client secret appears nowhere in ${existing[*]} ($(find "${existing[@]}" -type f | wc -l) files)"
