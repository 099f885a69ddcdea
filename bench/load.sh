#!/usr/bin/env bash
# Load that must hold (issue 10): starts a real `plinth serve` on the fixture model, measures
# Converse capacity closed-loop, then drives it open-loop at 80% and 200% of that capacity and
# prints p50/p99, errors, 429s, /health latency and peak RSS. Arguments go to `plinth bench load`
# (e.g. --duration-seconds 15 --capacity-seconds 5 for a quick check; the default is 60 s).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
binary="${PLINTH_BINARY:-$here/build/plinth}"
exec "$binary" bench load --models-dir "$here/models" "$@"
