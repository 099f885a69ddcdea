// One request in progress inside the Gateway, and helpers shared by its handler files.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/api/bedrock_converse.h"
#include "plinth/api/errors.h"
#include "plinth/api/gateway.h"
#include "plinth/http/server.h"

namespace plinth::api {

struct Gateway::Call {
  const http::Request& request;
  http::Exchange& exchange;
  std::string request_id;
  bool openai_errors = false;  // answer errors in OpenAI's shape
  std::optional<auth::Principal> principal;
  std::chrono::steady_clock::time_point started;
  int http_status = 0;  // what respond()/respond_wire() answered; 0 until then

  // Ledger metering (gateway_usage.cpp): meter() marks this a model call, recorded by
  // record_usage() when the request ends; the other calls fill it in and do nothing before it.
  std::optional<ledger::UsageRecord> usage;
  const catalog::ModelEntry* usage_model = nullptr;  // whose prices give usage's cost
  ledger::BudgetReservation budget_hold;             // settled by record_usage()
  void meter(std::string_view operation, std::string model_requested);
  void meter_model(std::string_view model_requested, const catalog::ModelEntry& model);
  void meter_tokens(int64_t input_tokens, int64_t output_tokens);
  // An inference's usage, prompt-cache counts included.
  void meter_usage(const providers::Usage& usage);
  // Routed calls: each attempt adds its tokens and its own model's cost; meter_answer names the
  // model that answered and whether the router escalated.
  void meter_attempt(const catalog::ModelEntry& model, const providers::Usage& usage);
  void meter_answer(const catalog::ModelEntry& model,
                    std::optional<router::EscalationReason> escalation);
  // A failure after a stream started (HTTP 200 already sent): record the error code instead.
  void meter_stream_error(const Error& error);

  // Set when modelId names an application inference profile (resolve_model): its ARN, which
  // authorization requires besides the model's names.
  std::optional<std::string> profile_arn = std::nullopt;
  // Set when modelId names a prompt router (resolve_model); answered_by once a model answered.
  const router::Router* router = nullptr;
  const catalog::ModelEntry* answered_by = nullptr;
  // Converse's trace.promptRouter.invokedModelId for a routed call, else an empty trace.
  ResponseTrace router_trace(std::string_view region) const;
  // Exact cost of a routed call's attempts, summed in pico-dollars; unset for one-model calls.
  std::optional<int64_t> usage_pico_usd = std::nullopt;
  // Extra response headers (x-plinth-invoked-model, ...), sent by respond() and LazyStream.
  std::vector<http::Header> response_headers = {};

  void respond(int status, std::string content_type, std::string body);
  void respond_wire(const WireError& wire);
  // Through the one mapping for this API (Bedrock or OpenAI).
  void respond_error(const Error& error);
};

// Holds one of a principal's concurrent-request slots for the life of a request.
class Gateway::ConcurrencySlot {
 public:
  ConcurrencySlot(Gateway& gateway, std::string key) : gateway_(gateway), key_(std::move(key)) {}
  ~ConcurrencySlot() { gateway_.release_slot(key_); }
  ConcurrencySlot(const ConcurrencySlot&) = delete;
  ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;

 private:
  Gateway& gateway_;
  std::string key_;
};

// Starts the response stream on the first write, so that failures before any output still get
// a plain HTTP error response.
class LazyStream {
 public:
  // extra_headers (may be null) are read when the stream starts.
  LazyStream(http::Exchange& exchange, std::string content_type, std::string request_id,
             const std::vector<http::Header>* extra_headers = nullptr)
      : exchange_(exchange),
        content_type_(std::move(content_type)),
        request_id_(std::move(request_id)),
        extra_headers_(extra_headers) {}
  // False once the client has gone.
  bool write(std::string_view bytes);
  bool started() const { return stream_ != nullptr; }
  void finish();

 private:
  http::Exchange& exchange_;
  std::string content_type_;
  std::string request_id_;
  const std::vector<http::Header>* extra_headers_;
  std::unique_ptr<http::ResponseStream> stream_;
};

// The budget estimate of embedding `texts`: every byte a token, plus 16 per text.
inline int64_t embedding_budget_tokens(const std::vector<std::string>& texts) {
  int64_t tokens = 0;
  for (const std::string& text : texts) tokens += static_cast<int64_t>(text.size()) + 16;
  return tokens;
}

// Milliseconds between two steady-clock points.
int64_t elapsed_ms(std::chrono::steady_clock::time_point from,
                   std::chrono::steady_clock::time_point to);

// GET /console and /console/<file>: the embedded web console (gateway_console.cpp).
http::Response console_response(const http::Request& request);

inline constexpr std::string_view kRequestIdHeader = "x-amzn-RequestId";
inline constexpr std::string_view kEventStreamType = "application/vnd.amazon.eventstream";

}  // namespace plinth::api
