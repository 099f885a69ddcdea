// Worker pool, per-exchange flow state and the context shared by all server connections.
#include <exception>

#include "plinth/core/log.h"
#include "server_internal.h"

namespace plinth::http::detail {

WorkerPool::WorkerPool(int threads) {
  threads_.reserve(std::max(threads, 1));
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkerPool::run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

bool WorkLane::try_post(std::function<void()> task) {
  int admitted = admitted_.fetch_add(1, std::memory_order_acq_rel);
  if ((capacity_ > 0 && admitted >= capacity_) || expected_wait_too_long(admitted)) {
    admitted_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  pool_.post([this, task = std::move(task)] {
    auto started = std::chrono::steady_clock::now();
    task();
    int64_t took = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
    int64_t average = average_task_ns_.load(std::memory_order_relaxed);
    average_task_ns_.store(average == 0 ? took : average + (took - average) / 8,
                           std::memory_order_relaxed);
    admitted_.fetch_sub(1, std::memory_order_acq_rel);
  });
  return true;
}

bool WorkLane::expected_wait_too_long(int ahead) const {
  if (max_wait_.count() <= 0 || ahead < threads_) return false;  // a thread is free
  int64_t average = average_task_ns_.load(std::memory_order_relaxed);
  // Tasks ahead that are not running yet, plus this one, share the threads.
  int64_t waiting = ahead - threads_ + 1;
  auto expected = std::chrono::nanoseconds(waiting * average / threads_);
  return expected > max_wait_;
}

bool BodyBudget::try_take(size_t bytes) {
  size_t current = current_.load();
  do {
    if (bytes > limit_ || current > limit_ - bytes) return false;
  } while (!current_.compare_exchange_weak(current, current + bytes));
  size_t now = current + bytes;
  size_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
  return true;
}

void BodyBudget::give_back(size_t bytes) { current_.fetch_sub(bytes); }

void ExchangeState::mark_gone() {
  {
    std::lock_guard lock(mutex_);
    gone_.store(true, std::memory_order_release);
  }
  drained_.notify_all();
}

bool ExchangeState::acquire(size_t bytes, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  bool ready = drained_.wait_for(lock, timeout, [&] {
    return gone_.load(std::memory_order_acquire) || queued_ == 0 ||
           queued_ + bytes <= kMaxQueuedBytes;
  });
  if (!ready || gone_.load(std::memory_order_acquire)) return false;
  queued_ += bytes;
  return true;
}

void ExchangeState::release(size_t bytes) {
  {
    std::lock_guard lock(mutex_);
    queued_ = bytes > queued_ ? 0 : queued_ - bytes;
  }
  drained_.notify_all();
}

ServerContext::ServerContext(ServerOptions options, Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      ordinary_(options_.worker_threads,
                std::max(options_.worker_threads, 1) + std::max(options_.max_queued_requests, 0),
                options_.max_queue_wait),
      // Control requests are cheap and never refused: /health must answer under any load.
      control_(options_.control_threads, 0),
      // No queue: a long-lived stream that waits for a thread would wait for minutes.
      long_lived_(options_.long_lived_threads, std::max(options_.long_lived_threads, 1)),
      body_budget_(options_.total_body_budget) {}

Response ServerContext::error_response(int status, std::string_view message) const {
  if (options_.error_response) {
    Response response = options_.error_response(status, message);
    response.status = status;
    return response;
  }
  Response response;
  response.status = status;
  response.headers.push_back({"content-type", "text/plain; charset=utf-8"});
  response.body.assign(message);
  response.body.push_back('\n');
  return response;
}

RequestClass ServerContext::classify(const Request& request) const {
  if (!options_.classify) return RequestClass::kOrdinary;
  try {
    return options_.classify(request);
  } catch (...) {
    return RequestClass::kOrdinary;
  }
}

bool ServerContext::submit(RequestClass request_class, std::function<void(bool run)> task) {
  if (request_class == RequestClass::kControl) {
    return control_.try_post([task = std::move(task)] { task(true); });
  }
  int current = in_flight_.fetch_add(1, std::memory_order_acq_rel);
  bool admitted = false;
  if (current < options_.max_concurrent_requests) {
    WorkLane& lane = request_class == RequestClass::kLongLived ? long_lived_ : ordinary_;
    auto queued = std::chrono::steady_clock::now();
    admitted = lane.try_post([this, task = std::move(task), queued] {
      // A request that waited past max_queue_wait would mostly be answered after its client
      // gave up; refusing it now keeps the queue's latency bounded too.
      auto max_wait = options_.max_queue_wait;
      bool run = max_wait.count() <= 0 || std::chrono::steady_clock::now() - queued <= max_wait;
      if (!run) shed_.fetch_add(1);
      task(run);
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    });
  }
  if (!admitted) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    shed_.fetch_add(1);
  }
  return admitted;
}

void ServerContext::stop_workers() {
  ordinary_.stop();
  long_lived_.stop();
  control_.stop();
}

ServerStats ServerContext::stats() const {
  ServerStats stats;
  stats.buffered_body_bytes = body_budget_.current();
  stats.peak_buffered_body_bytes = body_budget_.peak();
  stats.open_connections = open_sockets_.load();
  stats.shed_requests = shed_.load();
  stats.evicted_connections = evicted_.load();
  stats.refused_bodies = refused_bodies_.load();
  return stats;
}

bool ServerContext::evict_idle_connection() {
  std::shared_ptr<Connection> victim;
  {
    std::lock_guard lock(connections_mutex_);
    // Oldest first: the list is in accept order.
    for (auto& [id, weak] : connections_) {
      auto connection = weak.lock();
      if (connection && connection->take_idle()) {
        victim = std::move(connection);
        break;
      }
    }
  }
  if (!victim) return false;
  evicted_.fetch_add(1);
  victim->evict();
  return true;
}

void ServerContext::run_handler(const Request& request, ExchangeBase& exchange) {
  try {
    handler_(request, exchange);
    if (!exchange.answered()) {
      log::error("http: handler for {} {} returned without a response", request.method,
                 request.path());
      exchange.respond(error_response(500, "Internal server error"));
    }
  } catch (const std::exception& e) {
    log::error("http: handler for {} {} threw: {}", request.method, request.path(), e.what());
    if (!exchange.answered()) exchange.respond(error_response(500, "Internal server error"));
  } catch (...) {
    log::error("http: handler for {} {} threw a non-exception", request.method, request.path());
    if (!exchange.answered()) exchange.respond(error_response(500, "Internal server error"));
  }
}

void ServerContext::add_connection(std::shared_ptr<Connection> connection, uint64_t* id) {
  std::lock_guard lock(connections_mutex_);
  *id = next_connection_id_++;
  connections_.emplace_back(*id, std::move(connection));
}

void ServerContext::remove_connection(uint64_t id) {
  {
    std::lock_guard lock(connections_mutex_);
    std::erase_if(connections_, [id](const auto& entry) { return entry.first == id; });
  }
  connections_changed_.notify_all();
}

std::vector<std::shared_ptr<Connection>> ServerContext::connections() {
  std::lock_guard lock(connections_mutex_);
  std::vector<std::shared_ptr<Connection>> live;
  for (auto& [id, weak] : connections_) {
    if (auto connection = weak.lock()) live.push_back(std::move(connection));
  }
  return live;
}

void ServerContext::wait_for_connections(SteadyTime deadline) {
  std::unique_lock lock(connections_mutex_);
  connections_changed_.wait_until(lock, deadline, [this] { return connections_.empty(); });
}

}  // namespace plinth::http::detail
