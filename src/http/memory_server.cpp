// MemoryServer: the connection code over an in-memory Transport on a private io_context.
#include "plinth/http/memory_server.h"

#include <algorithm>
#include <cstring>

#include "server_internal.h"

namespace plinth::http {
namespace {

using detail::error_code;
using detail::asio::any_io_executor;

// Reads come from `input` (then EOF), writes go to `output`; every completion is posted, as a
// socket's would be.
class MemoryTransport final : public detail::Transport {
 public:
  MemoryTransport(detail::asio::io_context& io, std::string input, size_t chunk,
                  std::shared_ptr<std::string> output)
      : io_(io), input_(std::move(input)), chunk_(std::max<size_t>(chunk, 1)), output_(output) {}

  void async_read_some(detail::asio::mutable_buffer buffer, IoHandler handler) override {
    size_t n = closed_ ? 0 : std::min({chunk_, buffer.size(), input_.size() - offset_});
    std::memcpy(buffer.data(), input_.data() + offset_, n);
    offset_ += n;
    error_code ec = n == 0 ? error_code(detail::asio::error::eof) : error_code();
    detail::asio::post(io_, [handler = std::move(handler), ec, n] { handler(ec, n); });
  }
  void async_write(std::vector<detail::asio::const_buffer> buffers, IoHandler handler) override {
    size_t total = 0;
    for (const auto& b : buffers) {
      if (!closed_) output_->append(static_cast<const char*>(b.data()), b.size());
      total += b.size();
    }
    error_code ec = closed_ ? error_code(detail::asio::error::broken_pipe) : error_code();
    detail::asio::post(io_, [handler = std::move(handler), ec, total] { handler(ec, total); });
  }
  void shutdown_send() override {}
  void close() override { closed_ = true; }
  bool secure() const override { return false; }
  std::string remote_address() const override { return "memory:0"; }
  any_io_executor executor() override { return io_.get_executor(); }

 private:
  detail::asio::io_context& io_;
  std::string input_;
  size_t offset_ = 0;
  size_t chunk_;
  std::shared_ptr<std::string> output_;
  bool closed_ = false;
};

constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

struct MemoryServer::State {
  State(ServerOptions options, Handler handler) : context(std::move(options), std::move(handler)) {}
  detail::ServerContext context;
  detail::asio::io_context io;
};

MemoryServer::MemoryServer(ServerOptions options, Handler handler)
    : state_(std::make_unique<State>(std::move(options), std::move(handler))) {}

MemoryServer::~MemoryServer() {
  state_->context.stop_workers();
  state_->io.restart();
  state_->io.run();
}

std::string MemoryServer::serve(std::string_view input, size_t chunk) {
  auto output = std::make_shared<std::string>();
  auto transport = std::make_unique<MemoryTransport>(state_->io, std::string(input), chunk, output);
  state_->io.restart();
  if (input.starts_with(kHttp2Preface)) {
    detail::start_http2(state_->context, std::move(transport), "");
  } else {
    detail::start_http1(state_->context, std::move(transport), "");
  }
  // Runs until the connection closed and its timers were cancelled. A handler still running
  // may post afterwards; that lands in a later run and finds its connection closed.
  state_->io.run();
  return std::move(*output);
}

ServerStats MemoryServer::stats() const { return state_->context.stats(); }

}  // namespace plinth::http
