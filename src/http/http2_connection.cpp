// HTTP/2 connections (h2c prior knowledge or TLS ALPN h2) on nghttp2's server session API.
#include <nghttp2/nghttp2.h>

#include <array>
#include <cctype>
#include <cstring>
#include <map>

#include "plinth/core/log.h"
#include "server_internal.h"

namespace plinth::http::detail {
namespace {

using namespace std::chrono_literals;
constexpr auto kTick = 500ms;
constexpr size_t kWriteBatchBytes = 64 << 10;
constexpr int32_t kConnectionWindow = 16 << 20;

// nghttp2 calls back through C frames: an exception must not cross them (nor leave the I/O
// thread). A throw fails the session, which closes the connection.
template <typename F>
int guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    log::warn("http2: callback failed: {}", e.what());
  } catch (...) {
    log::warn("http2: callback failed");
  }
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

bool is_connection_specific(std::string_view name) {
  return name == "connection" || name == "transfer-encoding" || name == "keep-alive" ||
         name == "upgrade" || name == "proxy-connection";
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// One request stream, owned by the connection and touched only on its strand.
struct Http2Stream {
  int32_t id = 0;
  Request request;
  size_t header_bytes = 0;
  size_t header_count = 0;
  int reject_status = 0;  // a limit was hit: answer with this status, ignore the rest
  bool headers_done = false;
  bool dispatched = false;
  size_t body_held = 0;  // taken from the connection's and the server's body budgets
  SteadyTime started;
  BodyRate body_rate;  // from the end of the headers until END_STREAM
  std::shared_ptr<ExchangeState> state;
  std::deque<std::string> out;  // response body bytes not yet framed
  size_t out_offset = 0;        // into out.front()
  bool out_finished = false;
};

class Http2Connection final : public Connection,
                              public std::enable_shared_from_this<Http2Connection> {
 public:
  Http2Connection(ServerContext& context, std::unique_ptr<Transport> transport)
      : context_(context),
        transport_(std::move(transport)),
        executor_(transport_->executor()),
        timer_(executor_) {}

  ~Http2Connection() override {
    if (session_) nghttp2_session_del(session_);
  }

  void start(uint64_t id, std::string initial) {
    id_ = id;
    last_activity_ = std::chrono::steady_clock::now();
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    int rv = nghttp2_session_server_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) {
      session_ = nullptr;
      close();
      return;
    }
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, context_.options().max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
    idle_.store(true, std::memory_order_release);
    arm_timer();
    if (!initial.empty() && !receive(initial.data(), initial.size())) return;
    flush();
    read();
  }

  void begin_shutdown() override {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->closed_) return;
      self->shutting_down_ = true;
      nghttp2_submit_goaway(self->session_, NGHTTP2_FLAG_NONE,
                            nghttp2_session_get_last_proc_stream_id(self->session_),
                            NGHTTP2_NO_ERROR, nullptr, 0);
      self->flush();
    });
  }

  void abandon() override {
    for (auto& [id, stream] : streams_) {
      if (stream->state) stream->state->mark_gone();
    }
  }

  void evict() override {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->closed_ || !self->streams_.empty()) return;
      nghttp2_session_terminate_session(self->session_, NGHTTP2_NO_ERROR);
      self->flush();
      if (!self->writing_) self->close();
    });
  }

  // The worker-facing operations; each hops onto the strand.
  void post_response(int32_t stream_id, int status, std::vector<Header> headers,
                     std::optional<std::string> body) {
    asio::post(executor_, [self = shared_from_this(), stream_id, status,
                           headers = std::move(headers), body = std::move(body)]() mutable {
      self->submit_response(stream_id, status, headers, std::move(body));
    });
  }
  void post_data(int32_t stream_id, std::string bytes, bool finish) {
    asio::post(executor_,
               [self = shared_from_this(), stream_id, bytes = std::move(bytes), finish]() mutable {
                 self->append_data(stream_id, std::move(bytes), finish);
               });
  }

  const ServerContext& context() const { return context_; }

 private:
  Http2Stream* find(int32_t stream_id) {
    auto it = streams_.find(stream_id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  static Http2Connection& self_of(void* user_data) {
    return *static_cast<Http2Connection*>(user_data);
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return guarded([&] { return self_of(user_data).begin_headers(frame); });
  }
  int begin_headers(const nghttp2_frame* frame) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Http2Connection& self = *this;
    idle_.store(false, std::memory_order_release);
    auto stream = std::make_unique<Http2Stream>();
    stream->id = frame->hd.stream_id;
    stream->started = std::chrono::steady_clock::now();
    stream->request.http_version = 20;
    stream->request.secure = self.transport_->secure();
    stream->request.remote_address = self.transport_->remote_address();
    self.streams_[stream->id] = std::move(stream);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                       void* user_data) {
    return guarded(
        [&] { return self_of(user_data).header(frame, name, name_length, value, value_length); });
  }
  int header(const nghttp2_frame* frame, const uint8_t* name, size_t name_length,
             const uint8_t* value, size_t value_length) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Http2Connection& self = *this;
    Http2Stream* stream = self.find(frame->hd.stream_id);
    if (!stream || stream->reject_status) return 0;
    const ServerOptions& options = self.context_.options();
    stream->header_bytes += name_length + value_length;
    stream->header_count += 1;
    if (stream->header_bytes > options.max_header_bytes ||
        stream->header_count > options.max_headers) {
      stream->reject_status = 431;
      stream->request.headers.clear();
      return 0;
    }
    std::string_view n(reinterpret_cast<const char*>(name), name_length);
    std::string_view v(reinterpret_cast<const char*>(value), value_length);
    if (n == ":method") {
      stream->request.method.assign(v);
    } else if (n == ":path") {
      stream->request.target.assign(v);
    } else if (n == ":authority") {
      stream->request.headers.push_back({std::string(n), std::string(v)});
    } else if (!n.empty() && n.front() != ':') {
      stream->request.headers.push_back({std::string(n), std::string(v)});
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                           size_t length, void* user_data) {
    return guarded([&] { return self_of(user_data).data_chunk(stream_id, data, length); });
  }
  int data_chunk(int32_t stream_id, const uint8_t* data, size_t length) {
    Http2Stream* stream = find(stream_id);
    if (!stream || stream->reject_status || stream->dispatched) return 0;
    if (stream->request.body.size() + length > context_.options().max_body_bytes) {
      reject(*stream, 413, "Request body too large");
      return 0;
    }
    if (!take_body(*stream, length)) return 0;
    stream->request.body.append(reinterpret_cast<const char*>(data), length);
    stream->body_rate.add(length);
    return 0;
  }

  // Counts `length` more buffered body bytes against the connection's and the server's budget;
  // false (the stream answered 503 and reset) when either is spent. Many streams that never
  // finish their bodies would otherwise hold memory without bound.
  bool take_body(Http2Stream& stream, size_t length) {
    bool fits = body_held_ + length <= context_.options().connection_body_budget &&
                context_.body_budget().try_take(length);
    if (!fits) {
      context_.count_refused_body();
      reject(stream, 503, "Server busy: request body budget spent; retry later");
      return false;
    }
    body_held_ += length;
    stream.body_held += length;
    return true;
  }

  void release_body(Http2Stream& stream) {
    if (stream.body_held == 0) return;
    context_.body_budget().give_back(stream.body_held);
    body_held_ -= stream.body_held;
    stream.body_held = 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return guarded([&] { return self_of(user_data).frame_recv(frame); });
  }
  int frame_recv(const nghttp2_frame* frame) {
    Http2Connection& self = *this;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    Http2Stream* stream = self.find(frame->hd.stream_id);
    if (!stream) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      stream->headers_done = true;
      if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        stream->body_rate.start(std::chrono::steady_clock::now());
      }
      if (stream->reject_status == 431) {
        self.reject(*stream, 431, "Request headers too large");
        return 0;
      }
      if (const std::string* length = stream->request.header("content-length")) {
        size_t declared = 0;
        try {
          declared = std::stoull(*length);
        } catch (...) {
          self.reject(*stream, 400, "Malformed content-length");
          return 0;
        }
        if (declared > self.context_.options().max_body_bytes) {
          self.reject(*stream, 413, "Request body too large");
          return 0;
        }
      }
    }
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !stream->reject_status) {
      self.dispatch(*stream);
    }
    return 0;
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    Http2Connection& self = self_of(user_data);
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    Http2Stream* stream = self.find(frame->hd.stream_id);
    // Our answer to a rejected request is complete: tell the client to stop sending its body.
    if (stream && stream->reject_status) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
    return guarded([&] { return self_of(user_data).stream_close(stream_id); });
  }
  int stream_close(int32_t stream_id) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return 0;
    if (it->second->state) it->second->state->mark_gone();
    release_body(*it->second);
    streams_.erase(it);
    // Idle time counts from the last stream's end, not from the last bytes received (PINGs
    // and SETTINGS do not keep a connection without streams alive).
    last_activity_ = std::chrono::steady_clock::now();
    if (streams_.empty()) idle_.store(true, std::memory_order_release);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buffer, size_t length,
                           uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    Http2Connection& self = self_of(user_data);
    Http2Stream* stream = self.find(stream_id);
    if (!stream) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t copied = 0;
    while (copied < length && !stream->out.empty()) {
      std::string& front = stream->out.front();
      size_t take = std::min(length - copied, front.size() - stream->out_offset);
      std::memcpy(buffer + copied, front.data() + stream->out_offset, take);
      copied += take;
      stream->out_offset += take;
      if (stream->out_offset == front.size()) {
        stream->out.pop_front();
        stream->out_offset = 0;
      }
    }
    if (stream->state && copied) stream->state->release(copied);
    if (stream->out.empty() && stream->out_finished) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(copied);
    }
    if (copied == 0) return NGHTTP2_ERR_DEFERRED;
    return static_cast<ssize_t>(copied);
  }

  void reject(Http2Stream& stream, int status, std::string_view message) {
    stream.reject_status = status;
    release_body(stream);
    stream.request.body.clear();
    stream.request.body.shrink_to_fit();
    Response response = context_.error_response(status, message);
    submit_response(stream.id, response.status, response.headers, std::move(response.body));
  }

  void dispatch(Http2Stream& stream);

  // body: the whole body (respond) or nullopt (a stream whose DATA follows).
  void submit_response(int32_t stream_id, int status, const std::vector<Header>& headers,
                       std::optional<std::string> body) {
    if (closed_) return;
    Http2Stream* stream = find(stream_id);
    if (!stream) return;
    std::string status_text = std::to_string(status);
    static const std::string kStatus = ":status";
    std::vector<std::string> names;
    names.reserve(headers.size());
    std::vector<nghttp2_nv> nva;
    nva.reserve(headers.size() + 1);
    nva.push_back(make_nv(kStatus, status_text));
    for (const Header& h : headers) {
      names.push_back(lowercase(h.name));
      if (is_connection_specific(names.back())) continue;
      nva.push_back(make_nv(names.back(), h.value));
    }
    nghttp2_data_provider provider{};
    provider.read_callback = read_body;
    bool has_body = !body || !body->empty();
    if (body) {
      if (!body->empty()) stream->out.push_back(std::move(*body));
      stream->out_finished = true;
    }
    int rv = nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(),
                                     has_body ? &provider : nullptr);
    if (rv != 0) log::warn("http2: submit_response failed: {}", nghttp2_strerror(rv));
    flush();
  }

  void append_data(int32_t stream_id, std::string bytes, bool finish) {
    Http2Stream* stream = closed_ ? nullptr : find(stream_id);
    if (!stream) return;
    if (!bytes.empty()) stream->out.push_back(std::move(bytes));
    if (finish) stream->out_finished = true;
    nghttp2_session_resume_data(session_, stream_id);
    flush();
  }

  // Returns false when the connection was closed.
  bool receive(const char* data, size_t length) {
    receiving_ = true;
    ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), length);
    receiving_ = false;
    if (rv < 0) {
      log::debug("http2: protocol error from {}: {}", transport_->remote_address(),
                 nghttp2_strerror(static_cast<int>(rv)));
      close();
      return false;
    }
    return true;
  }

  void read() {
    if (closed_) return;
    transport_->async_read_some(asio::buffer(chunk_),
                                [self = shared_from_this()](const error_code& ec, size_t n) {
                                  if (self->closed_) return;
                                  if (ec) {
                                    self->close();
                                    return;
                                  }
                                  if (!self->receive(self->chunk_.data(), n)) return;
                                  self->flush();
                                  self->read();
                                });
  }

  void flush() {
    // nghttp2 must not be asked to send from inside its receive callbacks; the read
    // handler flushes right after mem_recv returns.
    if (writing_ || closed_ || receiving_) return;
    while (write_buffer_.size() < kWriteBatchBytes) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        close();
        return;
      }
      if (n == 0) break;
      write_buffer_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (write_buffer_.empty()) {
      bool done = !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
      if (done || (shutting_down_ && streams_.empty())) close();
      return;
    }
    writing_ = true;
    transport_->async_write({asio::buffer(write_buffer_)},
                            [self = shared_from_this()](const error_code& ec, size_t) {
                              self->writing_ = false;
                              self->write_buffer_.clear();
                              if (ec) {
                                self->close();
                                return;
                              }
                              self->flush();
                            });
  }

  void arm_timer() {
    timer_.expires_after(kTick);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->on_tick();
    });
  }

  void on_tick() {
    if (closed_) return;
    auto now = std::chrono::steady_clock::now();
    const ServerOptions& options = context_.options();
    if (streams_.empty() && (shutting_down_ || now - last_activity_ > options.idle_timeout)) {
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      flush();
      if (!writing_) close();
      if (closed_) return;
    }
    for (auto& [id, stream] : streams_) {
      bool header_late = !stream->headers_done && now - stream->started > options.header_timeout;
      bool body_slow = !stream->dispatched && stream->body_rate.too_slow(now, options);
      if (header_late || body_slow || now - stream->started > options.request_timeout) {
        if (stream->state) stream->state->mark_gone();
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      }
    }
    flush();
    if (!closed_) arm_timer();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    idle_.store(false, std::memory_order_release);
    for (auto& [id, stream] : streams_) {
      if (stream->state) stream->state->mark_gone();
      release_body(*stream);
    }
    timer_.cancel();
    transport_->close();
    context_.remove_connection(id_);
  }

  class Http2Exchange;
  class Http2ResponseStream;

  ServerContext& context_;
  std::unique_ptr<Transport> transport_;
  asio::any_io_executor executor_;
  asio::steady_timer timer_;
  uint64_t id_ = 0;
  // Everything below is touched only on the connection's strand.
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Http2Stream>> streams_;
  std::array<char, 16384> chunk_{};
  std::string write_buffer_;  // bytes being written; appended to only while not writing
  bool writing_ = false;
  bool receiving_ = false;  // inside nghttp2_session_mem_recv
  bool closed_ = false;
  bool shutting_down_ = false;
  size_t body_held_ = 0;  // request body bytes buffered over all streams
  SteadyTime last_activity_;
};

class Http2Connection::Http2ResponseStream final : public ResponseStream {
 public:
  Http2ResponseStream(std::shared_ptr<Http2Connection> connection, int32_t stream_id,
                      std::shared_ptr<ExchangeState> state)
      : connection_(std::move(connection)), stream_id_(stream_id), state_(std::move(state)) {}
  ~Http2ResponseStream() override { finish(); }

  bool write(std::string_view bytes) override {
    if (finished_ || state_->gone()) return false;
    if (bytes.empty()) return true;
    auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        connection_->context().options().request_timeout);
    if (!state_->acquire(bytes.size(), timeout)) return false;
    connection_->post_data(stream_id_, std::string(bytes), false);
    return true;
  }

  void finish() override {
    if (finished_) return;
    finished_ = true;
    connection_->post_data(stream_id_, "", true);
  }

 private:
  std::shared_ptr<Http2Connection> connection_;
  int32_t stream_id_;
  std::shared_ptr<ExchangeState> state_;
  bool finished_ = false;
};

class Http2Connection::Http2Exchange final : public ExchangeBase {
 public:
  Http2Exchange(std::shared_ptr<Http2Connection> connection, int32_t stream_id,
                std::shared_ptr<ExchangeState> state)
      : connection_(std::move(connection)), stream_id_(stream_id), state_(std::move(state)) {}

  void respond(Response response) override {
    if (answered_) {
      log::error("http2: respond called twice for one request; ignored");
      return;
    }
    answered_ = true;
    connection_->post_response(stream_id_, response.status, std::move(response.headers),
                               std::move(response.body));
  }

  std::unique_ptr<ResponseStream> start_stream(int status, std::vector<Header> headers) override {
    if (answered_) {
      log::error("http2: start_stream after a response; ignored");
      return nullptr;
    }
    answered_ = true;
    connection_->post_response(stream_id_, status, std::move(headers), std::nullopt);
    return std::make_unique<Http2ResponseStream>(connection_, stream_id_, state_);
  }

  bool client_gone() const override { return state_->gone(); }
  bool answered() const override { return answered_; }

 private:
  std::shared_ptr<Http2Connection> connection_;
  int32_t stream_id_;
  std::shared_ptr<ExchangeState> state_;
  bool answered_ = false;
};

void Http2Connection::dispatch(Http2Stream& stream) {
  if (stream.dispatched) return;
  stream.dispatched = true;
  release_body(stream);  // the body now belongs to the handler, bounded by the lanes
  if (stream.request.method.empty() || stream.request.target.empty()) {
    reject(stream, 400, "Missing :method or :path");
    return;
  }
  RequestClass request_class = context_.classify(stream.request);
  auto state = std::make_shared<ExchangeState>();
  // The request is moved into the task only once it is admitted.
  auto request = std::make_shared<Request>(std::move(stream.request));
  auto task = [self = shared_from_this(), id = stream.id, request, state](bool run) {
    Http2Exchange exchange(self, id, state);
    if (run) {
      self->context_.run_handler(*request, exchange);
    } else {
      exchange.respond(
          self->context_.error_response(429, "Too many requests: waited too long for a worker"));
    }
  };
  if (!context_.submit(request_class, std::move(task))) {
    Response response = context_.error_response(429, "Too many requests; retry later");
    submit_response(stream.id, response.status, response.headers, std::move(response.body));
    return;
  }
  stream.state = std::move(state);
}

}  // namespace

void start_http2(ServerContext& context, std::unique_ptr<Transport> transport,
                 std::string initial) {
  auto connection = std::make_shared<Http2Connection>(context, std::move(transport));
  uint64_t id = 0;
  context.add_connection(connection, &id);
  connection->start(id, std::move(initial));
}

}  // namespace plinth::http::detail
