#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test (unit and acceptance).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# The acceptance tests drive Plinth with the official AWS SDK for JavaScript v3.
if [[ -f tests/acceptance/package-lock.json ]]; then
  (cd tests/acceptance && npm ci --no-audit --no-fund --loglevel=error)
else
  (cd tests/acceptance && npm install --no-audit --no-fund --loglevel=error)
fi
# One throwaway PostgreSQL cluster for every suite that runs against PostgreSQL too; each test
# creates its own database in it. Stopped however the run ends.
pg_state=$(mktemp -d /tmp/plinth-pg-state.XXXXXX)
trap 'env -u PLINTH_TEST_PG_URL scripts/pg-test-cluster.sh stop "$pg_state"; rm -rf "$pg_state"' EXIT
PLINTH_TEST_PG_URL=$(scripts/pg-test-cluster.sh start "$pg_state")
export PLINTH_TEST_PG_URL
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
# Fuzz smoke: the libFuzzer harnesses (clang 14, ASan+UBSan, ./build-fuzz), each for a few
# seconds on its committed corpus. scripts/fuzz.sh runs them longer.
scripts/fuzz.sh "${PLINTH_FUZZ_SMOKE_SECONDS:-10}"
