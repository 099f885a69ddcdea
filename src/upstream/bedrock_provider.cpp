// kind = "bedrock": Amazon Bedrock Runtime (or another Plinth) answers Converse and
// ConverseStream for every inbound API, InvokeModel (Titan) for embeddings, and forwards Bedrock
// inbound calls as they are (BedrockPassthrough). Requests are SigV4-signed with the gateway's
// credentials from the AWS default chain or the configured profile.
#include <boost/json.hpp>

#include "bedrock_wire.h"
#include "kinds.h"
#include "plinth/aws/credentials.h"
#include "plinth/upstream/bedrock_passthrough.h"

namespace plinth::upstream {
namespace {

class BedrockProvider final : public providers::Provider, public BedrockPassthrough {
 public:
  BedrockProvider(TransportOptions options, std::string authority, std::string region,
                  std::shared_ptr<aws::CredentialProvider> credentials,
                  std::shared_ptr<Clock> clock)
      : transport_(std::move(options)),
        authority_(std::move(authority)),
        region_(std::move(region)),
        credentials_(std::move(credentials)),
        clock_(std::move(clock)) {}

  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& request,
                                             const providers::StreamCallback& on_event) override {
    auto started = std::chrono::steady_clock::now();
    auto body = bedrock::converse_request_body(request);
    if (!body) return std::unexpected(body.error());
    const bool structured = request.output_schema_json && !request.forced_tool;
    const bool stream = static_cast<bool>(on_event);
    auto http_request = post(request.model_id, stream ? "converse-stream" : "converse",
                             std::move(*body), "application/json",
                             stream ? "application/vnd.amazon.eventstream" : "application/json");
    if (!http_request) return std::unexpected(http_request.error());
    Result<providers::InferenceResponse> answer;
    if (stream) {
      bedrock::ConverseStreamReader reader(structured, on_event);
      auto response = transport_.send(
          std::move(*http_request), [&](std::string_view bytes) { return reader.feed(bytes); },
          request.cancel);
      if (!response) {
        if (auto failed = reader.finish(); !failed) return std::unexpected(failed.error());
        return std::unexpected(response.error());
      }
      if (response->status < 200 || response->status > 299) return upstream_error(*response);
      answer = reader.finish();
    } else {
      auto response = transport_.send_bounded(std::move(*http_request), bedrock::kMaxResponseBytes,
                                              request.cancel);
      if (!response) return std::unexpected(response.error());
      if (response->status < 200 || response->status > 299) return upstream_error(*response);
      answer = bedrock::parse_converse_response(response->body, structured);
    }
    if (!answer) return answer;
    answer->model_id = request.model_id;
    if (answer->latency_ms == 0) {
      answer->latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - started)
                               .count();
    }
    return answer;
  }

  // Titan Text Embeddings V2 through InvokeModel.
  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& request) override {
    boost::json::object body{{"inputText", request.text}, {"normalize", request.normalize}};
    if (request.dimensions > 0) body["dimensions"] = request.dimensions;
    auto http_request = post(request.model_id, "invoke", boost::json::serialize(body),
                             "application/json", "application/json");
    if (!http_request) return std::unexpected(http_request.error());
    auto response =
        transport_.send_bounded(std::move(*http_request), bedrock::kMaxResponseBytes, nullptr);
    if (!response) return std::unexpected(response.error());
    if (response->status < 200 || response->status > 299) return upstream_error(*response);
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(response->body, ec);
    const boost::json::value* embedding =
        !ec && v.is_object() ? v.as_object().if_contains("embedding") : nullptr;
    if (embedding == nullptr || !embedding->is_array()) {
      return fail(ErrorCode::kUnavailable, "the upstream embedding answer has no embedding");
    }
    providers::EmbeddingResponse out;
    out.model_id = request.model_id;
    for (const auto& x : embedding->as_array()) {
      if (!x.is_number())
        return fail(ErrorCode::kUnavailable, "the upstream embedding is not numbers");
      out.embedding.push_back(static_cast<float>(x.to_number<double>()));
    }
    if (const auto* count = v.as_object().if_contains("inputTextTokenCount");
        count != nullptr && count->is_int64()) {
      out.input_tokens = count->as_int64();
    }
    return out;
  }

  Result<ForwardedCall> forward(std::string_view upstream_model, std::string_view operation,
                                std::string body, std::string_view content_type,
                                std::string_view accept, const http::BodySink& sink,
                                const std::atomic<bool>* cancel) override {
    auto http_request = post(upstream_model, operation, std::move(body),
                             content_type.empty() ? "application/json" : content_type,
                             accept.empty() ? "application/json" : accept);
    if (!http_request) return std::unexpected(http_request.error());
    ForwardedCall out;
    const bool streamed = operation.ends_with("stream");
    if (streamed) {
      http::EventStreamDecoder decoder;  // reads the usage as the bytes pass through
      auto response = transport_.send(
          std::move(*http_request),
          [&](std::string_view bytes) {
            decoder.feed(bytes);
            while (true) {
              auto message = decoder.next();
              if (!message || !*message) break;
              if (auto usage = bedrock::ConverseStreamReader::usage_of(**message))
                out.usage = usage;
            }
            return !sink || sink(bytes);
          },
          cancel);
      if (!response) return std::unexpected(response.error());
      if (response->status < 200 || response->status > 299) return upstream_error(*response);
      out.response = std::move(*response);
    } else {
      auto response =
          transport_.send_bounded(std::move(*http_request), bedrock::kMaxResponseBytes, cancel);
      if (!response) return std::unexpected(response.error());
      if (response->status < 200 || response->status > 299) return upstream_error(*response);
      out.response = std::move(*response);
      out.usage = bedrock::usage_from_headers(out.response);
      if (!out.usage) out.usage = bedrock::usage_from_json(out.response.body);
      if (sink && !sink(out.response.body))
        return fail(ErrorCode::kCancelled, "the caller went away");
    }
    return out;
  }

 private:
  Result<http::Request> post(std::string_view model, std::string_view operation, std::string body,
                             std::string_view content_type, std::string_view accept) {
    auto credentials = credentials_->fetch();
    if (!credentials) {
      // The gateway's own credentials: not the caller's fault, and not retryable by it either.
      return fail(ErrorCode::kUnavailable,
                  "provider " + transport_.options().provider_id +
                      ": no AWS credentials: " + credentials.error().message);
    }
    http::Request request;
    request.method = "POST";
    request.target = bedrock::model_target(model, operation);
    request.headers = {{"content-type", std::string(content_type)},
                       {"accept", std::string(accept)}};
    request.body = std::move(body);
    bedrock::sign_request(request, authority_, transport_.options().endpoint.base_path,
                          *credentials, region_, clock_->now());
    return request;
  }

  std::unexpected<Error> upstream_error(const http::Response& response) const {
    return std::unexpected(
        bedrock::error_from_response(transport_.options().provider_id, response));
  }

  Transport transport_;
  const std::string authority_;
  const std::string region_;
  std::shared_ptr<aws::CredentialProvider> credentials_;
  std::shared_ptr<Clock> clock_;
};

}  // namespace

Result<std::unique_ptr<providers::Provider>> make_bedrock_provider(const ProviderConfig& config,
                                                                   const ProviderDeps& deps) {
  std::string region = config.region.empty() ? deps.default_region : config.region;
  std::string url = config.endpoint.empty() ? "https://bedrock-runtime." + region + ".amazonaws.com"
                                            : config.endpoint;
  auto endpoint = parse_endpoint(url);
  if (!endpoint) return std::unexpected(endpoint.error());
  bool default_port = endpoint->port == (endpoint->tls ? 443 : 80);
  std::string authority =
      default_port ? endpoint->host : endpoint->host + ":" + std::to_string(endpoint->port);
  if (endpoint->host.find(':') != std::string::npos) {  // IPv6 literal
    authority =
        "[" + endpoint->host + "]" + (default_port ? "" : ":" + std::to_string(endpoint->port));
  }
  aws::ChainOptions chain;
  chain.profile = config.profile;
  chain.region = region;
  chain.clock = deps.clock;
  if (deps.getenv) {
    chain.environment = [getenv = deps.getenv](std::string_view name) {
      return getenv(std::string(name));
    };
  }
  return std::make_unique<BedrockProvider>(
      transport_options(config, deps, std::move(*endpoint)), std::move(authority),
      std::move(region), aws::default_credential_chain(std::move(chain)), deps.clock);
}

}  // namespace plinth::upstream
