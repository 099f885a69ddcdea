#!/usr/bin/env bash
# Installs the Debian 12 packages Plinth builds and tests with. Idempotent: installs only what is
# missing, and does nothing (not even apt-get update) when everything is present.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libnghttp2-dev libssl-dev
  libsqlite3-dev libpq-dev libpoppler-cpp-dev libhnswlib-dev libvalijson-dev libtomlplusplus-dev
  libcli11-dev libspdlog-dev libgumbo-dev libzip-dev libxml2-dev libgtest-dev libgmock-dev libbenchmark-dev
  sqlite3 openssl curl awscli json-schema-test-suite postgresql-15
  chromium chromium-driver python3-reportlab
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
)
# Node.js and npm run the acceptance tests (the official AWS SDK for JavaScript v3). Keep a
# Node.js that is already installed (the image may ship a newer one than Debian's).
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
