// Load the server must survive: HTTP/2 body floods, long-lived streams, over-concurrency.
#include <nghttp2/nghttp2.h>
#include <poll.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "server_test_support.h"

namespace plinth::http {
namespace {

using namespace testing;

// An h2c client that opens `streams` POST streams and sends `per_stream` body bytes on each
// without ever ending them, for `duration`; counts what the server answered.
struct FloodResult {
  int refused = 0;  // 503 responses or RST_STREAM from the server
  int streams_closed = 0;
  size_t bytes_sent = 0;
};

struct Flood {
  size_t per_stream = 0;
  std::vector<size_t> sent;
  FloodResult result;

  static ssize_t provide(nghttp2_session*, int32_t stream_id, uint8_t* buffer, size_t length,
                         uint32_t*, nghttp2_data_source*, void* user_data) {
    auto& self = *static_cast<Flood*>(user_data);
    size_t& sent = self.sent[(stream_id - 1) / 2];
    size_t take = std::min(length, self.per_stream - sent);
    if (take == 0) return NGHTTP2_ERR_DEFERRED;  // no END_STREAM: the body never finishes
    std::memset(buffer, 'x', take);
    sent += take;
    self.result.bytes_sent += take;
    return static_cast<ssize_t>(take);
  }
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t,
                       const uint8_t* value, size_t value_length, uint8_t, void* user_data) {
    auto& self = *static_cast<Flood*>(user_data);
    if (frame->hd.type == NGHTTP2_HEADERS && std::memcmp(name, ":status", 7) == 0 &&
        std::string_view(reinterpret_cast<const char*>(value), value_length) == "503") {
      self.result.refused++;
    }
    return 0;
  }
  static int on_close(nghttp2_session*, int32_t, uint32_t, void* user_data) {
    static_cast<Flood*>(user_data)->result.streams_closed++;
    return 0;
  }
};

FloodResult flood_h2(uint16_t port, int streams, size_t per_stream,
                     std::chrono::milliseconds duration) {
  asio::io_context io;
  tcp::socket socket = connect(io, port);
  Flood flood;
  flood.per_stream = per_stream;
  flood.sent.assign(streams, 0);
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, Flood::on_header);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, Flood::on_close);
  nghttp2_session* session = nullptr;
  nghttp2_session_client_new(&session, callbacks, &flood);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  std::string authority = "127.0.0.1:" + std::to_string(port);
  for (int i = 0; i < streams; ++i) {
    auto nv = [](const char* n, const std::string& v) {
      return nghttp2_nv{(uint8_t*)n, (uint8_t*)v.data(), std::strlen(n), v.size(),
                        NGHTTP2_NV_FLAG_NONE};
    };
    std::string method = "POST", path = "/upload", scheme = "http";
    nghttp2_nv headers[] = {nv(":method", method), nv(":path", path), nv(":scheme", scheme),
                            nv(":authority", authority)};
    nghttp2_data_provider provider{};
    provider.read_callback = Flood::provide;
    nghttp2_submit_request(session, nullptr, headers, 4, &provider, nullptr);
  }
  int fd = socket.native_handle();
  auto deadline = std::chrono::steady_clock::now() + duration;
  std::array<uint8_t, 65536> in{};
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < streams; ++i) nghttp2_session_resume_data(session, 2 * i + 1);
    const uint8_t* out = nullptr;
    ssize_t n;
    bool failed = false;
    while ((n = nghttp2_session_mem_send(session, &out)) > 0) {
      boost::system::error_code ec;
      asio::write(socket, asio::buffer(out, static_cast<size_t>(n)), ec);
      if (ec) failed = true;
      if (failed) break;
    }
    if (failed || n < 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      ssize_t got = ::recv(fd, in.data(), in.size(), 0);
      if (got <= 0) break;
      if (nghttp2_session_mem_recv(session, in.data(), static_cast<size_t>(got)) < 0) break;
    }
  }
  nghttp2_session_del(session);
  return flood.result;
}

TEST(HttpServerLoad, Http2BodyFloodStaysWithinTheBodyBudgets) {
  ServerOptions options;
  options.connection_body_budget = 2 << 20;
  options.total_body_budget = 3 << 20;
  auto server = start_server(
      [](const Request&, Exchange& e) {
        e.respond({200, {}, "ok"});
      },
      options);
  ASSERT_TRUE(server);
  // 100 streams that each want to send 8 MiB (the body limit) and never finish.
  FloodResult flood = flood_h2(server->port(), 100, 8 << 20, 3000ms);
  ServerStats stats = server->stats();
  EXPECT_GT(flood.bytes_sent, size_t{4} << 20);  // the client did push past the budget
  EXPECT_LE(stats.peak_buffered_body_bytes, options.connection_body_budget);
  EXPECT_GT(flood.refused, 0);
  EXPECT_GT(stats.refused_bodies, 0u);
  // Everything buffered is given back once the connection is gone.
  for (int i = 0; i < 50 && server->stats().buffered_body_bytes != 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(server->stats().buffered_body_bytes, 0u);
  server->stop();
}

TEST(HttpServerLoad, Http2StreamsWhoseBodyStallsAreReset) {
  ServerOptions options;
  options.body_rate_grace = 1s;
  options.min_body_bytes_per_second = 240;
  auto server = start_server(
      [](const Request&, Exchange& e) {
        e.respond({200, {}, "ok"});
      },
      options);
  ASSERT_TRUE(server);
  // Four streams send 10 body bytes each, then nothing, never ending: each holds its body
  // budget and a stream slot until the server resets it for its rate (else for 300 s).
  FloodResult flood = flood_h2(server->port(), 4, 10, 3500ms);
  EXPECT_EQ(flood.streams_closed, 4);
  server->stop();
}

TEST(HttpServerLoad, Http2AdvertisesAndEnforcesMaxConcurrentStreams) {
  ServerOptions options;
  options.max_concurrent_streams = 4;
  auto server = start_server(
      [](const Request&, Exchange& e) {
        e.respond({200, {}, "ok"});
      },
      options);
  ASSERT_TRUE(server);
  // Ten unfinished streams: nghttp2 on both sides holds the client to four at a time.
  FloodResult flood = flood_h2(server->port(), 10, 1024, 500ms);
  EXPECT_LE(server->stats().peak_buffered_body_bytes, size_t{4} * 1024);
  (void)flood;
  server->stop();
}

TEST(HttpServerLoad, LongLivedStreamsBeyondWorkerThreadsLeaveRoomForOtherRequests) {
  ServerOptions options;
  options.worker_threads = 2;
  options.long_lived_threads = 3;
  options.classify = classify_for_tests;
  Gate release;
  std::atomic<int> streaming{0};
  auto server = start_server(
      [&](const Request& request, Exchange& exchange) {
        if (request.path().ends_with("/events")) {
          auto stream = exchange.start_stream(200, {{"content-type", "text/event-stream"}});
          stream->write(": open\n\n");
          streaming.fetch_add(1);
          release.wait();
          return;
        }
        exchange.respond({200, {}, "ok"});
      },
      options);
  ASSERT_TRUE(server);
  // More event streams than worker threads, each held open by its handler.
  asio::io_context io;
  std::vector<tcp::socket> streams;
  for (int i = 0; i < 3; ++i) {
    streams.push_back(connect(io, server->port()));
    asio::write(
        streams.back(),
        asio::buffer(std::string_view("GET /v1/jobs/j/events HTTP/1.1\r\nHost: x\r\n\r\n")));
    EXPECT_NE(read_until(streams.back(), ": open"), "");
  }
  EXPECT_EQ(streaming.load(), 3);
  // One more long-lived stream than its pool holds is refused at once.
  auto extra = request("127.0.0.1", server->port(), make_request("GET", "/v1/jobs/k/events"));
  ASSERT_TRUE(extra.has_value()) << extra.error().message;
  EXPECT_EQ(extra->status, 429);
  // Ordinary and control requests still answer.
  auto started = std::chrono::steady_clock::now();
  auto health = get_health(server->port());
  ASSERT_TRUE(health.has_value()) << health.error().message;
  EXPECT_EQ(health->status, 200);
  ClientOptions quick;
  quick.timeout = 2000ms;
  auto normal =
      request("127.0.0.1", server->port(), make_request("POST", "/model/m/converse"), quick);
  ASSERT_TRUE(normal.has_value()) << normal.error().message;
  EXPECT_EQ(normal->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  release.open();
  server->stop();
}

TEST(HttpServerLoad, OverConcurrencyIsShedWith429AtOnceButHealthIsNever) {
  ServerOptions options;
  options.worker_threads = 2;
  options.max_queued_requests = 2;
  options.max_concurrent_requests = 4;
  options.classify = classify_for_tests;
  options.error_response = [](int status, std::string_view message) {
    return Response{status, {{"x-amzn-ErrorType", "ThrottlingException"}}, std::string(message)};
  };
  Gate release;
  std::atomic<int> running{0};
  auto server = start_server(
      [&](const Request& request, Exchange& exchange) {
        if (request.path() != "/health") {
          running.fetch_add(1);
          release.wait();
        }
        exchange.respond({200, {}, "ok"});
      },
      options);
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  // Two run, two wait in the queue.
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, port] {
      auto r = request("127.0.0.1", port, make_request("POST", "/model/m/converse"));
      if (r && r->status == 200) ok.fetch_add(1);
    });
  }
  for (int i = 0; i < 100 && running.load() < 2; ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);  // the other two are queued
  // The fifth is refused at once, in the API's throttling shape, on HTTP/1.1 and HTTP/2.
  auto started = std::chrono::steady_clock::now();
  auto shed = request("127.0.0.1", port, make_request("POST", "/model/m/converse"));
  auto shed_h2 = request_h2("127.0.0.1", port, make_request("POST", "/model/m/converse"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  ASSERT_TRUE(shed.has_value()) << shed.error().message;
  EXPECT_EQ(shed->status, 429);
  ASSERT_NE(shed->header("x-amzn-errortype"), nullptr);
  EXPECT_EQ(*shed->header("x-amzn-errortype"), "ThrottlingException");
  ASSERT_TRUE(shed_h2.has_value()) << shed_h2.error().message;
  EXPECT_EQ(shed_h2->status, 429);
  // /health neither queues behind the model work nor counts against its limits.
  for (int i = 0; i < 20; ++i) {
    auto health_started = std::chrono::steady_clock::now();
    auto health = get_health(port);
    ASSERT_TRUE(health.has_value()) << health.error().message;
    EXPECT_EQ(health->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - health_started, 200ms);
  }
  EXPECT_GE(server->stats().shed_requests, 2u);
  release.open();
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 4);  // the queued ones were served, not dropped
  server->stop();
}

TEST(HttpServerLoad, RequestsThatWaitedPastMaxQueueWaitGet429InsteadOfRunning) {
  ServerOptions options;
  options.worker_threads = 1;
  options.max_queued_requests = 4;
  options.max_queue_wait = 200ms;
  std::atomic<int> ran{0};
  auto server = start_server(
      [&](const Request&, Exchange& exchange) {
        ran.fetch_add(1);
        std::this_thread::sleep_for(600ms);
        exchange.respond({200, {}, "ok"});
      },
      options);
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  std::atomic<int> ok{0}, throttled{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, port] {
      auto r = request("127.0.0.1", port, make_request("POST", "/model/m/converse"));
      if (r && r->status == 200) ok.fetch_add(1);
      if (r && r->status == 429) throttled.fetch_add(1);
    });
    std::this_thread::sleep_for(20ms);
  }
  for (auto& t : clients) t.join();
  // The first runs; the two behind it waited 600 ms > 200 ms and are refused, not run.
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(throttled.load(), 2);
  EXPECT_EQ(ran.load(), 1);
  server->stop();
}

TEST(HttpServerLoad, RequestsExpectedToWaitPastMaxQueueWaitAreRefusedAtOnce) {
  ServerOptions options;
  options.worker_threads = 1;
  options.max_queued_requests = 10;
  options.max_queue_wait = 300ms;
  auto server = start_server(
      [&](const Request&, Exchange& exchange) {
        std::this_thread::sleep_for(200ms);
        exchange.respond({200, {}, "ok"});
      },
      options);
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  // One request teaches the lane that a handler takes about 200 ms.
  ASSERT_EQ(request("127.0.0.1", port, make_request("POST", "/m"))->status, 200);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([port] { request("127.0.0.1", port, make_request("POST", "/m")); });
    std::this_thread::sleep_for(30ms);
  }
  // One runs and one waits (about 200 ms): a third would wait about 400 ms > 300 ms.
  auto started = std::chrono::steady_clock::now();
  auto refused = request("127.0.0.1", port, make_request("POST", "/m"));
  ASSERT_TRUE(refused.has_value()) << refused.error().message;
  EXPECT_EQ(refused->status, 429);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms);
  for (auto& t : clients) t.join();
  server->stop();
}

}  // namespace
}  // namespace plinth::http
