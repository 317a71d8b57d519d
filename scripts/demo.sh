#!/usr/bin/env bash
# The main job on the embedded default: builds crmsync and the bundled
# Dataverse emulator, starts the emulator on a free loopback port with a few
# records of its own (scripts/demo-dataverse.json), sets up a fresh ./demo
# (config, default mappings, local CRM store with sample data, state store)
# pointing at it, and runs a real sync both ways: a first pass that couples
# and copies (contacts, interactions as activities, a segment as a marketing
# list with its members, a campaign with that list), an edit on each side, a
# second pass that carries both edits, then the status, the job log and the
# last audit rows.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCRMSYNC_BUILD_TESTS=ON >/dev/null
cmake --build build-release -j "$(nproc)" --target crmsync dataverse-emulator
crmsync=build-release/daemon/crmsync
emulator_bin=build-release/tests/emulator/dataverse-emulator
client=11111111-2222-3333-4444-555555555555  # an Entra client id is a GUID

# The emulator prints its URL on stdout when ready; read it without polling.
exec 3< <(exec "$emulator_bin" --port 0 --tenant demo-tenant --client-id "$client" --client-secret demo-secret \
  --config scripts/demo-dataverse.json)
emulator_pid=$!
trap 'kill -TERM "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true' EXIT
if ! read -r -t 30 url <&3; then
  echo "demo: the emulator did not start" >&2
  exit 1
fi
echo "demo: Dataverse emulator at $url"

step() { printf '\n== %s\n' "$*"; }

rm -rf demo
"$crmsync" --version
echo demo-secret | "$crmsync" init --dir demo --url "$url" --tenant-id demo-tenant --client-id "$client" \
  --client-secret-stdin --sample-data
export CRMSYNC_CONFIG="$PWD/demo/crmsync.json"
"$crmsync" config check
"$crmsync" mapping validate
"$crmsync" check

step "first sync: local sample data and Dataverse's own records, both ways"
"$crmsync" --log-level warn sync
"$crmsync" crm contact list

step "interactions, a segment and a campaign: activities, a marketing list with its members, a campaign with its list"
"$crmsync" crm interaction list
"$crmsync" crm segment members SG000001
"$crmsync" crm campaign list
echo "in Dataverse:"
for set in phonecalls appointments lists listmembers campaigns campaignitems; do
  printf '  %-14s %s\n' "$set" "$(curl -fsS "$url/_admin/dump/$set" | grep -o '"count":[0-9]*')"
done

step "an edit on each side: a phone number locally, a job title in Dataverse"
"$crmsync" crm contact update CT000003 --phone "+44 113 496 0199"
curl -fsS -X PATCH "$url/_admin/records/contacts(c0c00000-0000-4000-8000-000000000001)" \
  -H 'Content-Type: application/json' -d '{"jobtitle": "Head of Purchasing"}' >/dev/null

step "plan: what the next sync will write (changes nothing)"
"$crmsync" --log-level warn plan

step "second sync: each edit reaches the other side"
"$crmsync" --log-level warn sync
"$crmsync" crm contact show CT000003 | grep -i phone || true
curl -fsS "$url/_admin/dump/contacts" | grep -o '"telephone1":"+44 113 496 0199"' | head -1

step "status, job log, audit"
"$crmsync" status
"$crmsync" log --limit 12
"$crmsync" audit verify
echo "last audit rows:"
"$crmsync" audit export --format jsonl | tail -n 4
