#!/usr/bin/env bash
# Installs the Debian 12 packages crmsync needs to build and test.
# Idempotent: when everything is already installed it says so and touches nothing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libcpprest-dev libboost-dev libssl-dev
  nlohmann-json3-dev libsqlite3-dev libsystemd-dev libcli11-dev libspdlog-dev
  openssl sqlite3 systemd ca-certificates clang-format curl
  # clang-tidy 14; the package also brings run-clang-tidy (scripts/clang-tidy.sh)
  clang-tidy
  # clang++-14 and its runtime libraries, libFuzzer among them (scripts/fuzz.sh)
  clang-14 libclang-rt-14-dev
  # the status endpoint's HTTP server (status/status_server.cpp)
  libmicrohttpd-dev
  # promtool, which checks the status endpoint's /metrics text (tests/status)
  prometheus
  # spin model-checks sync/model/crash_safety.pml (tests/sync/model)
  spin
  # libfaketime moves the wall clock of a crmsync under test (tests/daemon/fault_suite_test)
  faketime
  # jemalloc, crmsync's allocator (daemon/CMakeLists.txt, crmsync_allocator)
  libjemalloc-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The prometheus package is here for its promtool only; on a booted system
# its postinst also enables and starts a Prometheus server on :9090, which a
# build machine does not want.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  "${sudo_cmd[@]}" systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
echo "install-deps: done" >&2
