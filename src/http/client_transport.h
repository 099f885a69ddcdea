// A client-side TCP or TLS connection whose blocking operations honour one deadline.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "plinth/core/result.h"
#include "plinth/http/client.h"

namespace plinth::http::detail {

class ClientTransport {
 public:
  using tcp = boost::asio::ip::tcp;
  using error_code = boost::system::error_code;
  using Deadline = std::chrono::steady_clock::time_point;

  // Resolves, connects and (options.tls) handshakes offering `alpn` ("h2" or "http/1.1").
  Status connect(const std::string& host, uint16_t port, const ClientOptions& options,
                 std::string_view alpn, Deadline deadline);
  bool is_open() const { return socket_ && socket_->lowest_layer().is_open(); }
  void close();
  // The ALPN protocol the server chose ("" without TLS or ALPN).
  std::string negotiated_protocol() const;

  // Runs op(stream, handler) — an asynchronous operation on the plain or TLS stream — until its
  // handler ran or the deadline passed (then the connection is closed: kTimeout).
  template <typename Op>
  Result<size_t> run(Op op, Deadline deadline) {
    std::optional<std::pair<error_code, size_t>> outcome;
    auto handler = [&outcome](const error_code& ec, size_t n) { outcome.emplace(ec, n); };
    if (tls_) {
      op(*tls_, handler);
    } else {
      op(*socket_, handler);
    }
    if (!wait([&outcome] { return outcome.has_value(); }, deadline)) {
      return fail(ErrorCode::kTimeout, "http client: timed out");
    }
    if (outcome->first) return fail(ErrorCode::kIo, "http client: " + outcome->first.message());
    return outcome->second;
  }

  Status write_all(std::string_view bytes, Deadline deadline);
  Result<size_t> read_some(char* buffer, size_t size, Deadline deadline);

 private:
  // Runs the io_context until done() turns true or the deadline passes (then closes).
  bool wait(const std::function<bool()>& done, Deadline deadline);

  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<tcp::socket> socket_;
  std::unique_ptr<boost::asio::ssl::stream<tcp::socket&>> tls_;
};

}  // namespace plinth::http::detail
