// Outbound STS AssumeRole / AssumeRoleWithWebIdentity and the STS XML answer parser.
#include "plinth/aws/sts_client.h"

#include "endpoint_call.h"
#include "plinth/auth/sigv4.h"
#include "plinth/core/encoding.h"

namespace plinth::aws {
namespace {

// The text of the first <tag>…</tag> inside `xml`, entity-decoded; nullopt when absent.
std::optional<std::string> element_text(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  size_t start = xml.find(open);
  if (start == std::string_view::npos) return std::nullopt;
  start += open.size();
  size_t end = xml.find(close, start);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view raw = xml.substr(start, end - start);
  std::string out;
  out.reserve(raw.size());
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  for (size_t i = 0; i < raw.size();) {
    bool replaced = false;
    if (raw[i] == '&') {
      for (const auto& [entity, ch] : kEntities) {
        if (raw.substr(i).starts_with(entity)) {
          out += ch;
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += raw[i++];
  }
  return out;
}

ErrorCode sts_error_code(std::string_view code, int http_status) {
  if (code == "AccessDenied") return ErrorCode::kPermissionDenied;
  if (code == "ExpiredToken" || code == "ExpiredTokenException") return ErrorCode::kExpiredToken;
  if (code == "InvalidIdentityToken") return ErrorCode::kUnauthenticated;
  if (code == "InvalidClientTokenId") return ErrorCode::kUnknownAccessKey;
  if (code == "SignatureDoesNotMatch") return ErrorCode::kInvalidSignature;
  if (code == "Throttling") return ErrorCode::kThrottled;
  if (code == "IDPCommunicationError" || http_status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kInvalidArgument;
}

std::string form_body(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (value.empty()) continue;
    if (!out.empty()) out += '&';
    out += uri_encode(name) + "=" + uri_encode(value);
  }
  return out;
}

Result<http::Response> post_to_sts(const StsEndpoint& endpoint, const std::string& body,
                                   const AwsCredentials* signer, const Clock* clock) {
  auto url = http::parse_http_url(endpoint.url);
  if (!url) return std::unexpected(url.error());
  http::Request request;
  request.method = "POST";
  request.target = url->target;
  request.body = body;
  request.headers = {{"host", url->authority},
                     {"content-type", "application/x-www-form-urlencoded; charset=utf-8"}};
  if (signer != nullptr) {
    auth::SignableRequest signable{
        "POST",
        url->target.substr(0, url->target.find('?')),
        "",
        {{"host", url->authority}, {"content-type", request.headers[1].value}},
        request.body};
    auth::SignerOptions options;
    options.region = endpoint.region;
    options.service = "sts";
    options.time = clock->now();
    auth::SigningCredentials credentials{signer->access_key_id, signer->secret_access_key,
                                         signer->session_token};
    auto signed_request = auth::sign_request(signable, credentials, options);
    request.headers.clear();
    for (auto& [name, value] : signed_request.request.headers) {
      request.headers.push_back({name, value});
    }
  }
  return call_endpoint(*url, std::move(request), endpoint.timeout);
}

Result<AwsCredentials> credentials_from_sts(const StsEndpoint& endpoint, const std::string& body,
                                            const AwsCredentials* signer, const Clock* clock) {
  auto response = post_to_sts(endpoint, body, signer, clock);
  if (!response) return std::unexpected(response.error());
  return parse_sts_credentials_xml(response->body, response->status);
}

}  // namespace

StsEndpoint sts_endpoint(const EnvironmentLookup& environment, std::string region) {
  StsEndpoint endpoint;
  endpoint.region = region.empty() ? "us-east-1" : std::move(region);
  for (const char* name : {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"}) {
    if (auto value = environment(name); value && !value->empty()) {
      endpoint.url = *value;
      return endpoint;
    }
  }
  endpoint.url = "https://sts." + endpoint.region + ".amazonaws.com";
  return endpoint;
}

Result<AwsCredentials> assume_role(const StsEndpoint& endpoint, const AwsCredentials& source,
                                   const AssumeRoleParams& params, const Clock& clock) {
  std::string duration = params.duration_seconds > 0 ? std::to_string(params.duration_seconds) : "";
  std::string body = form_body({{"Action", "AssumeRole"},
                                {"Version", "2011-06-15"},
                                {"RoleArn", params.role_arn},
                                {"RoleSessionName", params.role_session_name},
                                {"ExternalId", params.external_id},
                                {"DurationSeconds", duration}});
  auto out = credentials_from_sts(endpoint, body, &source, &clock);
  if (!out) {
    return fail(out.error().code,
                "STS AssumeRole of " + params.role_arn + ": " + out.error().message);
  }
  return out;
}

Result<AwsCredentials> assume_role_with_web_identity(const StsEndpoint& endpoint,
                                                     const AssumeRoleParams& params,
                                                     std::string_view web_identity_token) {
  std::string duration = params.duration_seconds > 0 ? std::to_string(params.duration_seconds) : "";
  std::string body = form_body({{"Action", "AssumeRoleWithWebIdentity"},
                                {"Version", "2011-06-15"},
                                {"RoleArn", params.role_arn},
                                {"RoleSessionName", params.role_session_name},
                                {"WebIdentityToken", web_identity_token},
                                {"DurationSeconds", duration}});
  auto out = credentials_from_sts(endpoint, body, nullptr, nullptr);
  if (!out) {
    return fail(out.error().code,
                "STS AssumeRoleWithWebIdentity of " + params.role_arn + ": " + out.error().message);
  }
  return out;
}

Result<std::string> get_caller_identity_arn(const StsEndpoint& endpoint,
                                            const AwsCredentials& credentials, const Clock& clock) {
  auto response =
      post_to_sts(endpoint, "Action=GetCallerIdentity&Version=2011-06-15", &credentials, &clock);
  if (!response) return std::unexpected(response.error());
  if (response->status != 200) {
    std::string code = element_text(response->body, "Code").value_or("HTTP error");
    return fail(sts_error_code(code, response->status),
                "STS GetCallerIdentity: " + code.substr(0, 128));
  }
  auto arn = element_text(response->body, "Arn");
  if (!arn) return fail(ErrorCode::kIo, "the STS answer has no Arn");
  return *arn;
}

Result<AwsCredentials> parse_sts_credentials_xml(std::string_view xml, int http_status) {
  if (xml.size() > kMaxCredentialResponseBytes) {
    return fail(ErrorCode::kIo, "the STS answer is larger than 64 KiB");
  }
  if (http_status != 200 || xml.find("<ErrorResponse") != std::string_view::npos) {
    std::string code = element_text(xml, "Code").value_or("");
    std::string message = element_text(xml, "Message").value_or("");
    if (code.empty()) code = "HTTP " + std::to_string(http_status);
    return fail(sts_error_code(code, http_status),
                code.substr(0, 128) + (message.empty() ? "" : ": " + message.substr(0, 512)));
  }
  size_t credentials_at = xml.find("<Credentials>");
  if (credentials_at == std::string_view::npos) {
    return fail(ErrorCode::kIo, "the STS answer has no Credentials");
  }
  std::string_view block = xml.substr(credentials_at);
  AwsCredentials out;
  auto key = element_text(block, "AccessKeyId");
  auto secret = element_text(block, "SecretAccessKey");
  auto token = element_text(block, "SessionToken");
  auto expiration = element_text(block, "Expiration");
  if (!key || key->empty() || !secret || secret->empty() || !token || !expiration) {
    return fail(ErrorCode::kIo,
                "the STS answer lacks AccessKeyId, SecretAccessKey, "
                "SessionToken or Expiration");
  }
  auto expires = parse_iso8601(*expiration);
  if (!expires) return fail(ErrorCode::kIo, "the STS answer's Expiration is not a time");
  out.access_key_id = std::move(*key);
  out.secret_access_key = std::move(*secret);
  out.session_token = std::move(*token);
  out.expiration = *expires;
  return out;
}

}  // namespace plinth::aws
