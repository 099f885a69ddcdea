// plinth bench streams (see bench_streams.h). Each stream counts its output tokens from the
// metadata event's usage and its first token at the first contentBlockDelta.
#include "bench_streams.h"

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "bench_server.h"
#include "bench_stats.h"
#include "plinth/http/event_stream.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct StreamResult {
  bool ok = false;
  double first_token_ms = 0;
  double total_ms = 0;
  int64_t output_tokens = 0;
};

StreamResult run_stream(uint16_t port, const http::Request& request, Clock::time_point start) {
  StreamResult result;
  http::EventStreamDecoder decoder;
  bool failed = false;
  auto on_chunk = [&](std::string_view bytes) {
    decoder.feed(bytes);
    for (;;) {
      auto message = decoder.next();
      if (!message) {
        failed = true;
        return;
      }
      if (!*message) return;
      const std::string* type = (*message)->header(":event-type");
      if (type == nullptr) {
        failed = true;  // an exception message
        return;
      }
      if (*type == "contentBlockDelta" && result.first_token_ms == 0) {
        result.first_token_ms =
            std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      }
      if (*type == "metadata") {
        boost::system::error_code ec;
        auto payload = boost::json::parse((*message)->payload, ec);
        if (!ec && payload.is_object()) {
          if (const auto* usage = payload.as_object().if_contains("usage")) {
            if (const auto* out = usage->as_object().if_contains("outputTokens"))
              result.output_tokens = out->to_number<int64_t>();
          }
        }
      }
    }
  };
  http::Client client("127.0.0.1", port, with_timeout(std::chrono::seconds(600)));
  auto response = client.send(request, on_chunk);
  result.total_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  result.ok = response && response->status == 200 && !failed && result.output_tokens > 0;
  return result;
}

struct RoundResult {
  bool ok = true;
  double aggregate_tokens_per_s = 0;
  double per_stream_tokens_per_s = 0;  // mean over streams of tokens / (end - first token)
  double first_token_p50_ms = 0, first_token_max_ms = 0;
  int64_t tokens = 0;
};

RoundResult run_round(uint16_t port, const http::Request& request, int n) {
  std::vector<StreamResult> results(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i)
    threads.emplace_back(
        [&, i] { results[static_cast<size_t>(i)] = run_stream(port, request, start); });
  for (auto& t : threads) t.join();
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  RoundResult round;
  std::vector<double> first;
  double per_stream = 0;
  for (const auto& r : results) {
    round.ok = round.ok && r.ok;
    round.tokens += r.output_tokens;
    first.push_back(r.first_token_ms);
    const double decode_s = (r.total_ms - r.first_token_ms) / 1000;
    per_stream += decode_s > 0 ? static_cast<double>(r.output_tokens - 1) / decode_s : 0;
  }
  round.aggregate_tokens_per_s = static_cast<double>(round.tokens) / wall_s;
  round.per_stream_tokens_per_s = per_stream / n;
  auto p = bench::percentiles(first);
  round.first_token_p50_ms = p.p50;
  round.first_token_max_ms = p.max;
  return round;
}

}  // namespace

int run_streams_bench(const StreamsBenchOptions& o) {
  const fs::path dir = fs::temp_directory_path() / ("plinth-streams-" + std::to_string(::getpid()));
  auto served = start_plinth_serve(o.model, dir, "");
  if (!served) {
    std::fprintf(stderr, "plinth bench streams: %s\n", served.error().message.c_str());
    return 1;
  }
  // Pinned seeds would make every stream identical; a fresh one per call is the default.
  char body[512];
  std::snprintf(body, sizeof body,
                R"({"messages":[{"role":"user","content":[{"text":"Tell me a long story."}]}],)"
                R"("inferenceConfig":{"maxTokens":%d,"temperature":%.2f}})",
                o.max_tokens, static_cast<double>(o.temperature));
  const http::Request request = signed_post(served->port, "/model/small/converse-stream", body);
  std::printf(
      "plinth bench streams: %s, maxTokens %d, temperature %.2f, %d interleaved rounds (medians), "
      "load average %s\n",
      o.model.c_str(), o.max_tokens, static_cast<double>(o.temperature), o.rounds,
      bench::load_average().c_str());
  std::printf("%8s %14s %18s %14s %14s %10s\n", "streams", "aggregate t/s", "per-stream t/s",
              "TTFT p50 ms", "TTFT max ms", "vs 1");
  run_round(served->port, request, 1);  // warm-up: page in the weights
  // Rounds interleave the stream counts (1, 4, 16, 1, 4, 16, ...): each round's ratio compares
  // N streams with the one stream measured beside it, so a neighbour's load that comes and goes
  // over the run moves both figures of a ratio rather than one. "vs 1" is the median of the
  // rounds' ratios.
  const size_t counts = o.streams.size();
  std::vector<std::vector<RoundResult>> rounds(counts);
  for (int r = 0; r < o.rounds; ++r)
    for (size_t i = 0; i < counts; ++i)
      rounds[i].push_back(run_round(served->port, request, o.streams[i]));
  const auto one_at = std::find(o.streams.begin(), o.streams.end(), 1);
  int status = 0;
  for (size_t i = 0; i < counts; ++i) {
    std::vector<double> ratios;
    if (one_at != o.streams.end()) {
      const auto& ones = rounds[static_cast<size_t>(one_at - o.streams.begin())];
      for (size_t r = 0; r < rounds[i].size(); ++r)
        if (ones[r].aggregate_tokens_per_s > 0)
          ratios.push_back(rounds[i][r].aggregate_tokens_per_s / ones[r].aggregate_tokens_per_s);
    }
    std::sort(ratios.begin(), ratios.end());
    std::vector<RoundResult> sorted = rounds[i];
    std::sort(sorted.begin(), sorted.end(), [](const RoundResult& a, const RoundResult& b) {
      return a.aggregate_tokens_per_s < b.aggregate_tokens_per_s;
    });
    const RoundResult& median = sorted[sorted.size() / 2];
    const bool ok = std::all_of(sorted.begin(), sorted.end(), [](const auto& r) { return r.ok; });
    std::printf("%8d %14.1f %18.1f %14.1f %14.1f %9.2fx%s\n", o.streams[i],
                median.aggregate_tokens_per_s, median.per_stream_tokens_per_s,
                median.first_token_p50_ms, median.first_token_max_ms,
                ratios.empty() ? 0.0 : ratios[ratios.size() / 2], ok ? "" : "  (a stream failed)");
    if (!ok) status = 1;
  }
  stop_plinth_serve(*served);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}

}  // namespace plinth::cli
