// Client connections: resolve, connect, TLS with SNI/ALPN/verification, deadline-bound I/O.
#include "client_transport.h"

#include <openssl/ssl.h>

namespace plinth::http::detail {

namespace asio = boost::asio;

bool ClientTransport::wait(const std::function<bool()>& done, Deadline deadline) {
  io_.restart();
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline || io_.stopped()) break;
    io_.run_one_until(deadline);
  }
  if (done()) return true;
  close();  // completes the pending operation with operation_aborted
  io_.restart();
  io_.run();
  return false;
}

Status ClientTransport::connect(const std::string& host, uint16_t port,
                                const ClientOptions& options, std::string_view alpn,
                                Deadline deadline) {
  close();
  tls_.reset();
  socket_ = std::make_unique<tcp::socket>(io_);
  error_code ec;
  tcp::resolver resolver(io_);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return fail(ErrorCode::kIo, "http client: cannot resolve " + host + ": " + ec.message());
  std::optional<error_code> connected;
  asio::async_connect(*socket_, endpoints,
                      [&connected](const error_code& e, const tcp::endpoint&) { connected = e; });
  if (!wait([&connected] { return connected.has_value(); }, deadline)) {
    return fail(ErrorCode::kTimeout, "http client: connect timed out");
  }
  if (*connected) {
    return fail(ErrorCode::kIo, "http client: cannot connect to " + host + ":" +
                                    std::to_string(port) + ": " + connected->message());
  }
  socket_->set_option(tcp::no_delay(true), ec);
  if (!options.tls) return ok();

  tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  if (options.verify_peer) {
    tls_context_->set_verify_mode(asio::ssl::verify_peer);
    if (!options.ca_file.empty()) {
      tls_context_->load_verify_file(options.ca_file, ec);
    } else {
      tls_context_->set_default_verify_paths(ec);
    }
    if (ec) return fail(ErrorCode::kInvalidArgument, "http client: CA file: " + ec.message());
  } else {
    tls_context_->set_verify_mode(asio::ssl::verify_none);
  }
  std::string alpn_wire;
  alpn_wire.push_back(static_cast<char>(alpn.size()));
  alpn_wire.append(alpn);
  SSL_CTX_set_alpn_protos(tls_context_->native_handle(),
                          reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                          static_cast<unsigned>(alpn_wire.size()));
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(*socket_, *tls_context_);
  std::string name = options.server_name.empty() ? host : options.server_name;
  SSL_set_tlsext_host_name(tls_->native_handle(), name.c_str());
  if (options.verify_peer) tls_->set_verify_callback(asio::ssl::host_name_verification(name));
  std::optional<error_code> shaken;
  tls_->async_handshake(asio::ssl::stream_base::client,
                        [&shaken](const error_code& e) { shaken = e; });
  if (!wait([&shaken] { return shaken.has_value(); }, deadline)) {
    return fail(ErrorCode::kTimeout, "http client: TLS handshake timed out");
  }
  if (*shaken) return fail(ErrorCode::kIo, "http client: TLS handshake: " + shaken->message());
  return ok();
}

void ClientTransport::close() {
  if (socket_) {
    error_code ec;
    socket_->close(ec);
  }
}

std::string ClientTransport::negotiated_protocol() const {
  if (!tls_) return "";
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(tls_->native_handle(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

Status ClientTransport::write_all(std::string_view bytes, Deadline deadline) {
  auto written = run(
      [bytes](auto& stream, auto handler) {
        asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()), handler);
      },
      deadline);
  if (!written) return std::unexpected(written.error());
  return ok();
}

Result<size_t> ClientTransport::read_some(char* buffer, size_t size, Deadline deadline) {
  return run(
      [buffer, size](auto& stream, auto handler) {
        stream.async_read_some(asio::buffer(buffer, size), handler);
      },
      deadline);
}

}  // namespace plinth::http::detail
