#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang-14 in build-fuzz and
# runs them, all at once, each on a copy of its seed corpus with its
# dictionary. Fails when any target crashes, leaks, trips a sanitizer, times
# out on one input or runs out of memory; the input that did it is kept in
# build-fuzz/fuzz-runs/TARGET/ and named in the output.
#
# Usage: scripts/fuzz.sh [--seconds N] [--runs N] [TARGET]...
#   --seconds N   how long the targets run (side by side), default 15 (0: no time bound, then give --runs)
#   --runs N      executions per target, default unbounded
#   TARGET        only these targets (default: every tests/fuzz/*_fuzz.cpp)
# A crashing input is a bug: fix it, add a regression unit test named after
# the defect, and copy the input into tests/fuzz/corpus/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=15
runs=-1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ "$seconds" = 0 ] && [ "$runs" = -1 ]; then
  echo "fuzz.sh: --seconds 0 needs --runs N, or a target would run forever" >&2
  exit 2
fi
if [ "${#targets[@]}" -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

build_dir=build-fuzz
start=$(date +%s)
# Debug keeps assertions on; -O1 is libFuzzer's usual speed/debuggability trade.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCRMSYNC_FUZZ=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"
built=$(date +%s)

# abort_on_error: a sanitizer report ends the run as a crash libFuzzer records.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Every target at once: the bound is wall time, so on a small machine they
# share the cores and the step takes --seconds, not --seconds per target.
for t in "${targets[@]}"; do
  work="$root/$build_dir/fuzz-runs/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp "tests/fuzz/corpus/$t/"* "$work/corpus/"
  dict=()
  if [ -f "tests/fuzz/$t.dict" ]; then dict=(-dict="tests/fuzz/$t.dict"); fi
  # -timeout: one input taking longer than 10 s is a hang; -rss_limit_mb: a
  # parser must not need 2 GB for a few kB of input.
  (
    rc=0
    "$build_dir/tests/fuzz/$t" "${dict[@]}" -max_total_time="$seconds" -runs="$runs" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
    echo "$rc" >"$work/rc"
  ) &
done
wait

failed=()
printf '%-22s %12s %8s %7s %7s %8s  %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
  work="$root/$build_dir/fuzz-runs/$t"
  rc=$(cat "$work/rc")
  last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  result=ok
  if [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc) $(ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | head -n 1 || true)"
    failed+=("$t")
  fi
  printf '%-22s %12s %8s %7s %7s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$result"
  if [ "$rc" -ne 0 ]; then
    report='^==[0-9]+== ?ERROR|runtime error|ERROR: libFuzzer'
    if grep -q -E "$report" "$work/log"; then
      grep -E -B 3 -A 30 "$report" "$work/log" | head -n 60 >&2
    else
      tail -n 40 "$work/log" >&2
    fi
  fi
done

echo "fuzz: ${#targets[@]} targets, build $(( built - start )) s, runs $(( $(date +%s) - built )) s$([ "${#failed[@]}" -eq 0 ] || echo ": FAILED ${failed[*]}")"
[ "${#failed[@]}" -eq 0 ]
