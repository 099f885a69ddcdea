// The queue's SQS semantics on each backend: visibility, receipts, retries with backoff,
// dead-lettering and redrive, terminal failure, account scoping and (SQLite) transactions.
#include "plinth/store/database.h"
#include "queue_fixture.h"

namespace plinth::jobs {
namespace {

TEST_P(QueueTest, ClaimsOldestJobOfItsQueueAndMarksItRunning) {
  std::string first = enqueue("{\"n\":1}");
  clock_.advance(1ms);
  std::string second = enqueue("{\"n\":2}");
  enqueue("{}", "111111111111", "other");

  JobLease lease = claim();
  EXPECT_EQ(lease.job.id, first);
  EXPECT_EQ(lease.job.payload, "{\"n\":1}");
  EXPECT_EQ(lease.job.status, JobStatus::kRunning);
  EXPECT_EQ(lease.job.receive_count, 1);
  EXPECT_FALSE(lease.receipt.empty());
  EXPECT_EQ(lease.visible_until_ms, kStartMs + 1 + 30'000);
  EXPECT_EQ(claim().job.id, second);
  EXPECT_TRUE(nothing_to_claim());  // "other" is another queue

  ASSERT_TRUE(queue_->complete(lease, "{\"ok\":true}"));
  auto done = queue_->get(first, "");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, JobStatus::kSucceeded);
  EXPECT_EQ(done->result, "{\"ok\":true}");
  EXPECT_EQ(queue_->depth("documents").value(), 1);  // the second, still running
  EXPECT_EQ(queue_->depth("other").value(), 1);
}

TEST_P(QueueTest, VisibilityExpiryRedeliversWithNewReceiptAndRefusesTheOld) {
  std::string id = enqueue();
  JobLease first = claim();
  clock_.advance(29'999ms);
  EXPECT_TRUE(nothing_to_claim());
  clock_.advance(1ms);
  JobLease second = claim();
  EXPECT_EQ(second.job.id, id);
  EXPECT_EQ(second.job.receive_count, 2);
  EXPECT_NE(second.receipt, first.receipt);

  for (const Status& stale :
       {queue_->extend(first), queue_->complete(first, "x"), queue_->fail(first, "x", true)}) {
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  }
  EXPECT_EQ(status_of(id), JobStatus::kRunning);
  EXPECT_TRUE(queue_->complete(second, "done"));
  EXPECT_EQ(status_of(id), JobStatus::kSucceeded);
  EXPECT_EQ(queue_->complete(second, "again").error().code, ErrorCode::kConflict);
}

TEST_P(QueueTest, ExtendKeepsAJobInvisible) {
  enqueue();
  JobLease lease = claim();
  std::string receipt = lease.receipt;
  clock_.advance(20s);
  ASSERT_TRUE(queue_->extend(lease));
  EXPECT_EQ(lease.visible_until_ms, kStartMs + 50'000);
  EXPECT_EQ(lease.receipt, receipt);
  clock_.advance(20s);  // 40 s after the claim: past the first timeout, within the extended one
  EXPECT_TRUE(nothing_to_claim());
  clock_.advance(10s);
  EXPECT_EQ(claim().job.receive_count, 2);
}

TEST_P(QueueTest, RetryableFailureRequeuesAfterExponentialBackoff) {
  options_.max_receive_count = 6;
  reopen();
  std::string id = enqueue();
  // Backoff 1 s doubled per receive, capped at 4 s: 1, 2, 4, 4.
  for (auto delay : {1000ms, 2000ms, 4000ms, 4000ms}) {
    JobLease lease = claim();
    ASSERT_TRUE(queue_->fail(lease, "upstream timeout", true));
    auto job = queue_->get(id, "");
    ASSERT_TRUE(job);
    EXPECT_EQ(job->status, JobStatus::kQueued);
    EXPECT_EQ(job->error, "upstream timeout");
    clock_.advance(delay - 1ms);
    EXPECT_TRUE(nothing_to_claim()) << "due before " << delay.count() << " ms";
    clock_.advance(1ms);
  }
  EXPECT_EQ(claim().job.receive_count, 5);
}

TEST_P(QueueTest, RetryableFailureOnTheLastReceiveDeadLetters) {
  std::string id = enqueue();
  for (int receive = 1; receive <= 3; ++receive) {
    JobLease lease = claim();
    EXPECT_EQ(lease.job.receive_count, receive);
    ASSERT_TRUE(queue_->fail(lease, "boom " + std::to_string(receive), true));
    clock_.advance(1h);
  }
  EXPECT_EQ(status_of(id), JobStatus::kDead);
  EXPECT_TRUE(nothing_to_claim());
  EXPECT_EQ(queue_->depth("documents").value(), 0);
  auto dead = queue_->list_dead("documents");
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->front().id, id);
  EXPECT_EQ(dead->front().error, "boom 3");
  EXPECT_TRUE(queue_->list_dead("other").value().empty());
}

TEST_P(QueueTest, ClaimDeadLettersAJobWhoseVisibilityExpiredOnItsLastReceive) {
  std::string abandoned = enqueue();
  for (int receive = 1; receive <= 3; ++receive) {
    EXPECT_EQ(claim().job.id, abandoned);  // a worker that crashes every time
    clock_.advance(30s);
  }
  std::string next = enqueue();  // due as the abandoned job becomes visible again, but later
  // The fourth receive would pass max_receive_count 3: dead instead, and the claim moves on.
  JobLease lease = claim();
  EXPECT_EQ(lease.job.id, next);
  auto job = queue_->get(abandoned, "");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->status, JobStatus::kDead);
  EXPECT_EQ(job->receive_count, 3);
  EXPECT_NE(job->error.find("max_receive_count 3"), std::string::npos) << job->error;
}

TEST_P(QueueTest, RedriveMovesOneOrEveryDeadJobBackToQueued) {
  options_.max_receive_count = 1;
  reopen();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(enqueue());
    clock_.advance(1ms);
    ASSERT_TRUE(queue_->fail(claim(), "bad", true));
  }
  ASSERT_EQ(queue_->list_dead("documents").value().size(), 3u);
  EXPECT_EQ(queue_->redrive("documents", "no-such-job").value(), 0);
  EXPECT_EQ(queue_->redrive("other", ids[1]).value(), 0);  // wrong queue

  EXPECT_EQ(queue_->redrive("documents", ids[1]).value(), 1);
  auto job = queue_->get(ids[1], "");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->status, JobStatus::kQueued);
  EXPECT_EQ(job->receive_count, 0);
  EXPECT_EQ(queue_->list_dead("documents").value().size(), 2u);
  EXPECT_EQ(queue_->depth("documents").value(), 1);
  JobLease lease = claim();
  EXPECT_EQ(lease.job.id, ids[1]);
  EXPECT_EQ(lease.job.receive_count, 1);
  EXPECT_TRUE(queue_->complete(lease, ""));

  EXPECT_EQ(queue_->redrive("documents", "").value(), 2);
  EXPECT_TRUE(queue_->list_dead("").value().empty());
  EXPECT_EQ(queue_->depth("documents").value(), 2);
  EXPECT_EQ(queue_->redrive("documents", "").value(), 0);
}

TEST_P(QueueTest, NonRetryableFailureIsTerminal) {
  std::string id = enqueue();
  JobLease lease = claim();
  ASSERT_TRUE(queue_->fail(lease, "schema mismatch", false));
  auto job = queue_->get(id, "");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->status, JobStatus::kFailed);
  EXPECT_EQ(job->error, "schema mismatch");
  clock_.advance(24h);
  EXPECT_TRUE(nothing_to_claim());
  EXPECT_EQ(queue_->redrive("documents", id).value(), 0);  // only dead jobs are redriven
  EXPECT_EQ(queue_->complete(lease, "late").error().code, ErrorCode::kConflict);
  EXPECT_EQ(status_of(id), JobStatus::kFailed);
}

TEST_P(QueueTest, GetAndListAreScopedByAccount) {
  std::string mine = enqueue("{}", "111111111111");
  clock_.advance(1ms);
  std::string theirs = enqueue("{}", "222222222222");
  clock_.advance(1ms);
  std::string mine_later = enqueue("{}", "111111111111");

  EXPECT_TRUE(queue_->get(mine, "111111111111"));
  EXPECT_EQ(queue_->get(theirs, "111111111111").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(queue_->get("no-such-job", "").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(queue_->get(theirs, ""));

  auto listed = queue_->list("111111111111", 10);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, mine_later);  // newest first
  EXPECT_EQ((*listed)[1].id, mine);
  EXPECT_EQ(queue_->list("", 10).value().size(), 3u);
  EXPECT_EQ(queue_->list("", 2).value().size(), 2u);
  EXPECT_EQ(queue_->list("333333333333", 10).value().size(), 0u);
}

TEST_P(QueueTest, ListMatchingFiltersByStatusAndQueue) {
  std::string running = enqueue();
  clock_.advance(1ms);
  std::string queued = enqueue();
  enqueue("{}", "111111111111", "other");
  EXPECT_EQ(claim().job.id, running);

  JobFilter filter;
  filter.status = JobStatus::kQueued;
  filter.queue = "documents";
  auto listed = queue_->list_matching(filter);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, queued);
  filter.queue.clear();
  EXPECT_EQ(queue_->list_matching(filter).value().size(), 2u);
  EXPECT_EQ(parse_job_status("dead").value(), JobStatus::kDead);
  EXPECT_FALSE(parse_job_status("done"));
}

TEST_P(SqliteQueueTest, EnqueueJoinsTheCallersTransaction) {
  {
    auto transaction = store::Transaction::begin(*db_);
    ASSERT_TRUE(transaction);
    enqueue("{\"rolled\":\"back\"}");
    // Destroyed without commit: rolled back together with the caller's own writes.
  }
  EXPECT_TRUE(queue_->list("", 10).value().empty());
  EXPECT_TRUE(nothing_to_claim());

  std::string kept;
  {
    auto transaction = store::Transaction::begin(*db_);
    ASSERT_TRUE(transaction);
    kept = enqueue();
    ASSERT_TRUE(transaction->commit());
  }
  reopen();
  EXPECT_EQ(claim().job.id, kept);
}

TEST_P(QueueTest, JobsSurviveReopeningTheDatabase) {
  std::string id = enqueue("{\"doc\":\"a.pdf\"}");
  reopen();
  auto job = queue_->get(id, "111111111111");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->payload, "{\"doc\":\"a.pdf\"}");
  EXPECT_EQ(job->created_ms, kStartMs);
}

TEST_P(QueueTest, RejectsBadOptionsAndJobsWithoutAQueue) {
  QueueOptions bad;
  bad.max_receive_count = 0;
  std::unique_ptr<store::Database> db;
  EXPECT_EQ(storage_.open(clock_, bad, db).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(queue_->enqueue({"", "111111111111", "{}"}).error().code, ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, SqliteQueueTest, ::testing::Values(Backend::kSqlite),
                         backend_name);

}  // namespace
}  // namespace plinth::jobs
