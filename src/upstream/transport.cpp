// The upstream transport: connection pool, retries with backoff and full jitter, breaker.
#include "plinth/upstream/transport.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace plinth::upstream {
namespace {

// A bounded set of keep-alive connections to one endpoint. Threads that find every connection
// busy wait (up to a deadline) for one to come back.
class ConnectionPool {
 public:
  ConnectionPool(const TransportOptions& options) : options_(options) {}

  // A connection for one exchange, or nullptr when none came free before `deadline`.
  std::unique_ptr<http::Client> acquire(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!freed_.wait_until(lock, deadline,
                           [this] { return !idle_.empty() || open_ < options_.max_connections; })) {
      return nullptr;
    }
    if (!idle_.empty()) {
      auto client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
    ++open_;
    http::ClientOptions client_options;
    client_options.tls = options_.endpoint.tls;
    client_options.timeout = options_.exchange_timeout;
    client_options.connect_timeout = options_.timeout;
    client_options.read_timeout = options_.timeout;
    return std::make_unique<http::Client>(options_.endpoint.host, options_.endpoint.port,
                                          client_options);
  }

  // Returns a connection: kept for reuse when it is still open, closed otherwise.
  void release(std::unique_ptr<http::Client> client) {
    {
      std::lock_guard lock(mutex_);
      if (client->connected()) {
        idle_.push_back(std::move(client));
      } else {
        --open_;
      }
    }
    freed_.notify_one();
  }

  int open() const {
    std::lock_guard lock(mutex_);
    return open_;
  }

 private:
  const TransportOptions& options_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<http::Client>> idle_;  // guarded by mutex_
  int open_ = 0;                                     // guarded by mutex_; busy + idle
};

std::string lower_host(std::string_view host) {
  std::string out(host);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view url) {
  auto invalid = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "endpoint must be http(s)://host[:port][/path], got '" + std::string(url) + "'");
  };
  Endpoint endpoint;
  std::string_view rest;
  if (url.starts_with("https://")) {
    endpoint.tls = true;
    endpoint.port = 443;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return invalid();
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      path.find_first_of("?#") != std::string_view::npos) {
    return invalid();
  }
  std::string_view host = authority;
  if (authority.front() == '[') {  // [::1]:8080
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid();
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') return invalid();
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    authority = authority.substr(colon);
  } else {
    authority = "";
  }
  if (!authority.empty()) {  // ":port"
    std::string_view digits = authority.substr(1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port == 0 ||
        port > 65535) {
      return invalid();
    }
    endpoint.port = static_cast<uint16_t>(port);
  }
  if (host.empty()) return invalid();
  endpoint.host = lower_host(host);
  while (path.ends_with('/')) path.remove_suffix(1);
  endpoint.base_path = std::string(path);
  return endpoint;
}

bool retryable_status(int status) { return status == 429 || (status >= 500 && status <= 599); }

bool retryable_error(const Error& error) {
  return error.code == ErrorCode::kThrottled || error.code == ErrorCode::kUnavailable ||
         error.code == ErrorCode::kTimeout || error.code == ErrorCode::kIo;
}

Error status_error(std::string_view provider_id, int status, std::string_view message) {
  std::string text = message.empty() ? "upstream provider " + std::string(provider_id) +
                                           " answered HTTP " + std::to_string(status)
                                     : std::string(message);
  ErrorCode code = ErrorCode::kInvalidArgument;
  if (status == 429) {
    code = ErrorCode::kThrottled;
  } else if (status == 408 || status == 504) {
    code = ErrorCode::kTimeout;
  } else if (status >= 500) {
    code = ErrorCode::kUnavailable;
  } else if (status == 413) {
    code = ErrorCode::kPayloadTooLarge;
  } else if (status == 404) {
    code = ErrorCode::kNotFound;
  } else if (status == 401 || status == 403) {
    // The gateway's own upstream credentials were refused: not the caller's fault, and another
    // provider (a fallback) may still answer.
    code = ErrorCode::kUnavailable;
    text = "upstream provider " + std::string(provider_id) + " refused its credentials (HTTP " +
           std::to_string(status) + "): " + text;
  }
  return Error(code, std::move(text));
}

struct Transport::Impl {
  explicit Impl(TransportOptions o)
      : options(std::move(o)),
        breaker(options.breaker, options.clock ? options.clock : Clock::real()),
        pool(options) {}

  TransportOptions options;
  CircuitBreaker breaker;
  ConnectionPool pool;

  std::chrono::milliseconds backoff(int retry) {
    int64_t ceiling = options.backoff_base.count() << std::min(retry, 20);
    ceiling = std::min<int64_t>(ceiling, options.backoff_cap.count());
    if (ceiling <= 0) return std::chrono::milliseconds(0);
    uint64_t draw = options.random->next_u64() % static_cast<uint64_t>(ceiling + 1);
    return std::chrono::milliseconds(static_cast<int64_t>(draw));
  }

  // One try: an answer (any status), or why none came.
  Result<http::Response> attempt(const http::Request& request, const http::BodySink& sink) {
    auto client = pool.acquire(std::chrono::steady_clock::now() + options.timeout);
    if (!client) {
      return fail(ErrorCode::kThrottled, "upstream provider " + options.provider_id + ": all " +
                                             std::to_string(options.max_connections) +
                                             " connections are busy");
    }
    auto response = sink ? client->send_streaming(request, sink) : client->send(request);
    pool.release(std::move(client));
    return response;
  }
};

Transport::Transport(TransportOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  if (!impl_->options.clock) impl_->options.clock = Clock::real();
  if (!impl_->options.random) impl_->options.random = Random::secure();
  if (!impl_->options.sleep) {
    impl_->options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
}

Transport::~Transport() = default;

CircuitBreaker& Transport::breaker() { return impl_->breaker; }
const TransportOptions& Transport::options() const { return impl_->options; }
int Transport::open_connections() const { return impl_->pool.open(); }

Result<http::Response> Transport::send(http::Request request, const http::BodySink& sink,
                                       const std::atomic<bool>* cancel) {
  const TransportOptions& options = impl_->options;
  request.target = options.endpoint.base_path + request.target;
  bool delivered = false;  // a byte went to the caller: no retry from here on
  http::BodySink tracked;
  if (sink) {
    tracked = [&](std::string_view bytes) {
      delivered = true;
      return sink(bytes);
    };
  }
  Result<http::Response> last =
      fail(ErrorCode::kUnavailable, "upstream provider " + options.provider_id + ": not tried");
  for (int attempt = 0; attempt <= options.max_retries; ++attempt) {
    if (attempt > 0) options.sleep(impl_->backoff(attempt - 1));
    if (cancel != nullptr && cancel->load()) {
      return fail(ErrorCode::kCancelled, "the request was cancelled");
    }
    if (!impl_->breaker.allow()) {
      return fail(ErrorCode::kUnavailable, "upstream provider " + options.provider_id +
                                               " is unavailable (circuit open after repeated "
                                               "failures)");
    }
    last = impl_->attempt(request, tracked);
    bool failed = false;
    if (!last) {
      if (last.error().code == ErrorCode::kCancelled) {
        impl_->breaker.record_success();  // our caller stopped reading; the upstream was fine
        return last;
      }
      failed = last.error().code != ErrorCode::kThrottled;  // a busy pool is no upstream fault
      Error& error = last.error();
      if (error.code == ErrorCode::kIo) error.code = ErrorCode::kUnavailable;
      error.message = "upstream provider " + options.provider_id + ": " + error.message;
    } else {
      failed = last->status >= 500;
    }
    if (failed) {
      impl_->breaker.record_failure();
    } else {
      impl_->breaker.record_success();
    }
    bool retry = last ? retryable_status(last->status) : retryable_error(last.error());
    if (!retry || delivered) return last;
  }
  return last;
}

Result<http::Response> Transport::send_bounded(http::Request request, size_t max_body_bytes,
                                               const std::atomic<bool>* cancel) {
  std::string body;
  bool too_large = false;
  auto response = send(
      std::move(request),
      [&](std::string_view bytes) {
        if (body.size() + bytes.size() > max_body_bytes) {
          too_large = true;
          return false;
        }
        body.append(bytes);
        return true;
      },
      cancel);
  if (too_large) {
    return fail(ErrorCode::kUnavailable,
                "the upstream's answer is over " + std::to_string(max_body_bytes >> 20) + " MiB");
  }
  if (!response) return std::unexpected(response.error());
  if (response->status >= 200 && response->status <= 299) response->body = std::move(body);
  return response;
}

}  // namespace plinth::upstream
