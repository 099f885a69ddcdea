// The upstream transport against real loopback servers: retries with backoff on 429/5xx and
// connection errors, none on 4xx or after streamed bytes, timeouts, the breaker, the pool bound.
#include "plinth/upstream/transport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "plinth/http/server.h"

namespace plinth::upstream {
namespace {

// A loopback server answering each request with the next scripted status (then 200s).
class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(std::vector<int> statuses, std::chrono::milliseconds delay = {})
      : statuses_(std::move(statuses)), delay_(delay) {
    http::ServerOptions options;
    options.worker_threads = 16;
    auto server = http::Server::start(options, [this](const http::Request& request,
                                                      http::Exchange& exchange) {
      int status = 200;
      {
        std::lock_guard lock(mutex_);
        if (calls_ < statuses_.size()) status = statuses_[calls_];
        ++calls_;
        targets_.push_back(request.target);
      }
      int now = ++in_flight_;
      int seen = max_in_flight_.load();
      while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
      }
      if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
      --in_flight_;
      if (stream_) {
        auto out = exchange.start_stream(200, {{"content-type", "text/event-stream"}});
        out->write("data: one\n\n");
        std::this_thread::sleep_for(std::chrono::milliseconds(800));  // then stalls
        return;
      }
      http::Response response;
      response.status = status;
      response.body = status == 200
                          ? "ok"
                          : R"({"error":{"message":"scripted )" + std::to_string(status) + R"("}})";
      if (status == 418) response.body.assign((1 << 20) + 1, 'x');  // an oversized error
      exchange.respond(std::move(response));
    });
    EXPECT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }
  ~ScriptedUpstream() { server_->stop(); }

  TransportOptions options(int max_retries = 2) {
    TransportOptions o;
    o.provider_id = "scripted";
    o.endpoint = {.host = "127.0.0.1", .port = server_->port(), .tls = false, .base_path = "/v1"};
    o.timeout = std::chrono::milliseconds(2000);
    o.max_retries = max_retries;
    o.random = Random::seeded(7);
    o.sleep = [this](std::chrono::milliseconds d) {
      std::lock_guard lock(mutex_);
      sleeps_.push_back(d);
    };
    return o;
  }
  size_t calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  std::vector<int> statuses_;
  std::chrono::milliseconds delay_;
  bool stream_ = false;
  std::mutex mutex_;
  size_t calls_ = 0;
  std::vector<std::string> targets_;
  std::vector<std::chrono::milliseconds> sleeps_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::unique_ptr<http::Server> server_;
};

http::Request post(std::string target) {
  http::Request request;
  request.method = "POST";
  request.target = std::move(target);
  request.body = "{}";
  return request;
}

TEST(UpstreamTransport, RetriesOn429And5xxWithJitteredBackoffThenAnswers) {
  ScriptedUpstream upstream({429, 503});
  Transport transport(upstream.options(2));
  auto response = transport.send(post("/chat/completions"));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(upstream.calls(), 3u);
  EXPECT_EQ(upstream.targets_[0], "/v1/chat/completions");
  ASSERT_EQ(upstream.sleeps_.size(), 2u);
  // Full jitter: retry n waits at most min(cap, base * 2^n).
  EXPECT_LE(upstream.sleeps_[0].count(), 100);
  EXPECT_LE(upstream.sleeps_[1].count(), 200);
}

TEST(UpstreamTransport, GivesTheLastStatusBackOnceRetriesAreSpent) {
  ScriptedUpstream upstream({500, 500, 500, 500});
  Transport transport(upstream.options(2));
  auto response = transport.send(post("/x"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(upstream.calls(), 3u);  // the try and two retries
  Error error = status_error("scripted", response->status, "scripted 500");
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
}

TEST(UpstreamTransport, DoesNotRetryAClientError) {
  ScriptedUpstream upstream({400});
  Transport transport(upstream.options(2));
  auto response = transport.send(post("/x"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(upstream.calls(), 1u);
  EXPECT_TRUE(upstream.sleeps_.empty());
}

TEST(UpstreamTransport, AnErrorBodyOverOneMebibyteIsRefusedNotBuffered) {
  ScriptedUpstream upstream({418});
  Transport transport(upstream.options(0));
  auto response = transport.send(post("/x"), [](std::string_view) { return true; });
  ASSERT_FALSE(response) << response->status << " " << response->body.size();
  EXPECT_NE(response.error().message.find("over 1 MiB"), std::string::npos);
}

TEST(UpstreamTransport, StatusErrorsMapToTheCallersErrorTypes) {
  EXPECT_EQ(status_error("p", 429, "slow down").code, ErrorCode::kThrottled);
  EXPECT_EQ(status_error("p", 502, "").code, ErrorCode::kUnavailable);
  EXPECT_EQ(status_error("p", 504, "").code, ErrorCode::kTimeout);
  Error validation = status_error("p", 400, "max_tokens is too large");
  EXPECT_EQ(validation.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(validation.message, "max_tokens is too large");
  Error refused = status_error("p", 401, "bad key");
  EXPECT_EQ(refused.code, ErrorCode::kUnavailable);  // the gateway's credentials, not the caller's
  EXPECT_NE(refused.message.find("refused its credentials"), std::string::npos);
}

TEST(UpstreamTransport, ASlowUpstreamTimesOut) {
  ScriptedUpstream upstream({}, std::chrono::milliseconds(1500));
  TransportOptions options = upstream.options(0);
  options.timeout = std::chrono::milliseconds(300);
  Transport transport(options);
  auto started = std::chrono::steady_clock::now();
  auto response = transport.send(post("/x"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1400));
}

TEST(UpstreamTransport, AnUnreachableUpstreamIsUnavailableAfterRetriesAndOpensTheBreaker) {
  uint16_t dead_port = 0;
  {
    ScriptedUpstream gone({});
    dead_port = gone.server_->port();
  }
  ScriptedUpstream sleeper({});
  TransportOptions options = sleeper.options(1);
  options.endpoint.port = dead_port;
  options.breaker = {.failure_threshold = 2, .open_for = std::chrono::seconds(60)};
  Transport transport(options);
  auto response = transport.send(post("/x"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message.find("scripted"), std::string::npos);
  EXPECT_EQ(sleeper.sleeps_.size(), 1u);
  EXPECT_EQ(transport.breaker().state(), CircuitBreaker::State::kOpen);
  auto refused = transport.send(post("/x"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("circuit open"), std::string::npos);
}

TEST(UpstreamTransport, NeverRetriesOnceStreamedBytesReachedTheCaller) {
  ScriptedUpstream upstream({});
  upstream.stream_ = true;
  TransportOptions options = upstream.options(3);
  options.timeout = std::chrono::milliseconds(300);
  Transport transport(options);
  std::string seen;
  auto response = transport.send(post("/x"), [&](std::string_view bytes) {
    seen.append(bytes);
    return true;
  });
  // The stream stalled past the read timeout after its first event: a timeout, not a retry.
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(upstream.calls(), 1u);
  EXPECT_EQ(seen, "data: one\n\n");
  EXPECT_TRUE(upstream.sleeps_.empty());
}

TEST(UpstreamTransport, KeepsConnectionsAliveAndWithinThePoolBound) {
  ScriptedUpstream upstream({}, std::chrono::milliseconds(20));
  TransportOptions options = upstream.options(0);
  options.max_connections = 3;
  Transport transport(options);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 3; ++j) {
        auto response = transport.send(post("/x"));
        if (response && response->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 36);
  EXPECT_LE(upstream.max_in_flight_.load(), 3);
  EXPECT_LE(transport.open_connections(), 3);
  EXPECT_GE(transport.open_connections(), 1);  // kept alive for the next call
}

TEST(UpstreamEndpoint, ParsesBaseUrls) {
  auto endpoint = parse_endpoint("https://API.example.com/v1/");
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->host, "api.example.com");
  EXPECT_EQ(endpoint->port, 443);
  EXPECT_TRUE(endpoint->tls);
  EXPECT_EQ(endpoint->base_path, "/v1");
  auto local = parse_endpoint("http://[::1]:8080");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->host, "::1");
  EXPECT_EQ(local->port, 8080);
  EXPECT_EQ(local->base_path, "");
  for (std::string_view bad : {"ftp://x", "http://", "http://u@h/", "http://h:0", "http://h:99999",
                               "http://h/v1?x=1", "http://h:12a"}) {
    EXPECT_FALSE(parse_endpoint(bad)) << bad;
  }
}

}  // namespace
}  // namespace plinth::upstream
