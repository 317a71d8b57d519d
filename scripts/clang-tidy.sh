#!/usr/bin/env bash
# clang-tidy (.clang-tidy) over the product code, every warning an error, through
# the compile database of a build folder.
# Usage: scripts/clang-tidy.sh [BUILD_DIR] [--changed-since REV] [--list]
#   BUILD_DIR              default build (configured here in Debug when it has no
#                          compile_commands.json; nothing needs to be built first)
#   --changed-since REV    only the sources that changed since REV, or include a
#                          header that did (the build's own dependency records,
#                          `ninja -t deps`, tell which; so BUILD_DIR must have been
#                          built). Everything when .clang-tidy, the top CMakeLists.txt
#                          (the flags) or cmake/ changed, when REV is unknown, or when the build
#                          has no dependency records. A finding depends only on a
#                          source and what it includes, so a source none of whose
#                          files changed since a clean run at REV is still clean.
#                          CI passes the commit of .ci/tidy-clean.
#   --list                 print the sources that would be checked, check nothing
# Product code: the rooms of design.md that exist (common, http, crm, connectors,
# mapping, daemon, state, status, sync) and their headers; never tests/ (which holds the
# emulator) or generated sources.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=build
since=""
list_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --changed-since) since=${2:?--changed-since needs a commit}; shift 2 ;;
    --list) list_only=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) build_dir=$1; shift ;;
  esac
done

if [ ! -f "$build_dir/compile_commands.json" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
fi

rooms=()
for room in common http crm connectors mapping daemon state status sync; do
  if [ -d "$room" ]; then rooms+=("$room"); fi
done
pattern="^$root/($(IFS='|'; echo "${rooms[*]}"))/"
files="$pattern"

if [ -n "$since" ]; then
  if ! git rev-parse -q --verify "$since^{commit}" >/dev/null; then
    echo "clang-tidy: $since is not a commit here; checking everything"
  else
    changed=$( (git diff --name-only "$since"; git ls-files --others --exclude-standard) | sort -u)
    if printf '%s\n' "$changed" | grep -qE '^(CMakeLists\.txt|\.clang-tidy|cmake/)'; then
      echo "clang-tidy: the build or the checks changed since $since; checking everything"
    else
      deps=$(ninja -C "$build_dir" -t deps 2>/dev/null || true)
      if [ -z "$deps" ]; then
        echo "clang-tidy: $build_dir has no dependency records (not built?); checking everything"
      else
        # The product sources whose own file, or any file they include, changed.
        selected=$(CHANGED="$changed" ROOT="$root" ROOMS="${rooms[*]}" python3 -c '
import os, re, sys
root = os.environ["ROOT"] + "/"
changed = {root + f for f in os.environ["CHANGED"].split("\n") if f}
rooms = tuple(root + r + "/" for r in os.environ["ROOMS"].split())
picked, source, hit = set(), None, False
def close():
    if source and hit and source.startswith(rooms) and source.endswith(".cpp"):
        picked.add(source)
for line in sys.stdin:
    if not line.startswith(" "):
        close()
        source, hit = None, False
        continue
    path = os.path.normpath(line.strip())
    if source is None:
        source = path
    if path in changed:
        hit = True
close()
print("\n".join(sorted(picked)))
' <<<"$deps")
        if [ -z "$selected" ]; then
          echo "clang-tidy: no product source or header changed since $since"
          exit 0
        fi
        count=$(printf '%s\n' "$selected" | wc -l)
        echo "clang-tidy: $count source(s) changed since $since, or include a header that did"
        files="^($(printf '%s\n' "$selected" | sed 's/[.[\*^$()+?{|]/\\&/g' | paste -sd'|'))\$"
      fi
    fi
  fi
fi

if [ "$list_only" -eq 1 ]; then
  if [ "$files" = "$pattern" ]; then
    python3 -c 'import json, re, sys; [print(e["file"]) for e in json.load(open(sys.argv[1])) if re.match(sys.argv[2], e["file"])]' \
      "$build_dir/compile_commands.json" "$pattern" | sort -u
  else
    printf '%s\n' "$selected"
  fi
  exit 0
fi

start=$(date +%s)
# The compile database carries GCC's warning flags; clang does not know some of them.
status=0
run-clang-tidy -j2 -quiet -p "$build_dir" -header-filter="$pattern" -extra-arg=-Wno-unknown-warning-option \
  "$files" || status=$?
echo "clang-tidy: ${rooms[*]} in $(( $(date +%s) - start )) s$([ "$status" -eq 0 ] || echo ': FAILED')"
exit "$status"
