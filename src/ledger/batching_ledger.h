// The part of a Ledger that both backends share: record() queues, a writer thread commits the
// queue in batches (one transaction each), flush() and readers wait for what was queued before.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "plinth/ledger/ledger.h"

namespace plinth::ledger {

inline constexpr int64_t kHourMs = 3'600'000;

int64_t floor_hour(int64_t ms);

// A time range split so that whole hours [first_hour, end_hour) read the roll-up and the partial
// hours at either end ([from, first_hour) and [end_hour, to)) read the rows themselves.
struct HourSplit {
  int64_t from, first_hour, end_hour, to;
};
HourSplit split_hours(int64_t from_ms, int64_t to_ms);

// The hourly roll-up has no profile or label columns: these groupings read the rows.
bool reads_rows_only(GroupBy group_by);

// One roll-up row's identity (hour start, model, principal, tag, operation) and its totals.
using HourKey = std::tuple<int64_t, std::string, std::string, std::string, std::string>;
void add_to_hour(std::map<HourKey, UsageTotals>& hours, const UsageRecord& r);

// A series' bucket layout and range checks, shared by both backends.
struct SeriesLayout {
  int64_t width = 0;
  int64_t first_bucket = 0;
  int64_t count = 0;
};
Result<SeriesLayout> series_layout(const SeriesQuery& query);

class BatchingLedger : public Ledger {
 public:
  void record(UsageRecord record) override;
  Status flush() override;

 protected:
  // Derived classes call start() at the end of their constructor and stop() first thing in their
  // destructor (the writer calls write_batch, which uses their members).
  void start();
  void stop();
  // Commits one batch in one transaction (records with a request id already stored are skipped).
  virtual Status write_batch(const std::vector<UsageRecord>& batch) = 0;
  // Blocks until everything enqueued so far is committed (or dropped); returns the held lock.
  std::unique_lock<std::mutex> wait_committed();

 private:
  void write_loop();

  std::mutex mutex_;
  std::condition_variable work_;               // pending_ gained records, or stopping_
  std::condition_variable committed_changed_;  // committed_ advanced
  std::vector<UsageRecord> pending_;           // guarded by mutex_
  uint64_t enqueued_ = 0;                      // guarded by mutex_: records ever queued
  uint64_t committed_ = 0;                     // guarded by mutex_: records written (or dropped)
  std::optional<Error> write_error_;           // guarded by mutex_: last dropped batch's error
  bool stopping_ = false;                      // guarded by mutex_
  std::thread writer_;                         // runs write_loop()
};

}  // namespace plinth::ledger
