// Plain TCP and TLS byte transports behind one interface.
#include "server_internal.h"

namespace plinth::http::detail {
namespace {

std::string endpoint_text(const tcp::socket& socket) {
  error_code ec;
  tcp::endpoint endpoint = socket.remote_endpoint(ec);
  if (ec) return "";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

class SocketSlot {
 public:
  explicit SocketSlot(std::atomic<int>* open_sockets) : open_sockets_(open_sockets) {}
  ~SocketSlot() {
    if (open_sockets_) open_sockets_->fetch_sub(1);
  }
  SocketSlot(const SocketSlot&) = delete;
  SocketSlot& operator=(const SocketSlot&) = delete;

 private:
  std::atomic<int>* open_sockets_;
};

class PlainTransport final : public Transport {
 public:
  PlainTransport(tcp::socket socket, std::atomic<int>* open_sockets)
      : socket_(std::move(socket)), slot_(open_sockets), remote_(endpoint_text(socket_)) {
    error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
  }
  void async_read_some(asio::mutable_buffer buffer, IoHandler handler) override {
    socket_.async_read_some(buffer, std::move(handler));
  }
  void async_write(std::vector<asio::const_buffer> buffers, IoHandler handler) override {
    asio::async_write(socket_, buffers, std::move(handler));
  }
  void shutdown_send() override {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
  }
  void close() override {
    error_code ec;
    socket_.close(ec);
  }
  bool secure() const override { return false; }
  std::string remote_address() const override { return remote_; }
  asio::any_io_executor executor() override { return socket_.get_executor(); }

 private:
  tcp::socket socket_;
  SocketSlot slot_;
  std::string remote_;
};

class TlsTransport final : public Transport {
 public:
  TlsTransport(std::unique_ptr<asio::ssl::stream<tcp::socket>> stream,
               std::atomic<int>* open_sockets)
      : stream_(std::move(stream)),
        slot_(open_sockets),
        remote_(endpoint_text(stream_->next_layer())) {
    error_code ec;
    stream_->next_layer().set_option(tcp::no_delay(true), ec);
  }
  void async_read_some(asio::mutable_buffer buffer, IoHandler handler) override {
    stream_->async_read_some(buffer, std::move(handler));
  }
  void async_write(std::vector<asio::const_buffer> buffers, IoHandler handler) override {
    asio::async_write(*stream_, buffers, std::move(handler));
  }
  void shutdown_send() override {
    // A TLS close_notify needs a write that may race a pending one; closing the TCP send side
    // is enough for our peers, which treat EOF as the end.
    error_code ec;
    stream_->next_layer().shutdown(tcp::socket::shutdown_send, ec);
  }
  void close() override {
    error_code ec;
    stream_->next_layer().close(ec);
  }
  bool secure() const override { return true; }
  std::string remote_address() const override { return remote_; }
  asio::any_io_executor executor() override { return stream_->get_executor(); }

 private:
  std::unique_ptr<asio::ssl::stream<tcp::socket>> stream_;
  SocketSlot slot_;
  std::string remote_;
};

}  // namespace

std::unique_ptr<Transport> make_plain_transport(tcp::socket socket,
                                                std::atomic<int>* open_sockets) {
  return std::make_unique<PlainTransport>(std::move(socket), open_sockets);
}

std::unique_ptr<Transport> make_tls_transport(
    std::unique_ptr<asio::ssl::stream<tcp::socket>> stream, std::atomic<int>* open_sockets) {
  return std::make_unique<TlsTransport>(std::move(stream), open_sockets);
}

}  // namespace plinth::http::detail
