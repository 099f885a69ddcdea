#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang 14, ASan+UBSan) into ./build-fuzz and runs each one for
# SECONDS (default 600) on its committed corpus. New corpus entries and crash artifacts go to a
# scratch dir (FUZZ_WORK, default build-fuzz/work), never into the repository.
# Usage: scripts/fuzz.sh [seconds-per-harness] [harness-name-regex]
# FUZZ_NO_BUILD=1 skips configure and build, so several runs can share one build-fuzz at once.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-600}
ONLY=${2:-.}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
WORK=${FUZZ_WORK:-$BUILD_DIR/work}
JOBS=${JOBS:-$(nproc)}

if [[ -z ${FUZZ_NO_BUILD:-} ]]; then
  CC=${FUZZ_CC:-clang-14} CXX=${FUZZ_CXX:-clang++-14} cmake -S . -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DPLINTH_FUZZ=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export PLINTH_TEST_DATA_DIR=$PWD/tests/data

failed=()
printf '%-22s %12s %8s %8s %8s %s\n' harness executions cov ft crashes note
for harness in tests/fuzz/*_fuzz.cpp; do
  name=$(basename "$harness" _fuzz.cpp)
  [[ $name =~ $ONLY ]] || continue
  binary=$BUILD_DIR/fuzz/${name}_fuzz
  corpus=tests/fuzz/corpus/$name
  scratch=$WORK/corpus/$name
  artifacts=$WORK/artifacts/$name
  mkdir -p "$scratch" "$artifacts" "$corpus"
  log=$WORK/$name.log
  # The scratch dir comes first: libFuzzer writes new inputs only into the first corpus dir.
  set +e
  "$binary" -max_total_time="$SECONDS_PER" -print_final_stats=1 -timeout=30 -rss_limit_mb=2560 -malloc_limit_mb=1024 \
    -artifact_prefix="$artifacts/" "$scratch" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  # slow-unit-* files only report inputs that took over 10 s (often a busy machine); crash-,
  # leak-, timeout- and oom- artifacts are failures.
  crashes=$(find "$artifacts" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$artifacts" -type f -name 'slow-unit-*' | wc -l)
  note=""
  ((slow > 0)) && note="$slow slow unit(s) in $artifacts"
  if ((rc != 0 || crashes > 0)); then
    note="FAILED (rc $rc): see $log, artifacts in $artifacts"
    failed+=("$name")
  fi
  printf '%-22s %12s %8s %8s %8s %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$note"
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: crashes or errors in: ${failed[*]}" >&2
  exit 1
fi
