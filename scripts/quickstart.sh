#!/usr/bin/env bash
# README command 1: install what is missing, build, and start Plinth on its embedded defaults
# (SQLite in ./plinth-data, the bundled small models, 127.0.0.1:4000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/plinth serve "$@"
