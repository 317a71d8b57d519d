#!/usr/bin/env bash
# Model-checks sync/model/crash_safety.pml with spin (sync/model/README.md).
# Usage: check_model.sh MODEL WORKDIR [--all]
#   Each case runs spin -a with its -D knobs, compiles pan, runs an exhaustive
#   safety search, and compares the outcome with the case's expectation:
#     pass     no error of any kind, search complete
#     p1       an assertion of P1 (no record created twice) is violated
#     p2       the end-state assertion of P2 (no change lost) is violated
#     any      some assertion is violated
#   --all adds the rest of the matrix (about a minute more).
# Exit 0 when every case met its expectation, 1 otherwise, 77 (ctest's
# SKIP_RETURN_CODE) when spin or a C compiler is missing.
set -uo pipefail

model=${1:?usage: check_model.sh MODEL WORKDIR [--all]}
work=${2:?usage: check_model.sh MODEL WORKDIR [--all]}
all=${3:-}

if ! command -v spin >/dev/null 2>&1; then
  echo "SKIP: spin is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "SKIP: no C compiler ($cc) to build spin's verifier"
  exit 77
fi

# name | expectation | knobs
cases=(
  "real: no duplicates, both sides edited, record starts locally|pass|-DORIGIN=0 -DEDIT_SIDE=0 -DNO_P2"
  "real: no duplicates, both sides edited, record starts in Dataverse|pass|-DORIGIN=1 -DEDIT_SIDE=0 -DNO_P2"
  "real: no change lost, local edits of a local record|pass|-DORIGIN=0 -DEDIT_SIDE=1"
  "broken: create sent before its intent is recorded|p1|-DORIGIN=0 -DEDIT_SIDE=1 -DBROKEN_SEND_BEFORE_INTENT"
  "broken: cursor committed before the page's writes|any|-DORIGIN=0 -DEDIT_SIDE=1 -DBROKEN_CURSOR_BEFORE_WRITES"
  "fixed in the code: no change lost, Dataverse edits of a local record|pass|-DORIGIN=0 -DEDIT_SIDE=2"
  "defect D1 as the code was: Dataverse edit after a recovered create is lost|p2|-DORIGIN=0 -DEDIT_SIDE=2 -DOLD_INTENT_BASE"
  "fixed in the code: no change lost, local edits of a Dataverse record|pass|-DORIGIN=1 -DEDIT_SIDE=1"
  "defect D2 as the code was: local edit after a repeated local create is lost|p2|-DORIGIN=1 -DEDIT_SIDE=1 -DOLD_LOCAL_CREATE"
  "real: no change lost, both sides edited, record starts locally, no resend|pass|-DORIGIN=0 -DEDIT_SIDE=0 -DRESEND=0"
  "real: no change lost, both sides edited, record starts in Dataverse, no resend|pass|-DORIGIN=1 -DEDIT_SIDE=0 -DRESEND=0"
)
if [ "$all" = "--all" ]; then
  cases+=(
    "real: no duplicates, local edits, record starts locally|pass|-DORIGIN=0 -DEDIT_SIDE=1 -DNO_P2"
    "real: no duplicates, Dataverse edits, record starts locally|pass|-DORIGIN=0 -DEDIT_SIDE=2 -DNO_P2"
    "real: no duplicates, local edits, record starts in Dataverse|pass|-DORIGIN=1 -DEDIT_SIDE=1 -DNO_P2"
    "real: no duplicates, Dataverse edits, record starts in Dataverse|pass|-DORIGIN=1 -DEDIT_SIDE=2 -DNO_P2"
    "defect D2 as the code was: Dataverse edit after a repeated local create is lost|p2|-DORIGIN=1 -DEDIT_SIDE=2 -DOLD_LOCAL_CREATE"
    "fixed in the code: no change lost, Dataverse edits of a Dataverse record|pass|-DORIGIN=1 -DEDIT_SIDE=2"
    "defect D3 as the code was: an edit after a write whose answer was lost is overwritten|p2|-DORIGIN=0 -DEDIT_SIDE=0 -DOLD_WRITE_INTENT"
    "known defect D4: an edit between a resent update and its 412 is overwritten|p2|-DORIGIN=0 -DEDIT_SIDE=0"
    "broken: create sent before its intent, Dataverse edits, P1 only|p1|-DORIGIN=0 -DEDIT_SIDE=2 -DNO_P2 -DBROKEN_SEND_BEFORE_INTENT"
    "broken: cursor before writes, record starts in Dataverse|any|-DORIGIN=1 -DEDIT_SIDE=2 -DBROKEN_CURSOR_BEFORE_WRITES"
  )
fi

mkdir -p "$work"
failures=0
n=0
for c in "${cases[@]}"; do
  IFS='|' read -r name expect knobs <<<"$c"
  n=$((n + 1))
  dir="$work/case$n"
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$model" "$dir/crash_safety.pml"
  # shellcheck disable=SC2086 # the knobs are words
  if ! (cd "$dir" && spin -a $knobs crash_safety.pml >spin.log 2>&1 &&
        "$cc" -O0 -w -DSAFETY -o pan pan.c >cc.log 2>&1); then
    echo "FAIL [$name]: spin -a or the C compiler failed ($dir)"
    cat "$dir/spin.log" "$dir/cc.log" 2>/dev/null | head -20
    failures=$((failures + 1))
    continue
  fi
  start=$(date +%s%N)
  (cd "$dir" && ./pan -m200000 >pan.log 2>&1)
  ms=$((($(date +%s%N) - start) / 1000000))
  secs="$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  log="$dir/pan.log"
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | head -1)
  stored=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$log" | head -1)
  depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$log" | head -1)
  violated=$(grep -m1 'assertion violated' "$log" || true)
  summary="states $stored, depth $depth, ${secs}s; spin -a $knobs"
  got=other
  if [ "$errors" = "0" ] && ! grep -q -e 'max search depth too small' -e 'pan:[0-9]*: invalid end state' \
       -e 'Search not completed' "$log"; then
    got=pass
  elif echo "$violated" | grep -q -e '(ndv<=1)' -e '(nlo<=1)'; then
    got=p1
  elif echo "$violated" | grep -q 'last_val'; then
    got=p2
  elif [ -n "$violated" ]; then
    got=assert
  fi
  ok=no
  case "$expect" in
    pass | p1 | p2) [ "$got" = "$expect" ] && ok=yes ;;
    any) [ "$got" = p1 ] || [ "$got" = p2 ] || [ "$got" = assert ] && ok=yes ;;
  esac
  if [ "$ok" = yes ]; then
    echo "ok   [$name] expected $expect, got $got${violated:+: ${violated#pan:1: }} ($summary)"
  else
    echo "FAIL [$name] expected $expect, got $got${violated:+: ${violated#pan:1: }} ($summary)"
    grep -E 'error|violated|Warning' "$log" | head -5
    if [ -f "$dir/crash_safety.pml.trail" ]; then
      echo "  the trail's events (spin -t $knobs crash_safety.pml in $dir):"
      # shellcheck disable=SC2086
      (cd "$dir" && spin -t $knobs crash_safety.pml 2>/dev/null | grep 'MSC:' | sed 's/^ */    /' | head -40)
    fi
    failures=$((failures + 1))
  fi
done
echo "$((n - failures)) of $n model cases as expected"
[ "$failures" -eq 0 ]
