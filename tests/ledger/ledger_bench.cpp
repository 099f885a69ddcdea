// Ledger figures (not a test): record() latency on the caller's thread while the writer commits,
// and grouped usage queries over a million rows. Usage: ledger_bench [ROWS] [DIR] [POSTGRES_URL]
// (POSTGRES_URL defaults to $PLINTH_BENCH_PG_URL; with either, the PostgreSQL ledger in that
// database, which should be empty, is measured instead of SQLite in DIR).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "plinth/ledger/ledger.h"
#include "plinth/pg/pool.h"
#include "plinth/store/database.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace plinth;
  int rows = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  std::filesystem::path dir =
      argc > 2 ? argv[2] : std::filesystem::temp_directory_path() / "plinth-ledger-bench";
  const char* pg_url = argc > 3 ? argv[3] : std::getenv("PLINTH_BENCH_PG_URL");
  std::filesystem::remove_all(dir);
  std::unique_ptr<store::Database> db;
  Result<std::unique_ptr<ledger::Ledger>> ledger = fail(ErrorCode::kInternal, "not opened");
  if (pg_url != nullptr && *pg_url != '\0') {
    auto pool = pg::Pool::open({pg_url, 4});
    if (!pool) return std::fprintf(stderr, "%s\n", pool.error().message.c_str()), 1;
    ledger = ledger::open_postgres_ledger(*pool);
    std::printf("PostgreSQL ledger\n");
  } else {
    auto opened = store::Database::open(dir / "plinth.db");
    if (!opened) return std::fprintf(stderr, "%s\n", opened.error().message.c_str()), 1;
    db = std::move(*opened);
    ledger = ledger::open_sqlite_ledger(*db);
    std::printf("SQLite ledger in %s\n", dir.c_str());
  }
  if (!ledger) return std::fprintf(stderr, "%s\n", ledger.error().message.c_str()), 1;

  const char* models[] = {"qwen2-small", "llama-large", "bge-embed", "haiku", "sonnet"};
  const char* operations[] = {"Converse", "ConverseStream", "InvokeModel", "ChatCompletions"};
  const int64_t start_ms = 1'764'028'800'000;  // 2025-11-25
  std::vector<double> record_us;
  record_us.reserve(rows);
  auto insert_start = Clock::now();
  for (int i = 0; i < rows; ++i) {
    ledger::UsageRecord r;
    r.time_ms = start_ms + int64_t{i} * 2'600;  // about 30 days for a million rows
    r.account_id = "000000000000";
    r.principal_arn = "arn:aws:iam::000000000000:user/user-" + std::to_string(i % 50);
    r.application_tag = "app-" + std::to_string(i % 20);
    r.operation = operations[i % 4];
    r.model_requested = models[i % 5];
    r.model_used = models[i % 5];
    r.input_tokens = 100 + i % 900;
    r.output_tokens = 10 + i % 300;
    r.latency_ms = 50;
    r.cost_micro_usd = 1 + i % 1000;
    r.status = "200";
    r.request_id = "00000000-0000-0000-0000-" + std::to_string(1'000'000'000'000 + i);
    auto t = Clock::now();
    (*ledger)->record(std::move(r));
    record_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  double enqueue_ms = ms_since(insert_start);
  if (auto flushed = (*ledger)->flush(); !flushed) return 1;
  double insert_ms = ms_since(insert_start);
  std::sort(record_us.begin(), record_us.end());
  std::printf(
      "rows %d: record() p50 %.2f us, p99 %.2f us; enqueue %.0f ms, durable after %.0f ms "
      "(%.0f rows/s)\n",
      rows, record_us[rows / 2], record_us[rows * 99 / 100], enqueue_ms, insert_ms,
      rows / (insert_ms / 1000));
  for (auto group_by : {ledger::GroupBy::kModel, ledger::GroupBy::kPrincipal, ledger::GroupBy::kTag,
                        ledger::GroupBy::kDay, ledger::GroupBy::kOperation}) {
    for (bool week : {false, true}) {
      ledger::UsageQuery query{group_by};
      if (week) {
        query.from_ms = start_ms + 7 * 86'400'000LL;
        query.to_ms = start_ms + 14 * 86'400'000LL;
      }
      auto t = Clock::now();
      auto report = (*ledger)->query(query);
      if (!report) return std::fprintf(stderr, "%s\n", report.error().message.c_str()), 1;
      std::printf("query group_by=%-9s %-10s %3zu groups, %7lld requests: %.1f ms\n",
                  std::string(ledger::to_string(group_by)).c_str(), week ? "one week" : "all",
                  report->groups.size(), static_cast<long long>(report->total.requests),
                  ms_since(t));
    }
  }
  ledger->reset();
  db.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
