// Test-only: puts jobs into a data dir's database for the CLI acceptance test.
// Usage: jobs_fixture DATA_DIR QUEUED DEAD — enqueues QUEUED jobs of queue "documents" and DEAD
// more that it receives and fails until they are dead-lettered; prints each dead job's id.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "plinth/core/clock.h"
#include "plinth/jobs/queue.h"
#include "plinth/store/database.h"

using namespace plinth;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: jobs_fixture DATA_DIR QUEUED DEAD\n");
    return 2;
  }
  int queued = std::atoi(argv[2]), dead = std::atoi(argv[3]);
  auto db = store::Database::open(std::filesystem::path(argv[1]) / "plinth.db");
  jobs::QueueOptions options;
  options.max_receive_count = 1;  // the first retryable failure dead-letters
  auto queue =
      db ? jobs::open_sqlite_queue(**db, *Clock::real(), options) : std::unexpected(db.error());
  if (!queue) {
    std::fprintf(stderr, "jobs_fixture: %s\n", queue.error().message.c_str());
    return 1;
  }
  for (int i = 0; i < queued + dead; ++i) {
    auto id = (*queue)->enqueue({"documents", "111111111111", "{\"n\":" + std::to_string(i) + "}"});
    if (!id) return 1;
  }
  for (int i = 0; i < dead; ++i) {
    auto lease = (*queue)->claim("documents");
    if (!lease || !*lease || !(*queue)->fail(**lease, "parse failed: not a PDF", true)) return 1;
    std::printf("%s\n", (*lease)->job.id.c_str());
  }
  return 0;
}
