#!/usr/bin/env bash
# The main job on the embedded default: builds crmsync, initialises a local
# setup in ./demo (config, local CRM store, state store) and shows the verbs.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCRMSYNC_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target crmsync
crmsync=build-release/daemon/crmsync

"$crmsync" --version
"$crmsync" init --dir demo
"$crmsync" --config demo/crmsync.json config check
"$crmsync" --help
