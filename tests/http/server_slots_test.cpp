// The server stays up against hostile HTTP/1.1 input and peers that hold connection slots.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "server_test_support.h"

namespace plinth::http {
namespace {

using namespace testing;

void ok_handler(const Request&, Exchange& exchange) { exchange.respond({200, {}, "ok"}); }

TEST(HttpServerSlots, HugeChunkedTrailerFieldIsRefusedAndTheServerStaysUp) {
  auto server = start_server(ok_handler);
  ASSERT_TRUE(server);
  // Beast throws "field value too large" for a field value of 64 KiB; the throw used to leave
  // the I/O thread and end the process.
  std::string request =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nX-Trailer: " +
      std::string(70000, 'a') + "\r\n\r\n";
  asio::io_context io;
  tcp::socket socket = connect(io, server->port());
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(request), ec);
  std::string reply = read_until(socket, "\r\n\r\n");
  socket.close();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 431") || reply.starts_with("HTTP/1.1 400") ||
              reply.empty())
      << reply.substr(0, 80);
  auto health = get_health(server->port());
  ASSERT_TRUE(health.has_value()) << health.error().message;
  EXPECT_EQ(health->status, 200);
  server->stop();
}

TEST(HttpServerSlots, ManyHugeHeaderAndTrailerVariantsNeverEscapeTheIoThread) {
  auto server = start_server(ok_handler);
  ASSERT_TRUE(server);
  std::string big(66000, 'b');
  std::vector<std::string> requests = {
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + big + ": v\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + big + big +
          "\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX: " + big + "\r\n\r\n",
  };
  for (const std::string& bytes : requests) {
    asio::io_context io;
    tcp::socket socket = connect(io, server->port());
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(bytes), ec);
    read_until(socket, "\r\n\r\n");
  }
  auto health = get_health(server->port());
  ASSERT_TRUE(health.has_value()) << health.error().message;
  EXPECT_EQ(health->status, 200);
  server->stop();
}

TEST(HttpServerSlots, IdleConnectionsAtTheCapGiveWayToANewOne) {
  ServerOptions options;
  options.max_connections = 8;
  auto server = start_server(ok_handler, options);
  ASSERT_TRUE(server);
  asio::io_context io;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(connect(io, server->port()));
  std::this_thread::sleep_for(200ms);  // all accepted: the cap is reached
  auto started = std::chrono::steady_clock::now();
  auto health = get_health(server->port());
  ASSERT_TRUE(health.has_value()) << health.error().message;
  EXPECT_EQ(health->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_GE(server->stats().evicted_connections, 1u);
  server->stop();
}

// Eight peers that each send `at_once`, then `trickled` and 'a's one byte every 200 ms, for up
// to 8 s, while /health is polled. The server must free their slots: how long /health took to
// answer (nullopt: never), and how many peers the server closed.
struct TrickleOutcome {
  std::optional<std::chrono::steady_clock::duration> health_answered_after;
  int closed_by_server = 0;
};

TrickleOutcome trickle_from_eight_peers(uint16_t port, const std::string& at_once,
                                        const std::string& trickled) {
  std::atomic<int> closed_by_server{0};
  std::vector<std::thread> peers;
  auto give_up = std::chrono::steady_clock::now() + 8s;
  for (int i = 0; i < 8; ++i) {
    peers.emplace_back([&, port] {
      asio::io_context io;
      tcp::socket socket = connect(io, port);
      boost::system::error_code ec;
      if (!at_once.empty()) asio::write(socket, asio::buffer(at_once), ec);
      for (size_t k = 0; !ec && std::chrono::steady_clock::now() < give_up; ++k) {
        char byte = k < trickled.size() ? trickled[k] : 'a';
        asio::write(socket, asio::buffer(&byte, 1), ec);
        std::this_thread::sleep_for(200ms);
      }
      if (ec) closed_by_server.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(300ms);  // the slots are taken
  TrickleOutcome outcome;
  auto started = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - started < 8s) {
    auto health = get_health(port, 500ms);
    if (health && health->status == 200) {
      outcome.health_answered_after = std::chrono::steady_clock::now() - started;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  for (auto& t : peers) t.join();
  outcome.closed_by_server = closed_by_server.load();
  return outcome;
}

TEST(HttpServerSlots, SlowHeaderSendersLoseTheirSlotsAfterTheHeaderTimeout) {
  ServerOptions options;
  options.max_connections = 8;
  options.header_timeout = 1s;
  options.idle_timeout = 60s;
  auto server = start_server(ok_handler, options);
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  // Eight slow-loris peers: one header byte every 200 ms, never finishing. Each trickle resets
  // an activity timer, so only a deadline from the first byte frees the slot.
  TrickleOutcome outcome =
      trickle_from_eight_peers(port, "", "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  ASSERT_TRUE(outcome.health_answered_after.has_value());
  EXPECT_LT(*outcome.health_answered_after, 3s);  // header timeout (1 s) + a timer tick
  EXPECT_EQ(outcome.closed_by_server, 8);
  server->stop();
}

TEST(HttpServerSlots, SlowBodySendersLoseTheirSlotsBelowTheMinimumBodyRate) {
  ServerOptions options;
  options.max_connections = 8;
  options.header_timeout = 1s;
  options.body_rate_grace = 1s;
  options.min_body_bytes_per_second = 240;
  options.idle_timeout = 60s;
  auto server = start_server(ok_handler, options);
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  // Complete headers at once, then the body one byte every 200 ms (5 B/s): the header deadline
  // is met, the connection is not idle, so only the body's rate can free the slot (before, only
  // the 300 s request timeout did).
  TrickleOutcome outcome = trickle_from_eight_peers(
      port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", "");
  ASSERT_TRUE(outcome.health_answered_after.has_value());
  // Grace (1 s) + a timer tick, with room for a slow machine.
  EXPECT_LT(*outcome.health_answered_after, 4s);
  EXPECT_EQ(outcome.closed_by_server, 8);
  server->stop();
}

TEST(HttpServerSlots, BodyAtAnOrdinaryRateIsNotCutOff) {
  ServerOptions options;
  options.body_rate_grace = 1s;
  options.min_body_bytes_per_second = 240;
  auto server = start_server(ok_handler, options);
  ASSERT_TRUE(server);
  asio::io_context io;
  tcp::socket socket = connect(io, server->port());
  // 2,000 bytes over 2.5 s (800 B/s, gaps of 250 ms): above the minimum, so it is answered.
  std::string header = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n";
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(header), ec);
  for (int i = 0; i < 10 && !ec; ++i) {
    std::this_thread::sleep_for(250ms);
    asio::write(socket, asio::buffer(std::string(200, 'b')), ec);
  }
  ASSERT_FALSE(ec) << ec.message();
  std::string reply = read_until(socket, "\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply.substr(0, 80);
  server->stop();
}

TEST(HttpServerSlots, ConnectionIdleBetweenRequestsIsClosedAfterTheIdleTimeout) {
  ServerOptions options;
  options.idle_timeout = 1s;
  auto server = start_server(ok_handler, options);
  ASSERT_TRUE(server);
  asio::io_context io;
  tcp::socket socket = connect(io, server->port());
  std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(socket, asio::buffer(get));
  std::string first = read_until(socket, "ok");
  ASSERT_TRUE(first.starts_with("HTTP/1.1 200")) << first;
  auto started = std::chrono::steady_clock::now();
  std::string rest = read_until(socket, "", 5000ms);  // EOF when the server closes
  EXPECT_EQ(rest, "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  server->stop();
}

TEST(HttpServerSlots, BodiesBeyondTheServerBudgetGet503AndNeverExceedIt) {
  ServerOptions options;
  options.total_body_budget = 256 << 10;
  auto server = start_server(ok_handler, options);
  ASSERT_TRUE(server);
  // Four peers each declare 100 KiB and send only part of it: the budget covers two.
  asio::io_context io;
  std::vector<tcp::socket> peers;
  std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 102400\r\n\r\n";
  for (int i = 0; i < 4; ++i) {
    peers.push_back(connect(io, server->port()));
    asio::write(peers.back(), asio::buffer(head + std::string(1000, 'x')));
    std::this_thread::sleep_for(50ms);
  }
  int refused = 0;
  for (size_t i = 2; i < peers.size(); ++i) {
    std::string reply = read_until(peers[i], "\r\n\r\n", 2000ms);
    if (reply.starts_with("HTTP/1.1 503")) ++refused;
  }
  EXPECT_EQ(refused, 2);
  EXPECT_LE(server->stats().peak_buffered_body_bytes, options.total_body_budget);
  // The two admitted bodies complete normally.
  asio::write(peers[0], asio::buffer(std::string(102400 - 1000, 'x')));
  EXPECT_TRUE(read_until(peers[0], "ok").starts_with("HTTP/1.1 200"));
  for (auto& peer : peers) peer.close();
  server->stop();
}

}  // namespace
}  // namespace plinth::http
