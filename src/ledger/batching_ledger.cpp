// The batching writer both ledgers share, and the hour and series arithmetic of their queries.
#include "batching_ledger.h"

#include <limits>

#include "plinth/core/log.h"

namespace plinth::ledger {
namespace {

constexpr int kWriteAttempts = 3;

int64_t ceil_hour(int64_t ms) {
  int64_t floor = floor_hour(ms);
  return floor == ms || floor > std::numeric_limits<int64_t>::max() - kHourMs ? floor
                                                                              : floor + kHourMs;
}

}  // namespace

int64_t floor_hour(int64_t ms) {
  return ms >= 0 ? ms / kHourMs * kHourMs : -((-ms + kHourMs - 1) / kHourMs) * kHourMs;
}

HourSplit split_hours(int64_t from_ms, int64_t to_ms) {
  int64_t to = std::max(to_ms, from_ms);
  int64_t first_hour = std::min(ceil_hour(from_ms), to);
  return {from_ms, first_hour, std::max(floor_hour(to), first_hour), to};
}

bool reads_rows_only(GroupBy group_by) {
  return group_by == GroupBy::kProfile || group_by == GroupBy::kProfileTag ||
         group_by == GroupBy::kMetadata;
}

void add_to_hour(std::map<HourKey, UsageTotals>& hours, const UsageRecord& r) {
  UsageTotals& t = hours[HourKey(floor_hour(r.time_ms), r.model_used, r.principal_arn,
                                 r.application_tag, r.operation)];
  ++t.requests;
  t.input_tokens += r.input_tokens;
  t.output_tokens += r.output_tokens;
  t.cost_micro_usd += r.cost_micro_usd;
  t.escalations += r.escalated ? 1 : 0;
}

Result<SeriesLayout> series_layout(const SeriesQuery& query) {
  SeriesLayout layout;
  layout.width = bucket_ms(query.bucket);
  if (query.from_ms < 0 || query.to_ms <= query.from_ms) {
    return fail(ErrorCode::kInvalidArgument, "A series needs 0 <= from < to.");
  }
  if (reads_rows_only(query.by)) {
    return fail(ErrorCode::kInvalidArgument,
                "A series groups by model, principal, tag, day or operation; use /v1/usage "
                "for profile, tag:KEY and metadata:KEY.");
  }
  // Buckets start on whole UTC hours or days, so every bucket edge is also an hour edge.
  layout.first_bucket = query.from_ms / layout.width * layout.width;
  const int64_t span = query.to_ms - layout.first_bucket;
  layout.count = span / layout.width + (span % layout.width != 0 ? 1 : 0);
  if (layout.count > kMaxSeriesBuckets) {
    return fail(ErrorCode::kInvalidArgument,
                "The range spans " + std::to_string(layout.count) + " " +
                    std::string(to_string(query.bucket)) + " buckets; at most " +
                    std::to_string(kMaxSeriesBuckets) + " are allowed.");
  }
  return layout;
}

void BatchingLedger::start() {
  writer_ = std::thread([this] { write_loop(); });
}

void BatchingLedger::stop() {
  if (!writer_.joinable()) return;
  if (auto flushed = flush(); !flushed) {
    log::error("ledger: records lost at shutdown: {}", flushed.error().message);
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_one();
  writer_.join();
}

void BatchingLedger::record(UsageRecord record) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(record));
    ++enqueued_;
  }
  work_.notify_one();
}

Status BatchingLedger::flush() {
  std::unique_lock lock = wait_committed();
  if (write_error_) {
    Error error = *write_error_;
    write_error_.reset();
    return std::unexpected(error);
  }
  return ok();
}

std::unique_lock<std::mutex> BatchingLedger::wait_committed() {
  std::unique_lock lock(mutex_);
  uint64_t target = enqueued_;
  committed_changed_.wait(lock, [&] { return committed_ >= target; });
  return lock;
}

// Writer thread: takes everything queued, commits it in one transaction, repeats. Records that
// arrive during a commit form the next batch, so batches grow with the load.
void BatchingLedger::write_loop() {
  std::vector<UsageRecord> batch;
  while (true) {
    uint64_t target = 0;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, nothing left
      batch.swap(pending_);
      target = enqueued_;
    }
    Status written = ok();
    for (int attempt = 1; attempt <= kWriteAttempts; ++attempt) {
      written = write_batch(batch);
      if (written) break;
      log::warn("ledger: write of {} record(s) failed (attempt {}): {}", batch.size(), attempt,
                written.error().message);
      std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
    }
    if (!written) {
      log::error("ledger: dropped {} record(s): {}", batch.size(), written.error().message);
    }
    batch.clear();
    {
      std::lock_guard lock(mutex_);
      committed_ = target;
      if (!written) write_error_ = written.error();
    }
    committed_changed_.notify_all();
  }
}

}  // namespace plinth::ledger
