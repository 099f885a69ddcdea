// Gateway handlers for Plinth's documents REST API: /v1/pipelines, /v1/documents, /v1/jobs.
#include <boost/json.hpp>
#include <charconv>

#include "gateway_internal.h"
#include "plinth/core/encoding.h"
#include "plinth/documents/document_service.h"

namespace plinth::api {
namespace {

// Path segments after "/v1/", percent-decoded; nullopt when one is malformed or empty.
std::optional<std::vector<std::string>> segments(std::string_view path) {
  std::vector<std::string> out;
  path.remove_prefix(4);
  while (!path.empty()) {
    size_t slash = path.find('/');
    auto decoded = uri_decode(path.substr(0, slash));
    if (!decoded || decoded->empty()) return std::nullopt;
    out.push_back(std::move(*decoded));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return out;
}

// The value of query parameter `name`, or "".
std::string query_parameter(std::string_view query, std::string_view name) {
  auto pairs = parse_form_urlencoded(query);
  if (!pairs) return "";
  for (auto& [key, value] : *pairs) {
    if (key == name) return std::move(value);
  }
  return "";
}

std::optional<int64_t> to_int(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

bool Gateway::is_documents_path(std::string_view path) {
  return path == "/v1/pipelines" || path.starts_with("/v1/pipelines/") ||
         path.starts_with("/v1/documents/") || path == "/v1/jobs" || path.starts_with("/v1/jobs/");
}

void Gateway::handle_documents(Call& call) {
  auto principal = authenticate(call, "plinth");
  if (!principal) return;
  call.principal = std::move(*principal);
  const std::string& method = call.request.method;
  auto parts = segments(call.request.path());
  auto no_route = [&] {
    call.respond_error(Error(ErrorCode::kNotFound,
                             "No route for " + method + " " + std::string(call.request.path())));
  };
  if (!parts) {
    no_route();
    return;
  }
  const std::vector<std::string>& p = *parts;
  std::string account =
      call.principal->account_id.empty() ? options_.account_id : call.principal->account_id;
  std::string arn_prefix = "arn:aws:plinth:" + options_.region + ":" + account + ":";
  // Answers AccessDenied unless the caller's policies allow `action` on `resource`.
  auto allowed = [&](std::string_view action, const std::string& resource) {
    auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                                 call.request.remote_address};
    std::string full = "plinth:" + std::string(action);
    if (auth::authorize(*call.principal, full, resource, context) == auth::Decision::kAllow) {
      return true;
    }
    call.respond_error(Error(ErrorCode::kPermissionDenied, "User: " + call.principal->arn +
                                                               " is not authorized to perform: " +
                                                               full + " on resource: " + resource));
    return false;
  };
  if (services_.documents == nullptr) {
    call.respond_error(Error(ErrorCode::kUnavailable, "The documents service is not enabled."));
    return;
  }
  documents::DocumentService& service = *services_.documents;
  auto answer = [&](int status, const Result<std::string>& body) {
    if (!body) {
      call.respond_error(body.error());
      return;
    }
    call.respond(status, "application/json", *body);
  };
  auto answer_status = [&](const Status& status) {
    if (!status) {
      call.respond_error(status.error());
      return;
    }
    call.respond(204, "application/json", "");
  };

  if (p[0] == "pipelines") {
    if (p.size() == 1 && method == "POST") {
      if (allowed("CreatePipeline", arn_prefix + "pipeline/*")) {
        answer(201, service.create_pipeline(account, call.request.body));
      }
      return;
    }
    if (p.size() == 1 && method == "GET") {
      if (allowed("ListPipelines", arn_prefix + "pipeline/*"))
        answer(200, service.pipelines(account));
      return;
    }
    if (p.size() < 2) return no_route();
    std::string resource = arn_prefix + "pipeline/" + p[1];
    if (p.size() == 2 && method == "GET") {
      if (allowed("GetPipeline", resource)) answer(200, service.pipeline(account, p[1]));
      return;
    }
    if (p.size() == 2 && method == "PUT") {
      if (allowed("UpdatePipeline", resource)) {
        answer(200, service.update_pipeline(account, p[1], call.request.body));
      }
      return;
    }
    if (p.size() == 2 && method == "DELETE") {
      if (allowed("DeletePipeline", resource))
        answer_status(service.delete_pipeline(account, p[1]));
      return;
    }
    if (p.size() == 3 && p[2] == "documents" && method == "POST") {
      if (!allowed("SubmitDocument", resource)) return;
      documents::NewDocument document;
      document.account_id = account;
      document.principal_arn = call.principal->arn;
      document.pipeline = p[1];
      if (const std::string* type = call.request.header("content-type")) {
        document.content_type = *type;
      }
      if (const std::string* key = call.request.header("idempotency-key")) {
        document.idempotency_key = *key;
      }
      document.body = call.request.body;
      auto submission = service.submit(document);
      if (!submission) {
        call.respond_error(submission.error());
        return;
      }
      boost::json::object body{{"documentId", submission->document_id},
                               {"jobId", submission->job_id}};
      call.respond(202, "application/json", boost::json::serialize(body));
      return;
    }
    return no_route();
  }
  if (p[0] == "documents" && p.size() == 2) {
    std::string resource = arn_prefix + "document/" + p[1];
    if (method == "GET") {
      if (allowed("GetDocument", resource)) answer(200, service.document(account, p[1]));
      return;
    }
    if (method == "DELETE") {
      if (allowed("DeleteDocument", resource))
        answer_status(service.delete_document(account, p[1]));
      return;
    }
    return no_route();
  }
  if (p[0] == "jobs" && method == "GET") {
    if (p.size() == 1) {
      if (!allowed("ListJobs", arn_prefix + "job/*")) return;
      std::string limit_text = query_parameter(call.request.query(), "limit");
      auto limit = limit_text.empty() ? std::optional<int64_t>(20) : to_int(limit_text);
      if (!limit || *limit < 1 || *limit > 100) {
        call.respond_error(Error(ErrorCode::kInvalidArgument, "limit must be 1 to 100."));
        return;
      }
      answer(200, service.jobs(account, static_cast<int>(*limit)));
      return;
    }
    std::string resource = arn_prefix + "job/" + p[1];
    if (p.size() == 2) {
      if (allowed("GetJob", resource)) answer(200, service.job(account, p[1]));
      return;
    }
    if (p.size() == 3 && p[2] == "events") {
      if (allowed("GetJob", resource)) stream_job_events(call, account, p[1]);
      return;
    }
  }
  no_route();
}

}  // namespace plinth::api
