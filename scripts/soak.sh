#!/usr/bin/env bash
# Soak: `crmsync run` for a while with steady changes on both sides, sampling
# the daemon's resident memory, open file descriptors and lag over time, and
# a plot of them. Run by hand (not a test); loopback only.
#
#   scripts/soak.sh [--minutes 10] [--out results/soak] [--build build-release]
#
# The emulator answers at 20 ms per request. Every second one local contact
# is edited (`crmsync crm contact update`) and one Dataverse contact (the
# emulator's admin API); the daemon's passes run every 5 s. Every 5 s the
# script records, from /proc and the daemon's /metrics: seconds since start,
# RSS (KiB), open fds, the largest crmsync_lag_seconds, and SQLite's share of
# the RSS (crmsync_sqlite_memory_bytes, KiB). At the end it checks that each
# side holds the other's last edits, and writes OUT/soak.tsv, OUT/soak.png
# (gnuplot) and OUT/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
out=results/soak
build=build-release
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v gnuplot >/dev/null || { echo "soak: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 2; }

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCRMSYNC_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target crmsync dataverse-emulator >/dev/null
crmsync=$PWD/$build/daemon/crmsync
emulator_bin=$PWD/$build/tests/emulator/dataverse-emulator
client=11111111-2222-3333-4444-555555555555
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/crmsync-soak.XXXXXX")

exec 3< <(exec "$emulator_bin" --port 0 --tenant soak-tenant --client-id "$client" --client-secret soak-secret \
  --latency-ms 20 --config scripts/demo-dataverse.json)
emulator_pid=$!
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  kill -TERM "$emulator_pid" 2>/dev/null || true
  wait "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
read -r -t 30 url <&3 || { echo "soak: the emulator did not start" >&2; exit 1; }

echo soak-secret | "$crmsync" init --dir "$work/c" --url "$url" --tenant-id soak-tenant --client-id "$client" \
  --client-secret-stdin --sample-data >/dev/null
config=$work/c/crmsync.json
status_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The two keys crmsync init writes with their defaults (one per line).
sed -i -e "s|\"status_listen\": \"[^\"]*\"|\"status_listen\": \"127.0.0.1:$status_port\"|" \
  -e 's|"interval_s": [0-9]*|"interval_s": 5|' "$config"
grep -q "127.0.0.1:$status_port" "$config" || { echo "soak: could not set status_listen in $config" >&2; exit 1; }
export CRMSYNC_CONFIG=$config
"$crmsync" --log-level warn sync >/dev/null  # the first pass couples; the soak measures steady state

"$crmsync" --log-level warn run >"$work/run.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$status_port/readyz" >/dev/null 2>&1 && break
  sleep 0.1  # the daemon's endpoint is not up yet; bounded at 10 s
done

mapfile -t locals < <("$crmsync" crm contact list --json | python3 -c 'import json,sys
for r in json.load(sys.stdin):
    if r.get("type") == "person": print(r["no"])')
mapfile -t remotes < <(curl -fsS "$url/_admin/dump/contacts" | python3 -c 'import json,sys
for r in json.load(sys.stdin)["value"]: print(r["contactid"])')
[ ${#locals[@]} -gt 0 ] && [ ${#remotes[@]} -gt 0 ] || { echo "soak: no contacts to edit" >&2; exit 1; }

printf 'seconds\trss_kib\tfds\tlag_s\tsqlite_kib\n' >"$out/soak.tsv"
start=$(date +%s)
end=$((start + minutes * 60))
n=0
last_local=
last_remote=
while [ "$(date +%s)" -lt "$end" ]; do
  n=$((n + 1))
  last_local="+1 555 $n"
  "$crmsync" crm contact update "${locals[$((n % ${#locals[@]}))]}" --phone "$last_local" >/dev/null
  last_local_no=${locals[$((n % ${#locals[@]}))]}
  last_remote="Title $n"
  last_remote_id=${remotes[$((n % ${#remotes[@]}))]}
  curl -fsS -X PATCH "$url/_admin/records/contacts($last_remote_id)" -H 'Content-Type: application/json' \
    -d "{\"jobtitle\": \"$last_remote\"}" >/dev/null
  if [ $((n % 5)) -eq 0 ]; then
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status")
    fds=$(ls "/proc/$daemon_pid/fd" | wc -l)
    metrics=$(curl -fsS "http://127.0.0.1:$status_port/metrics")
    lag=$(awk '/^crmsync_lag_seconds/ {if ($2 > m) m = $2} END {print m + 0}' <<<"$metrics")
    sqlite=$(awk '/^crmsync_sqlite_memory_bytes/ {print int($2 / 1024)}' <<<"$metrics")
    printf '%d\t%s\t%s\t%s\t%s\n' "$(($(date +%s) - start))" "$rss" "$fds" "$lag" "${sqlite:-0}" >>"$out/soak.tsv"
  fi
  sleep 1  # the steady rate of edits is the point
done

sleep 12  # two intervals, so the last edits are synced
kill -TERM "$daemon_pid"
wait "$daemon_pid" && rc=0 || rc=$?
daemon_pid=
local_ok=no
remote_ok=no
curl -fsS "$url/_admin/dump/contacts" | grep -q "\"telephone1\":\"$last_local\"" && local_ok=yes
"$crmsync" crm contact list --json | grep -q "\"$last_remote\"" && remote_ok=yes

gnuplot <<EOF
set terminal png size 1000,700 noenhanced
set output "$out/soak.png"
set multiplot layout 3,1 title "crmsync run, ${minutes} min, one edit per second on each side"
set xlabel "seconds"
set ylabel "KiB"
plot "$out/soak.tsv" using 1:2 skip 1 with lines title "resident memory", \
     "$out/soak.tsv" using 1:5 skip 1 with lines title "of which SQLite"
set ylabel "open fds"
plot "$out/soak.tsv" using 1:3 skip 1 with lines title "file descriptors"
set ylabel "lag (s)"
plot "$out/soak.tsv" using 1:4 skip 1 with lines title "largest crmsync_lag_seconds"
unset multiplot
EOF

awk -F'\t' -v rc="$rc" -v lo="$local_ok" -v ro="$remote_ok" -v n="$n" 'NR == 2 {r0 = $2; f0 = $3; s0 = $5}
  NR > 1 {if ($2 > rmax) rmax = $2; if ($3 > fmax) fmax = $3; if ($4 > lmax) lmax = $4; r1 = $2; f1 = $3; s1 = $5; k++}
  END {printf "samples %d, edits %d per side, daemon exit %s\nRSS KiB first %d last %d max %d\nSQLite KiB first %d last %d\nfds first %d last %d max %d\nlag s max %.1f\nlast local edit in Dataverse: %s; last Dataverse edit locally: %s\n", k, n, rc, r0, r1, rmax, s0, s1, f0, f1, fmax, lmax, lo, ro}' \
  "$out/soak.tsv" | tee "$out/summary.txt"
[ "$rc" -eq 0 ] && [ "$local_ok" = yes ] && [ "$remote_ok" = yes ]
