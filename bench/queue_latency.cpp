// Enqueue → claim latency: each job is enqueued, claimed and completed before the next.
#include "queue_latency.h"

#include <chrono>
#include <string>

namespace plinth::bench {
namespace {

using Steady = std::chrono::steady_clock;

double micros(Steady::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

Result<QueueLatency> measure_queue_latency(jobs::Queue& queue, int jobs,
                                           std::string_view queue_name) {
  // A payload of the documents queue's size.
  const std::string payload = R"({"documentId":"doc-0123456789abcdef","pipeline":"invoices"})";
  QueueLatency out;
  for (int i = 0; i < jobs; ++i) {
    auto start = Steady::now();
    auto id = queue.enqueue({std::string(queue_name), "111111111111", payload});
    if (!id) return std::unexpected(id.error());
    auto enqueued = Steady::now();
    auto lease = queue.claim(queue_name);
    if (!lease) return std::unexpected(lease.error());
    auto claimed = Steady::now();
    if (!*lease || (*lease)->job.id != *id) {
      return fail(ErrorCode::kInternal, "the claim returned another job than the one enqueued");
    }
    out.enqueue_us.push_back(micros(enqueued - start));
    out.claim_us.push_back(micros(claimed - enqueued));
    out.total_us.push_back(micros(claimed - start));
    if (auto done = queue.complete(**lease, "{}"); !done) return std::unexpected(done.error());
  }
  return out;
}

}  // namespace plinth::bench
