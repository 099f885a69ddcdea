// kind = "anthropic": Anthropic's Messages API (or another Plinth's /v1/messages) answers
// inferences, streamed over SSE; x-api-key from api_key_env / api_key_file.
#include <chrono>

#include "anthropic_wire.h"
#include "kinds.h"

namespace plinth::upstream {
namespace {

// The largest non-streamed answer read from an upstream.
constexpr size_t kMaxAnswerBytes = 64 * 1024 * 1024;

class AnthropicProvider final : public providers::Provider {
 public:
  AnthropicProvider(TransportOptions options, std::string api_key)
      : transport_(std::move(options)),
        api_key_(std::move(api_key)),
        base_has_v1_(transport_.options().endpoint.base_path.ends_with("/v1")) {}

  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& request,
                                             const providers::StreamCallback& on_event) override {
    auto started = std::chrono::steady_clock::now();
    const bool stream = static_cast<bool>(on_event);
    anthropic::OutputPlan plan;
    http::Request http_request = post(anthropic::messages_request_body(request, stream, &plan));
    const std::string& provider_id = transport_.options().provider_id;
    Result<providers::InferenceResponse> answer;
    if (stream) {
      anthropic::MessageStreamParser parser(provider_id, plan, on_event);
      Status parsed = ok();
      auto response = transport_.send(
          std::move(http_request),
          [&](std::string_view bytes) {
            parsed = parser.feed(bytes);
            return parsed.has_value();
          },
          request.cancel);
      // A malformed or failed stream stopped the sink: its reason, not the transport's.
      if (!parsed) return std::unexpected(parsed.error());
      if (!response) return std::unexpected(response.error());
      if (response->status < 200 || response->status > 299) {
        return std::unexpected(
            anthropic::upstream_error(provider_id, response->status, response->body));
      }
      answer = parser.finish();
    } else {
      auto response =
          transport_.send_bounded(std::move(http_request), kMaxAnswerBytes, request.cancel);
      if (!response) return std::unexpected(response.error());
      if (response->status < 200 || response->status > 299) {
        return std::unexpected(
            anthropic::upstream_error(provider_id, response->status, response->body));
      }
      answer = anthropic::parse_message(response->body, plan);
    }
    if (!answer) return answer;
    answer->model_id = request.model_id;
    answer->latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
    return answer;
  }

  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& request) override {
    return fail(ErrorCode::kInvalidArgument, "The model " + request.model_id +
                                                 " is served by Anthropic's Messages API, which "
                                                 "has no embeddings.");
  }

 private:
  http::Request post(std::string body) const {
    http::Request request;
    request.method = "POST";
    // base_url is the API root as Anthropic's SDKs take it; one that ends in /v1 works too.
    request.target = base_has_v1_ ? "/messages" : "/v1/messages";
    request.headers = {{"content-type", "application/json"},
                       {"accept", "application/json"},
                       {"anthropic-version", std::string(anthropic::kApiVersion)}};
    if (!api_key_.empty()) request.headers.push_back({"x-api-key", api_key_});
    request.body = std::move(body);
    return request;
  }

  Transport transport_;
  const std::string api_key_;  // never logged
  const bool base_has_v1_;
};

}  // namespace

Result<std::unique_ptr<providers::Provider>> make_anthropic_provider(const ProviderConfig& config,
                                                                     const ProviderDeps& deps) {
  auto endpoint =
      parse_endpoint(config.base_url.empty() ? "https://api.anthropic.com" : config.base_url);
  if (!endpoint) return std::unexpected(endpoint.error());
  auto key = read_api_key(config, deps);
  if (!key) return std::unexpected(key.error());
  return std::make_unique<AnthropicProvider>(transport_options(config, deps, std::move(*endpoint)),
                                             std::move(*key));
}

}  // namespace plinth::upstream
