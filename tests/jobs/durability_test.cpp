// Durability: a child process enqueues and claims, is killed with SIGKILL mid-stream, and every
// job it was told was enqueued is in the reopened store, its claimed job visible again later.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "queue_fixture.h"

namespace plinth::jobs {
namespace {

// The child: writes "E <id>" once each enqueue has returned and "C <id>" once a claim has, then
// keeps enqueueing until it is killed. Never returns into the test runner.
[[noreturn]] void run_child(const QueueStorage& storage, int out) {
  ManualClock clock(kStartSeconds);
  std::unique_ptr<store::Database> db;
  auto queue = storage.open(clock, {}, db);
  if (!queue) _exit(4);
  auto report = [out](char kind, const std::string& id) {
    std::string line = std::string(1, kind) + " " + id + "\n";
    if (write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
  };
  for (int i = 0;; ++i) {
    auto id = (*queue)->enqueue({"documents", "111111111111", "{\"n\":" + std::to_string(i) + "}"});
    if (!id) _exit(6);
    report('E', *id);
    if (i == 4) {
      auto lease = (*queue)->claim("documents");
      if (!lease || !*lease) _exit(7);
      report('C', (*lease)->job.id);
    }
  }
}

class QueueDurability : public ::testing::TestWithParam<Backend> {};

TEST_P(QueueDurability, JobsSurviveSigkillAndAClaimedJobReappearsAfterItsVisibilityTimeout) {
  QueueStorage storage(GetParam());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    run_child(storage, fds[1]);
  }
  close(fds[1]);

  std::set<std::string> enqueued;
  std::string claimed;
  FILE* in = fdopen(fds[0], "r");
  ASSERT_NE(in, nullptr);
  char line[256];
  while (enqueued.size() < 40 && std::fgets(line, sizeof line, in) != nullptr) {
    std::string text(line);
    if (text.size() < 3 || text.back() != '\n') break;
    std::string id = text.substr(2, text.size() - 3);
    if (text[0] == 'E') {
      enqueued.insert(id);
    } else {
      claimed = id;
    }
  }
  kill(child, SIGKILL);  // while it is still enqueueing
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  std::fclose(in);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  ASSERT_EQ(enqueued.size(), 40u);
  ASSERT_FALSE(claimed.empty());

  ManualClock clock(kStartSeconds);
  std::unique_ptr<store::Database> db;
  auto queue = storage.open(clock, {}, db);
  ASSERT_TRUE(queue) << queue.error().message;
  for (const auto& id : enqueued) {
    auto job = (*queue)->get(id, "111111111111");
    ASSERT_TRUE(job) << "lost job " << id;
    EXPECT_EQ(job->status, id == claimed ? JobStatus::kRunning : JobStatus::kQueued);
  }

  // Within the visibility timeout the claimed job stays hidden; after it, it is received again.
  auto drain = [&] {
    std::set<std::string> seen;
    while (true) {
      auto lease = (*queue)->claim("documents");
      EXPECT_TRUE(lease);
      if (!lease || !*lease) return seen;
      seen.insert((*lease)->job.id);
      if ((*lease)->job.id == claimed) {
        EXPECT_EQ((*lease)->job.receive_count, 2);
      }
    }
  };
  auto before = drain();
  EXPECT_FALSE(before.contains(claimed));
  EXPECT_GE(before.size(), enqueued.size() - 1);
  clock.advance(30s);
  auto after = drain();
  EXPECT_TRUE(after.contains(claimed));
  queue->reset();
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueDurability,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), backend_name);

}  // namespace
}  // namespace plinth::jobs
