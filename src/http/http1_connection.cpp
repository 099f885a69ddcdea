// HTTP/1.1 connections: Beast parser fed by hand, keep-alive, limits, chunked streaming.
#include <array>
#include <boost/beast/http.hpp>
#include <cctype>

#include "plinth/core/log.h"
#include "server_internal.h"

namespace plinth::http::detail {
namespace {

namespace bhttp = boost::beast::http;
using RequestParser = bhttp::request_parser<bhttp::string_body>;
using namespace std::chrono_literals;

constexpr auto kTick = 500ms;
constexpr auto kLinger = 2s;  // how long unread input is drained before an error close
constexpr size_t kMaxBufferedWhileHandling = 64 << 10;
constexpr std::string_view kQueuedTooLong = "Too many requests: waited too long for a worker";

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string chunk_frame(std::string_view bytes) {
  char size[20];
  int length = std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
  std::string out;
  out.reserve(bytes.size() + length + 2);
  out.append(size, length);
  out.append(bytes);
  out += "\r\n";
  return out;
}

class Http1Connection final : public Connection,
                              public std::enable_shared_from_this<Http1Connection> {
 public:
  Http1Connection(ServerContext& context, std::unique_ptr<Transport> transport, std::string initial)
      : context_(context),
        transport_(std::move(transport)),
        executor_(transport_->executor()),
        timer_(executor_),
        buffer_(std::move(initial)) {}

  void start(uint64_t id) {
    id_ = id;
    last_activity_ = std::chrono::steady_clock::now();
    arm_timer();
    begin_request();
  }

  void begin_shutdown() override {
    asio::post(executor_, [self = shared_from_this()] {
      self->shutting_down_ = true;
      if (self->phase_ == Phase::kReading && !self->request_started_) {
        self->close();
      } else {
        self->close_after_response_ = true;
      }
    });
  }

  void abandon() override {
    if (exchange_) exchange_->mark_gone();
  }

  void evict() override {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->phase_ == Phase::kReading && !self->request_started_ && self->buffer_.empty()) {
        self->close();
      }
    });
  }

  // Called from worker threads: hands bytes to the strand. `final` ends the response.
  void post_write(std::string bytes, bool final, size_t gated) {
    asio::post(executor_, [self = shared_from_this(), bytes = std::move(bytes), final,
                           gated]() mutable { self->queue_write(std::move(bytes), final, gated); });
  }

 private:
  enum class Phase { kReading, kHandling, kLingering, kClosed };
  struct PendingWrite {
    std::string bytes;
    size_t gated;  // bytes counted against the exchange's flow state
  };

  void begin_request() {
    phase_ = Phase::kReading;
    release_body();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(context_.options().max_header_bytes));
    parser_->body_limit(body_limit());
    // Not eager: put() stops once the header is complete, so the body budget is taken before
    // the parser allocates the body.
    parser_->eager(false);
    header_checked_ = false;
    request_started_.reset();
    body_rate_.reset();
    if (shutting_down_ && buffer_.empty()) {
      close();
      return;
    }
    parse();
  }

  size_t body_limit() const {
    return std::min(context_.options().max_body_bytes, context_.options().connection_body_budget);
  }

  void parse() {
    if (buffer_.empty()) {
      // Waiting for a request with nothing buffered: a slot that may be evicted at the cap.
      if (!request_started_) idle_.store(true, std::memory_order_release);
      ensure_reading();
      return;
    }
    idle_.store(false, std::memory_order_release);
    if (!request_started_) request_started_ = std::chrono::steady_clock::now();
    error_code ec;
    // Beast throws on some input (a trailer field of 64 KiB: "field value too large"); an
    // exception must never leave an I/O thread, so every throw is a malformed request.
    try {
      while (!buffer_.empty() && !parser_->is_done()) {
        // Beast asserts (in builds without NDEBUG) that a chunked body's final chunk, once seen,
        // is parsed again with at least 5 bytes; a final chunk split across reads broke that (a
        // fuzz find). No rest of a chunked body is shorter than "0\r\n\r\n": wait for more.
        if (parser_->is_header_done() && parser_->chunked() && buffer_.size() < 5) break;
        if (parser_->is_header_done() && !reserve_body()) return;
        size_t used = parser_->put(asio::buffer(buffer_), ec);
        buffer_.erase(0, used);
        if (ec == bhttp::error::need_more) {
          ec = {};
          break;
        }
        if (ec) break;
        if (parser_->is_header_done() && !header_checked_ && !check_header()) return;
        if (used == 0) break;
      }
    } catch (const std::length_error& e) {
      return send_error(431, std::string("Request header field too large: ") + e.what(), true);
    } catch (const std::exception& e) {
      return send_error(400, std::string("Malformed HTTP request: ") + e.what(), true);
    }
    if (ec == bhttp::error::header_limit) return send_error(431, "Request headers too large", true);
    if (ec == bhttp::error::body_limit) return send_error(413, "Request body too large", true);
    if (ec) return send_error(400, "Malformed HTTP request: " + ec.message(), true);
    if (parser_->is_done()) {
      dispatch();
    } else {
      ensure_reading();
    }
  }

  // False when the request was answered with an error.
  bool check_header() {
    header_checked_ = true;
    if (!parser_->is_done()) body_rate_.start(std::chrono::steady_clock::now());
    const auto& header = parser_->get();
    size_t count = std::distance(header.begin(), header.end());
    if (count > context_.options().max_headers) {
      send_error(431, "Too many request headers", true);
      return false;
    }
    auto expect = header.find(bhttp::field::expect);
    if (!parser_->is_done() && expect != header.end() &&
        boost::beast::iequals(expect->value(), "100-continue")) {
      queue_write("HTTP/1.1 100 Continue\r\n\r\n", false, 0);
    }
    return true;
  }

  // Keeps the server's body budget ahead of what the next put() may buffer: the declared
  // length, or for chunked bodies what arrived so far plus the unparsed input. False: answered.
  bool reserve_body() {
    size_t want;
    if (auto length = parser_->content_length()) {
      want = static_cast<size_t>(std::min<uint64_t>(*length, body_limit()));
    } else {
      want = std::min(parser_->get().body().size() + buffer_.size(), body_limit());
    }
    if (want <= body_reserved_) return true;
    if (!context_.body_budget().try_take(want - body_reserved_)) {
      context_.count_refused_body();
      send_error(503, "Server busy: too many request bodies in flight; retry later", true);
      return false;
    }
    body_reserved_ = want;
    return true;
  }

  void release_body() {
    if (body_reserved_ == 0) return;
    context_.body_budget().give_back(body_reserved_);
    body_reserved_ = 0;
  }

  void dispatch();

  void send_error(int status, std::string message, bool close_connection) {
    Response response = context_.error_response(status, message);
    if (close_connection) close_after_response_ = true;
    keep_alive_ = keep_alive_ && !close_after_response_ && !shutting_down_;
    phase_ = Phase::kHandling;
    std::string bytes =
        serialize_http1_head(response.status, response.headers, keep_alive_, response.body.size());
    bytes += response.body;
    queue_write(std::move(bytes), true, 0);
  }

  void ensure_reading() {
    if (reading_ || phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kHandling && buffer_.size() > kMaxBufferedWhileHandling) return;
    reading_ = true;
    transport_->async_read_some(
        asio::buffer(chunk_),
        [self = shared_from_this()](const error_code& ec, size_t n) { self->on_read(ec, n); });
  }

  void on_read(const error_code& ec, size_t n) {
    reading_ = false;
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      close();
      return;
    }
    if (n > 0) idle_.store(false, std::memory_order_release);
    last_activity_ = std::chrono::steady_clock::now();
    switch (phase_) {
      case Phase::kReading:
        if (header_checked_) body_rate_.add(n);
        buffer_.append(chunk_.data(), n);
        parse();
        break;
      case Phase::kHandling:
        buffer_.append(chunk_.data(), n);  // pipelined; parsed after this response
        ensure_reading();
        break;
      case Phase::kLingering:
        ensure_reading();  // discard
        break;
      case Phase::kClosed:
        break;
    }
  }

  void queue_write(std::string bytes, bool final, size_t gated) {
    if (phase_ == Phase::kClosed || phase_ == Phase::kLingering) {
      if (exchange_ && gated) exchange_->release(gated);
      return;
    }
    outbox_.push_back({std::move(bytes), gated});
    if (final) response_complete_queued_ = true;
    flush_writes();
  }

  void flush_writes() {
    if (writing_ || outbox_.empty()) return;
    writing_ = true;
    writing_batch_.swap(outbox_);
    outbox_.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(writing_batch_.size());
    for (const PendingWrite& w : writing_batch_) buffers.push_back(asio::buffer(w.bytes));
    transport_->async_write(
        std::move(buffers),
        [self = shared_from_this()](const error_code& ec, size_t) { self->on_write(ec); });
  }

  void on_write(const error_code& ec) {
    writing_ = false;
    size_t gated = 0;
    for (const PendingWrite& w : writing_batch_) gated += w.gated;
    writing_batch_.clear();
    if (exchange_ && gated) exchange_->release(gated);
    if (ec) {
      close();
      return;
    }
    if (phase_ == Phase::kClosed) return;
    last_activity_ = std::chrono::steady_clock::now();
    if (!outbox_.empty()) {
      flush_writes();
      return;
    }
    if (response_complete_queued_ && phase_ == Phase::kHandling) finish_exchange();
  }

  void finish_exchange() {
    response_complete_queued_ = false;
    exchange_.reset();
    if (close_after_response_ || shutting_down_ || !keep_alive_) {
      linger_and_close();
    } else {
      begin_request();
    }
  }

  // Half-closes and drains what the client still sends, so an error response is not lost to
  // a TCP reset caused by unread input.
  void linger_and_close() {
    if (no_linger_) {
      close();
      return;
    }
    phase_ = Phase::kLingering;
    idle_.store(false, std::memory_order_release);
    parser_.reset();
    release_body();
    linger_until_ = std::chrono::steady_clock::now() + kLinger;
    buffer_.clear();
    transport_->shutdown_send();
    ensure_reading();
  }

  void arm_timer() {
    timer_.expires_after(kTick);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->on_tick();
    });
  }

  void on_tick() {
    if (phase_ == Phase::kClosed) return;
    auto now = std::chrono::steady_clock::now();
    const ServerOptions& options = context_.options();
    switch (phase_) {
      case Phase::kReading:
        if (request_started_ && !(parser_ && parser_->is_header_done()) &&
            now - *request_started_ > options.header_timeout) {
          // No linger: a peer that trickles bytes would only hold the slot longer.
          no_linger_ = true;
          send_error(408, "Request headers timed out", true);
        } else if (header_checked_ && !parser_->is_done() && body_rate_.too_slow(now, options)) {
          no_linger_ = true;
          send_error(408, "Request body arrives too slowly", true);
        } else if (request_started_ && now - *request_started_ > options.request_timeout) {
          send_error(408, "Request timed out", true);
        } else if (!request_started_ &&
                   (shutting_down_ || now - last_activity_ > options.idle_timeout)) {
          close();
          return;
        }
        break;
      case Phase::kHandling:
        if (request_started_ && now - *request_started_ > options.request_timeout) {
          log::warn("http: request from {} exceeded the request timeout; closing",
                    transport_->remote_address());
          close();
          return;
        }
        break;
      case Phase::kLingering:
        if (now > linger_until_) {
          close();
          return;
        }
        break;
      case Phase::kClosed:
        return;
    }
    arm_timer();
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    idle_.store(false, std::memory_order_release);
    parser_.reset();
    release_body();
    if (exchange_) exchange_->mark_gone();
    timer_.cancel();
    transport_->close();
    context_.remove_connection(id_);
  }

  friend class Http1Exchange;

  ServerContext& context_;
  std::unique_ptr<Transport> transport_;
  asio::any_io_executor executor_;
  asio::steady_timer timer_;
  uint64_t id_ = 0;
  // Everything below is touched only on the connection's strand.
  std::string buffer_;  // received bytes not yet given to the parser
  std::array<char, 16384> chunk_{};
  std::optional<RequestParser> parser_;
  Phase phase_ = Phase::kReading;
  bool reading_ = false;
  bool writing_ = false;
  bool header_checked_ = false;
  bool keep_alive_ = true;
  bool close_after_response_ = false;
  bool shutting_down_ = false;
  bool no_linger_ = false;
  bool response_complete_queued_ = false;
  size_t body_reserved_ = 0;  // taken from the server's body budget for this request
  std::vector<PendingWrite> outbox_;
  std::vector<PendingWrite> writing_batch_;
  std::optional<SteadyTime> request_started_;
  BodyRate body_rate_;  // of the current request's body, from its headers' end
  SteadyTime last_activity_;
  SteadyTime linger_until_;
  std::shared_ptr<ExchangeState> exchange_;
};

class Http1ResponseStream final : public ResponseStream {
 public:
  Http1ResponseStream(std::shared_ptr<Http1Connection> connection,
                      std::shared_ptr<ExchangeState> state, std::chrono::milliseconds timeout)
      : connection_(std::move(connection)), state_(std::move(state)), timeout_(timeout) {}
  ~Http1ResponseStream() override { finish(); }

  bool write(std::string_view bytes) override {
    if (finished_ || state_->gone()) return false;
    if (bytes.empty()) return true;
    std::string frame = chunk_frame(bytes);
    size_t size = frame.size();
    if (!state_->acquire(size, timeout_)) return false;
    connection_->post_write(std::move(frame), false, size);
    return true;
  }

  void finish() override {
    if (finished_) return;
    finished_ = true;
    connection_->post_write("0\r\n\r\n", true, 0);
  }

 private:
  std::shared_ptr<Http1Connection> connection_;
  std::shared_ptr<ExchangeState> state_;
  std::chrono::milliseconds timeout_;
  bool finished_ = false;
};

class Http1Exchange final : public ExchangeBase {
 public:
  Http1Exchange(std::shared_ptr<Http1Connection> connection, std::shared_ptr<ExchangeState> state,
                bool keep_alive, bool head_request)
      : connection_(std::move(connection)),
        state_(std::move(state)),
        keep_alive_(keep_alive),
        head_request_(head_request) {}

  void respond(Response response) override {
    if (answered_) {
      log::error("http: respond called twice for one request; ignored");
      return;
    }
    answered_ = true;
    std::string bytes =
        serialize_http1_head(response.status, response.headers, keep_alive_, response.body.size());
    if (!head_request_) bytes += response.body;
    connection_->post_write(std::move(bytes), true, 0);
  }

  std::unique_ptr<ResponseStream> start_stream(int status, std::vector<Header> headers) override {
    if (answered_) {
      log::error("http: start_stream after a response; ignored");
      return nullptr;
    }
    answered_ = true;
    connection_->post_write(serialize_http1_head(status, headers, keep_alive_, std::nullopt), false,
                            0);
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        connection_->context_.options().request_timeout);
    return std::make_unique<Http1ResponseStream>(connection_, state_, timeout);
  }

  bool client_gone() const override { return state_->gone(); }
  bool answered() const override { return answered_; }

 private:
  std::shared_ptr<Http1Connection> connection_;
  std::shared_ptr<ExchangeState> state_;
  bool keep_alive_;
  bool head_request_;
  bool answered_ = false;
};

void Http1Connection::dispatch() {
  auto message = parser_->release();
  release_body();  // the body now belongs to the handler, bounded by the lanes
  Request request;
  request.method.assign(message.method_string());
  request.target.assign(message.target());
  request.headers.reserve(std::distance(message.begin(), message.end()));
  for (const auto& field : message) {
    request.headers.push_back({lowercase(field.name_string()), std::string(field.value())});
  }
  request.body = std::move(message.body());
  request.http_version = 11;
  request.secure = transport_->secure();
  request.remote_address = transport_->remote_address();
  keep_alive_ = message.keep_alive() && !shutting_down_ && !close_after_response_;
  RequestClass request_class = context_.classify(request);
  auto state = std::make_shared<ExchangeState>();
  bool head_request = request.method == "HEAD";
  auto task = [self = shared_from_this(), request = std::move(request), state,
               keep_alive = keep_alive_, head_request](bool run) {
    Http1Exchange exchange(self, state, keep_alive, head_request);
    if (run) {
      self->context_.run_handler(request, exchange);
    } else {
      exchange.respond(self->context_.error_response(429, kQueuedTooLong));
    }
  };
  if (!context_.submit(request_class, std::move(task))) {
    send_error(429, "Too many requests; retry later", false);
    return;
  }
  phase_ = Phase::kHandling;
  exchange_ = std::move(state);
  ensure_reading();  // notices a disconnect while the handler runs
}

}  // namespace

void start_http1(ServerContext& context, std::unique_ptr<Transport> transport,
                 std::string initial) {
  auto connection =
      std::make_shared<Http1Connection>(context, std::move(transport), std::move(initial));
  uint64_t id = 0;
  context.add_connection(connection, &id);
  connection->start(id);
}

}  // namespace plinth::http::detail
