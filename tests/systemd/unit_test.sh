#!/usr/bin/env bash
# Checks systemd/crmsync.service and its sysusers/tmpfiles snippets offline:
#   - systemd-analyze verify says nothing (it only warns, exit 0, on unknown
#     keys, so any output is a failure);
#   - systemd-analyze security --offline rates the unit 1.2 or better (1.1 when
#     this was written; the bar for the package is 2.0);
#   - the snippets create the user and the state folder in an empty root;
#   - the example config passes `crmsync config check` and lists the same keys
#     as the config `crmsync init` writes (so a new key reaches it too).
# Usage: unit_test.sh SYSTEMD_SOURCE_DIR CRMSYNC_BINARY
set -euo pipefail
src=$1
binary=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify needs ExecStart's binary to exist: point it at the one just built.
sed "s#^ExecStart=/usr/bin/crmsync #ExecStart=$binary #" "$src/crmsync.service" > "$work/crmsync.service"
grep -q "^ExecStart=$binary " "$work/crmsync.service" || { echo "FAIL: no ExecStart=/usr/bin/crmsync line"; exit 1; }

out=$(systemd-analyze verify --man=no "$work/crmsync.service" 2>&1) || { echo "FAIL: verify: $out"; exit 1; }
if [ -n "$out" ]; then echo "FAIL: verify said: $out"; exit 1; fi
echo "ok: systemd-analyze verify"

# --threshold is the exposure times ten; above it the command fails.
if ! out=$(systemd-analyze security --offline=true --threshold=12 --no-pager "$work/crmsync.service" 2>&1); then
  echo "$out" | grep -E "✗|Overall" || true
  echo "FAIL: exposure above 1.2"
  exit 1
fi
echo "ok: $(echo "$out" | grep Overall)"

mkdir -p "$work/root/etc"
systemd-sysusers --root="$work/root" "$src/crmsync.sysusers" >/dev/null 2>&1
grep -q '^crmsync:x:[0-9]*:[0-9]*:.*:/var/lib/crmsync:/usr/sbin/nologin$' "$work/root/etc/passwd" ||
  { echo "FAIL: sysusers made no crmsync user"; exit 1; }
systemd-tmpfiles --root="$work/root" --create "$src/crmsync.tmpfiles"
[ "$(stat -c %a "$work/root/var/lib/crmsync")" = 750 ] || { echo "FAIL: tmpfiles made no 0750 /var/lib/crmsync"; exit 1; }
echo "ok: sysusers and tmpfiles snippets"

cp "$src/crmsync.json.example" "$work/crmsync.json"
printf 'secret\n' > "$work/client-secret"
chmod 600 "$work/client-secret"
"$binary" --config "$work/crmsync.json" config check >/dev/null
"$binary" init --dir "$work/init" >/dev/null
keys() { grep -o '"[a-z_0-9]*": ' "$1" | tr -d '": '; }
if ! diff <(keys "$work/init/crmsync.json") <(keys "$work/crmsync.json"); then
  echo "FAIL: the example config's keys differ from those of \`crmsync init\` (< init, > example)"
  exit 1
fi
echo "ok: example config"
