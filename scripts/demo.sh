#!/usr/bin/env bash
# The main job on the embedded default: builds crmsync and the bundled
# Dataverse emulator, starts the emulator on a free loopback port, sets up a
# fresh ./demo (config, default mappings, local CRM store with sample data,
# state store) pointing at it, validates everything and authenticates.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCRMSYNC_BUILD_TESTS=ON >/dev/null
cmake --build build-release -j "$(nproc)" --target crmsync dataverse-emulator
crmsync=build-release/daemon/crmsync
emulator_bin=build-release/tests/emulator/dataverse-emulator

# The emulator prints its URL on stdout when ready; read it without polling.
exec 3< <(exec "$emulator_bin" --port 0 --tenant demo-tenant --client-id demo-client --client-secret demo-secret)
emulator_pid=$!
trap 'kill -TERM "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true' EXIT
if ! read -r -t 30 url <&3; then
  echo "demo: the emulator did not start" >&2
  exit 1
fi
echo "demo: Dataverse emulator at $url"

rm -rf demo
"$crmsync" --version
echo demo-secret | "$crmsync" init --dir demo --url "$url" --tenant-id demo-tenant --client-id demo-client \
  --client-secret-stdin --sample-data
export CRMSYNC_CONFIG="$PWD/demo/crmsync.json"
"$crmsync" config check
"$crmsync" mapping validate
"$crmsync" check
"$crmsync" crm contact list
"$crmsync" --help
