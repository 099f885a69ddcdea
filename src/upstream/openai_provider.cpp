// kind = "openai": an OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama, another
// Plinth) answers chat completions (streamed over SSE) and embeddings.
#include <boost/json.hpp>

#include "kinds.h"
#include "openai_wire.h"

namespace plinth::upstream {
namespace {

// The largest non-streamed answer read from an upstream.
constexpr size_t kMaxAnswerBytes = 64 * 1024 * 1024;

class OpenAiProvider final : public providers::Provider {
 public:
  OpenAiProvider(TransportOptions options, std::string api_key)
      : transport_(std::move(options)), api_key_(std::move(api_key)) {}

  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& request,
                                             const providers::StreamCallback& on_event) override {
    auto started = std::chrono::steady_clock::now();
    const bool stream = static_cast<bool>(on_event);
    http::Request http_request =
        post("/chat/completions", openai::chat_request_body(request, stream));
    Result<providers::InferenceResponse> answer;
    if (stream) {
      openai::ChatStreamParser parser(on_event);
      Status parsed = ok();
      auto response = transport_.send(
          std::move(http_request),
          [&](std::string_view bytes) {
            parsed = parser.feed(bytes);
            return parsed.has_value();
          },
          request.cancel);
      if (!parsed) return std::unexpected(parsed.error());
      if (!response) return std::unexpected(response.error());
      if (response->status < 200 || response->status > 299) return upstream_error(*response);
      answer = parser.finish();
    } else {
      auto response =
          transport_.send_bounded(std::move(http_request), kMaxAnswerBytes, request.cancel);
      if (!response) return std::unexpected(response.error());
      if (response->status < 200 || response->status > 299) return upstream_error(*response);
      answer = openai::parse_chat_response(response->body);
    }
    if (!answer) return answer;
    answer->model_id = request.model_id;
    answer->latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
    return answer;
  }

  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& request) override {
    auto response = transport_.send(post("/embeddings", openai::embeddings_request_body(request)));
    if (!response) return std::unexpected(response.error());
    if (response->status < 200 || response->status > 299) return upstream_error(*response);
    auto answer = openai::parse_embeddings_response(response->body);
    if (!answer) return answer;
    answer->model_id = request.model_id;
    if (request.dimensions > 0 &&
        answer->embedding.size() > static_cast<size_t>(request.dimensions)) {
      answer->embedding.resize(request.dimensions);  // a server that ignored `dimensions`
    }
    return answer;
  }

 private:
  http::Request post(std::string target, std::string body) const {
    http::Request request;
    request.method = "POST";
    request.target = std::move(target);
    request.headers = {{"content-type", "application/json"}, {"accept", "application/json"}};
    if (!api_key_.empty()) request.headers.push_back({"authorization", "Bearer " + api_key_});
    request.body = std::move(body);
    return request;
  }

  std::unexpected<Error> upstream_error(const http::Response& response) const {
    return std::unexpected(status_error(transport_.options().provider_id, response.status,
                                        openai::error_message(response.body)));
  }

  Transport transport_;
  const std::string api_key_;  // never logged
};

}  // namespace

Result<std::unique_ptr<providers::Provider>> make_openai_provider(const ProviderConfig& config,
                                                                  const ProviderDeps& deps) {
  auto endpoint = parse_endpoint(config.base_url);
  if (!endpoint) return std::unexpected(endpoint.error());
  auto key = read_api_key(config, deps);
  if (!key) return std::unexpected(key.error());
  return std::make_unique<OpenAiProvider>(transport_options(config, deps, std::move(*endpoint)),
                                          std::move(*key));
}

}  // namespace plinth::upstream
