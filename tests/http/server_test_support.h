// Helpers shared by the server's availability tests: a started server and raw loopback sockets.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>

#include "plinth/http/client.h"
#include "plinth/http/server.h"

namespace plinth::http::testing {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline std::unique_ptr<Server> start_server(Handler handler, ServerOptions options = {}) {
  auto server = Server::start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.has_value()) << (server ? "" : server.error().message);
  return server ? std::move(*server) : nullptr;
}

// A gate handlers wait on, with a timeout so that a bug fails instead of hanging.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = 10000ms) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

inline Request make_request(std::string method, std::string target, std::string body = {}) {
  Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  return request;
}

inline tcp::socket connect(asio::io_context& io, uint16_t port) {
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  return socket;
}

// Reads until the peer closes, `until` appears or `timeout` passes (the socket is then closed).
inline std::string read_until(tcp::socket& socket, std::string_view until,
                              std::chrono::milliseconds timeout = 5000ms) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string received;
  std::array<char, 4096> chunk;
  while (true) {
    ssize_t n = ::recv(socket.native_handle(), chunk.data(), chunk.size(), 0);
    if (n <= 0) break;
    received.append(chunk.data(), static_cast<size_t>(n));
    if (!until.empty() && received.find(until) != std::string::npos) break;
  }
  return received;
}

// GET /health on a fresh HTTP/1.1 connection.
inline Result<Response> get_health(uint16_t port, std::chrono::milliseconds timeout = 2000ms) {
  ClientOptions options;
  options.timeout = timeout;
  return request("127.0.0.1", port, make_request("GET", "/health"), options);
}

// Control for /health, long-lived for paths ending in /events, ordinary for the rest.
inline RequestClass classify_for_tests(const Request& request) {
  std::string_view path = request.path();
  if (path == "/health") return RequestClass::kControl;
  if (path.ends_with("/events")) return RequestClass::kLongLived;
  return RequestClass::kOrdinary;
}

}  // namespace plinth::http::testing
