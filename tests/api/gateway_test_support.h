// Test doubles for the Gateway tests: a fake provider, a fake exchange and a request signer.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "plinth/auth/authenticator.h"
#include "plinth/auth/sigv4.h"
#include "plinth/http/server.h"
#include "plinth/providers/provider.h"

namespace plinth::api::testing {

inline constexpr std::string_view kAccessKey = "AKIDTESTGATEWAY";
inline constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
inline constexpr std::string_view kBearer = "plinth-bt-good";
inline constexpr int64_t kNow = 1'764'065'503;  // 2025-11-25T10:11:43Z

// Knows one access key and one bearer token, both for `principal`.
class FakeCredentials final : public auth::CredentialResolver, public auth::BearerTokenVerifier {
 public:
  Result<auth::ResolvedCredential> resolve(
      std::string_view access_key_id,
      const std::optional<std::string>& session_token) const override {
    if (access_key_id != access_key) {
      return fail(ErrorCode::kUnknownAccessKey,
                  "The security token included in the request is invalid.");
    }
    return auth::ResolvedCredential{secret, principal};
  }
  Result<auth::Principal> verify_bearer(std::string_view token) const override {
    if (token != kBearer) return fail(ErrorCode::kUnknownAccessKey, "The bearer token is invalid.");
    return principal;
  }
  auth::Principal principal;
  std::string access_key = std::string(kAccessKey);
  std::string secret = std::string(kSecret);
};

// The IAM user most gateway tests sign as: alice, with one identity policy (default: every
// bedrock action on every resource).
inline void sign_in_as_alice(FakeCredentials& credentials,
                             std::string policy = R"({"Version":"2012-10-17","Statement":[)"
                                                  R"({"Effect":"Allow","Action":"bedrock:*",)"
                                                  R"("Resource":"*"}]})") {
  auth::Principal& p = credentials.principal;
  p.kind = auth::Principal::Kind::kUser;
  p.arn = "arn:aws:iam::000000000000:user/alice";
  p.account_id = "000000000000";
  p.name = "alice";
  p.access_key_id = std::string(kAccessKey);
  p.identity_policies = {std::move(policy)};
}

// Answers with fixed text, streamed as `deltas`; can hold a call open until released.
class FakeProvider final : public providers::Provider {
 public:
  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& request,
                                             const providers::StreamCallback& on_event) override {
    {
      std::unique_lock lock(mutex);
      requests.push_back(request);
      ++running;
      changed.notify_all();
      changed.wait(lock, [&] { return !hold; });
    }
    struct Done {
      FakeProvider& p;
      ~Done() {
        std::lock_guard lock(p.mutex);
        --p.running;
      }
    } done{*this};
    if (fail_before_output) return std::unexpected(*fail_before_output);
    std::string text;
    for (const std::string& delta : deltas) {
      if (on_event && !on_event(providers::StreamEvent::text_delta(delta))) {
        cancelled_by_callback = true;
        saw_cancel_flag = request.cancel != nullptr && request.cancel->load();
        return fail(ErrorCode::kCancelled, "cancelled");
      }
      text += delta;
    }
    if (fail_after_output) return std::unexpected(*fail_after_output);
    providers::InferenceResponse response;
    response.model_id = request.model_id;
    providers::ContentBlock block;
    block.text = text;
    response.content.push_back(block);
    response.usage = {10, static_cast<int64_t>(deltas.size()), cache_read, cache_write};
    response.latency_ms = 7;
    return response;
  }

  // A count that shows what reached the provider: 1000 per tool, 100 per system prompt, 10 per
  // message, plus one.
  Result<int64_t> count_tokens(const providers::InferenceRequest& request) override {
    std::lock_guard lock(mutex);
    count_requests.push_back(request);
    return static_cast<int64_t>(1 + 1000 * request.tools.size() + 100 * request.system.size() +
                                10 * request.messages.size());
  }

  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& request) override {
    std::lock_guard lock(mutex);
    embedding_requests.push_back(request);
    providers::EmbeddingResponse response;
    response.model_id = request.model_id;
    // Alternating signs, so that binary and quantized forms have something to show.
    response.embedding.assign(request.dimensions > 0 ? request.dimensions : 4, 0.5f);
    for (size_t i = 1; i < response.embedding.size(); i += 2) response.embedding[i] = -0.25f;
    response.input_tokens = 3;
    return response;
  }

  void wait_running(int n) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return running >= n; });
  }
  void release() {
    std::lock_guard lock(mutex);
    hold = false;
    changed.notify_all();
  }

  std::vector<std::string> deltas = {"Hello", " world"};

  int64_t cache_read = 0, cache_write = 0;  // of the 10 input tokens
  std::optional<Error> fail_before_output;
  std::optional<Error> fail_after_output;
  bool cancelled_by_callback = false;
  bool saw_cancel_flag = false;

  std::mutex mutex;
  std::condition_variable changed;
  bool hold = false;                                            // guarded by mutex
  int running = 0;                                              // guarded by mutex
  std::vector<providers::InferenceRequest> requests;            // guarded by mutex
  std::vector<providers::EmbeddingRequest> embedding_requests;  // guarded by mutex
  std::vector<providers::InferenceRequest> count_requests;      // guarded by mutex
};

// Collects whatever the handler sends; the client "goes away" after `gone_after_writes` writes.
class FakeExchange final : public http::Exchange {
 public:
  class Stream final : public http::ResponseStream {
   public:
    explicit Stream(FakeExchange& owner) : owner_(owner) {}
    bool write(std::string_view bytes) override {
      if (owner_.client_gone()) return false;
      owner_.streamed += bytes;
      ++owner_.writes;
      return true;
    }
    void finish() override { owner_.finished = true; }

   private:
    FakeExchange& owner_;
  };

  void respond(http::Response r) override { response = std::move(r); }
  std::unique_ptr<http::ResponseStream> start_stream(int status,
                                                     std::vector<http::Header> headers) override {
    stream_status = status;
    stream_headers = std::move(headers);
    return std::make_unique<Stream>(*this);
  }
  bool client_gone() const override {
    return gone_after_writes >= 0 && writes >= gone_after_writes;
  }

  std::string header(std::string_view name) const {
    const auto& list = response ? response->headers : stream_headers;
    for (const auto& h : list) {
      if (h.name.size() == name.size() &&
          std::equal(h.name.begin(), h.name.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return h.value;
      }
    }
    return "";
  }

  std::optional<http::Response> response;
  int stream_status = 0;
  std::vector<http::Header> stream_headers;
  std::string streamed;
  int writes = 0;
  bool finished = false;
  int gone_after_writes = -1;
};

// `method target` with `headers` and `body`, SigV4-signed with the test key at kNow as an SDK
// signs it (a query string in `target` is signed too).
inline http::Request sign_as_sdk(std::string method, std::string target, std::string body,
                                 auth::HeaderList headers, std::string service,
                                 std::string secret = std::string(kSecret)) {
  auth::SignableRequest unsigned_request;
  unsigned_request.method = method;
  size_t question = target.find('?');
  unsigned_request.raw_path = target.substr(0, question);
  if (question != std::string::npos) unsigned_request.raw_query = target.substr(question + 1);
  unsigned_request.headers = std::move(headers);
  unsigned_request.body = body;
  auth::SigningCredentials credentials{std::string(kAccessKey), std::move(secret), ""};
  auth::SignerOptions options;
  options.region = "us-east-1";
  options.service = std::move(service);
  options.time = std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  options.sign_body = true;
  auth::SignedRequest signed_req = auth::sign_request(unsigned_request, credentials, options);
  http::Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  for (const auto& [name, value] : signed_req.request.headers) {
    request.headers.push_back({name, value});
  }
  request.body = std::move(body);
  return request;
}

// A SigV4-signed JSON POST (service "bedrock" unless told otherwise), as an SDK would send it.
inline http::Request signed_request(std::string path, std::string body,
                                    std::string service = "bedrock",
                                    std::string secret = std::string(kSecret), bool http2 = false) {
  // HTTP/2 clients (the JS SDK) sign ":authority" instead of host.
  return sign_as_sdk(
      "POST", std::move(path), std::move(body),
      {{http2 ? ":authority" : "host", "127.0.0.1:4000"}, {"content-type", "application/json"}},
      std::move(service), std::move(secret));
}

// A SigV4-signed request to Plinth's own REST API (service "plinth" unless told otherwise).
inline http::Request signed_call(std::string method, std::string target, std::string body = "",
                                 std::vector<http::Header> extra = {},
                                 std::string service = "plinth") {
  auth::HeaderList headers = {{"host", "127.0.0.1:4000"}};
  for (const auto& h : extra) headers.emplace_back(h.name, h.value);
  return sign_as_sdk(std::move(method), std::move(target), std::move(body), std::move(headers),
                     std::move(service));
}

// A signed GET of `path` with an optional query string.
inline http::Request signed_get(const std::string& path, const std::string& query = "",
                                std::string service = "plinth") {
  return signed_call("GET", query.empty() ? path : path + "?" + query, "", {}, std::move(service));
}

}  // namespace plinth::api::testing
