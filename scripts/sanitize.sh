#!/usr/bin/env bash
# Sanitizer runs (README "Fuzzing and sanitizers"):
#   scripts/sanitize.sh asan  ASan+UBSan build in ./build-asan, every unit and acceptance test.
#   scripts/sanitize.sh tsan  TSan build in ./build-tsan of the concurrent parts' tests (HTTP
#                             server, gateway server, engine scheduler and thread pool, job queue,
#                             budgets, ledger), each test binary run whole.
# Slow on small machines; JOBS (default nproc) sets build parallelism, CTEST_ARGS extra ctest args.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-}
JOBS=${JOBS:-$(nproc)}
# Tests that exercise threads: the gtest executables built and run under TSan.
TSAN_TARGETS=(plinth_http_server_test api_gateway_server_test api_gateway_budgets_test
              engine_generate_test engine_thread_pool_test jobs_test budgets_test ledger_test)

case "$MODE" in
  asan)
    BUILD_DIR=${BUILD_DIR:-build-asan}
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DPLINTH_SANITIZE=ON >/dev/null
    cmake --build "$BUILD_DIR" -j "$JOBS"
    if [[ ! -d tests/acceptance/node_modules ]]; then
      (cd tests/acceptance && npm ci --no-audit --no-fund --loglevel=error)
    fi
    # Leak checking stays on; UBSan findings fail the test that triggers them.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 1800 ${CTEST_ARGS:-}
    ;;
  tsan)
    BUILD_DIR=${BUILD_DIR:-build-tsan}
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DPLINTH_TSAN=ON >/dev/null
    cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TSAN_TARGETS[@]}"
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:report_signal_unsafe=0}
    export PLINTH_TEST_DATA_DIR=$PWD/tests/data
    failed=()
    for target in "${TSAN_TARGETS[@]}"; do
      binary=$(find "$BUILD_DIR/tests" -type f -name "$target" -perm -u+x | head -1)
      echo "== tsan: $target"
      if ! "$binary" --gtest_brief=1 2>&1 | tee "$BUILD_DIR/$target.tsan.log" | tail -5; then
        failed+=("$target")
      fi
      if grep -q "WARNING: ThreadSanitizer" "$BUILD_DIR/$target.tsan.log"; then
        failed+=("$target (races: $BUILD_DIR/$target.tsan.log)")
      fi
    done
    if ((${#failed[@]} > 0)); then
      printf 'tsan: failed: %s\n' "${failed[@]}" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac
