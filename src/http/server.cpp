// The listener: accepts, applies max_connections, sniffs h2c or negotiates TLS ALPN, and stops.
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <array>
#include <cstring>

#include "plinth/core/log.h"
#include "server_internal.h"

namespace plinth::http {
namespace detail {
namespace {

constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Reads the first bytes of a cleartext connection until they either match the HTTP/2 preface
// or cannot, then hands the connection (and the bytes) to the right protocol.
// Registered as a connection so that a silent peer can be evicted at max_connections.
class ProtocolSniffer : public Connection, public std::enable_shared_from_this<ProtocolSniffer> {
 public:
  ProtocolSniffer(ServerContext& context, std::unique_ptr<Transport> transport)
      : context_(context),
        transport_(std::move(transport)),
        executor_(transport_->executor()),
        timer_(executor_) {}

  void start() {
    context_.add_connection(shared_from_this(), &id_);
    idle_.store(true, std::memory_order_release);
    arm(context_.options().idle_timeout);
    read();
  }

  void begin_shutdown() override { evict(); }
  void abandon() override {}
  void evict() override {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->transport_ && self->bytes_.empty()) self->transport_->close();
    });
  }

 private:
  void arm(std::chrono::steady_clock::duration after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec && self->transport_) self->transport_->close();
    });
  }

  void read() {
    transport_->async_read_some(
        asio::buffer(chunk_),
        [self = shared_from_this()](const error_code& ec, size_t n) { self->on_read(ec, n); });
  }

  void on_read(const error_code& ec, size_t n) {
    if (ec) {
      timer_.cancel();
      done();
      return;  // closed before saying anything
    }
    idle_.store(false, std::memory_order_release);
    // Silence is bounded by the idle timeout; once the first byte came, the header timeout
    // runs from it (a preface trickled byte by byte must not hold the slot longer).
    if (bytes_.empty() && n > 0) arm(context_.options().header_timeout);
    bytes_.append(chunk_.data(), n);
    size_t compared = std::min(bytes_.size(), kHttp2Preface.size());
    bool prefix_matches =
        std::string_view(bytes_).substr(0, compared) == kHttp2Preface.substr(0, compared);
    if (prefix_matches && bytes_.size() < kHttp2Preface.size()) {
      read();
      return;
    }
    timer_.cancel();
    done();
    if (prefix_matches) {
      start_http2(context_, std::move(transport_), std::move(bytes_));
    } else {
      start_http1(context_, std::move(transport_), std::move(bytes_));
    }
  }

  void done() {
    idle_.store(false, std::memory_order_release);
    context_.remove_connection(id_);
  }

  ServerContext& context_;
  std::unique_ptr<Transport> transport_;
  asio::any_io_executor executor_;
  asio::steady_timer timer_;
  uint64_t id_ = 0;
  std::array<char, 1024> chunk_{};
  std::string bytes_;
};

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  // Wire format: length-prefixed protocol names. Prefer h2, then http/1.1.
  for (std::string_view wanted : {std::string_view("h2"), std::string_view("http/1.1")}) {
    for (unsigned int i = 0; i < inlen;) {
      unsigned int length = in[i];
      if (i + 1 + length > inlen) break;
      if (length == wanted.size() && std::memcmp(in + i + 1, wanted.data(), length) == 0) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(length);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + length;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

class ServerImpl final : public Server {
 public:
  ServerImpl(ServerOptions options, Handler handler)
      : context_(std::move(options), std::move(handler)),
        work_(asio::make_work_guard(io_)),
        acceptor_(io_) {}

  ~ServerImpl() override { stop(); }

  Status listen() {
    const ServerOptions& options = context_.options();
    if (!options.tls_certificate_file.empty() || !options.tls_private_key_file.empty()) {
      if (options.tls_certificate_file.empty() || options.tls_private_key_file.empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    "http: TLS needs both a certificate and a private key file");
      }
      tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      error_code ec;
      tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                            asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                            asio::ssl::context::no_tlsv1_1,
                        ec);
      tls_->use_certificate_chain_file(options.tls_certificate_file, ec);
      if (ec) return fail(ErrorCode::kInvalidArgument, "http: TLS certificate: " + ec.message());
      tls_->use_private_key_file(options.tls_private_key_file, asio::ssl::context::pem, ec);
      if (ec) return fail(ErrorCode::kInvalidArgument, "http: TLS private key: " + ec.message());
      SSL_CTX_set_alpn_select_cb(tls_->native_handle(), select_alpn, nullptr);
    }
    error_code ec;
    asio::ip::address address = asio::ip::make_address(options.host, ec);
    if (ec) return fail(ErrorCode::kInvalidArgument, "http: bad listen address " + options.host);
    tcp::endpoint endpoint(address, options.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return fail(ErrorCode::kIo, "http: cannot listen on " + options.host + ":" +
                                      std::to_string(options.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    check_descriptor_limit(options.max_connections);
    accept();
    int threads = std::max(options.io_threads, 1);
    for (int i = 0; i < threads; ++i) io_threads_.emplace_back([this] { run_io(); });
    return ok();
  }

  uint16_t port() const override { return port_; }
  ServerStats stats() const override { return context_.stats(); }

  void stop() override {
    std::lock_guard lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    context_.set_stopping();
    asio::post(io_, [this] {
      error_code ec;
      acceptor_.close(ec);
    });
    for (auto& connection : context_.connections()) connection->begin_shutdown();
    // Graceful: in-flight requests get up to request_timeout (capped) to finish.
    auto grace = std::min<std::chrono::steady_clock::duration>(context_.options().request_timeout,
                                                               std::chrono::seconds(30));
    context_.wait_for_connections(std::chrono::steady_clock::now() + grace);
    work_.reset();
    io_.stop();
    for (std::thread& t : io_threads_) t.join();
    io_threads_.clear();
    for (auto& connection : context_.connections()) connection->abandon();
    context_.stop_workers();
  }

 private:
  // Last line of defence: a handler on an I/O thread that throws must not end the process
  // (the connection code catches what it knows; this logs what it missed and carries on).
  void run_io() {
    while (true) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        log::error("http: exception escaped an I/O handler: {}", e.what());
      } catch (...) {
        log::error("http: unknown exception escaped an I/O handler");
      }
    }
  }

  // Each connection is a descriptor: a cap above the process limit turns into accept()
  // failing with EMFILE, after which nothing (not even /health) is accepted. Raise the soft
  // limit when the hard one allows, else warn.
  static void check_descriptor_limit(int max_connections) {
    constexpr rlim_t kSpare = 64;  // listener, database, model files, logs
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    rlim_t wanted = static_cast<rlim_t>(std::max(max_connections, 0)) + kSpare;
    if (limit.rlim_cur >= wanted) return;
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0 && raised.rlim_cur >= wanted) return;
    log::warn(
        "http: max_connections {} is above the file descriptor limit {}; lower it or "
        "raise `ulimit -n`",
        max_connections, static_cast<unsigned long long>(limit.rlim_cur));
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_),
                           [this](const error_code& ec, tcp::socket socket) {
                             if (ec == asio::error::operation_aborted || !acceptor_.is_open())
                               return;
                             if (!ec) {
                               on_accept(std::move(socket));
                               accept();
                               return;
                             }
                             // EMFILE and friends repeat at once: pause instead of spinning.
                             log::warn("http: accept failed: {}", ec.message());
                             retry_accept();
                           });
  }

  void retry_accept() {
    accept_retry_.expires_after(std::chrono::milliseconds(50));
    accept_retry_.async_wait([this](const error_code& ec) {
      if (!ec && acceptor_.is_open()) accept();
    });
  }

  void on_accept(tcp::socket socket) {
    std::atomic<int>* open = context_.open_sockets();
    int max = context_.options().max_connections;
    // At the cap an idle peer gives way to the new one; without an idle peer the new
    // connection is closed at once (never left waiting in the backlog), and slots held by
    // slow senders come free within the header timeout.
    bool admitted = open->fetch_add(1) < max || context_.evict_idle_connection();
    if (!admitted || context_.stopping()) {
      open->fetch_sub(1);
      error_code ec;
      socket.close(ec);
      return;
    }
    if (!tls_) {
      std::make_shared<ProtocolSniffer>(context_, make_plain_transport(std::move(socket), open))
          ->start();
      return;
    }
    auto stream = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket), *tls_);
    auto* raw = stream.get();
    // Owned by the handlers until the handshake ends, then moved into the transport.
    auto owned =
        std::make_shared<std::unique_ptr<asio::ssl::stream<tcp::socket>>>(std::move(stream));
    auto timer = std::make_shared<asio::steady_timer>(raw->get_executor());
    timer->expires_after(context_.options().header_timeout);
    timer->async_wait([owned](const error_code& ec) {
      error_code ignored;
      if (!ec && *owned) (*owned)->next_layer().close(ignored);
    });
    raw->async_handshake(asio::ssl::stream_base::server,
                         [this, owned, timer, open](const error_code& ec) {
                           timer->cancel();
                           if (ec) {
                             // The transport gives the connection slot back.
                             auto transport = make_tls_transport(std::move(*owned), open);
                             transport->close();
                             return;
                           }
                           const unsigned char* alpn = nullptr;
                           unsigned int alpn_length = 0;
                           SSL_get0_alpn_selected((*owned)->native_handle(), &alpn, &alpn_length);
                           bool h2 = alpn_length == 2 && std::memcmp(alpn, "h2", 2) == 0;
                           auto transport = make_tls_transport(std::move(*owned), open);
                           if (h2) {
                             start_http2(context_, std::move(transport), "");
                           } else {
                             start_http1(context_, std::move(transport), "");
                           }
                         });
  }

  ServerContext context_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_{io_};
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::thread> io_threads_;
  uint16_t port_ = 0;
  std::mutex stop_mutex_;
  bool stopped_ = false;  // guarded by stop_mutex_
};

}  // namespace

std::string serialize_http1_head(int status, const std::vector<Header>& headers, bool keep_alive,
                                 std::optional<size_t> content_length) {
  std::string head;
  head.reserve(128 + headers.size() * 48);
  head += "HTTP/1.1 ";
  head += std::to_string(status);
  head += ' ';
  head += reason_phrase(status);
  head += "\r\n";
  for (const Header& h : headers) {
    // The connection owns framing; a handler's own framing headers would contradict it.
    if (h.name.size() == 14 && (h.name == "content-length" || h.name == "Content-Length")) continue;
    if (h.name == "transfer-encoding" || h.name == "connection") continue;
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  if (content_length) {
    head += "content-length: ";
    head += std::to_string(*content_length);
    head += "\r\n";
  } else {
    head += "transfer-encoding: chunked\r\n";
  }
  if (!keep_alive) head += "connection: close\r\n";
  head += "\r\n";
  return head;
}

}  // namespace detail

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler) {
  if (!handler) return fail(ErrorCode::kInvalidArgument, "http: a handler is required");
  auto server = std::make_unique<detail::ServerImpl>(std::move(options), std::move(handler));
  if (auto status = server->listen(); !status) return std::unexpected(status.error());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace plinth::http
