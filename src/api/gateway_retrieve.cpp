// Gateway handlers for knowledge bases: Bedrock Agent Runtime Retrieve
// (POST /knowledgebases/{id}/retrieve) and Plinth's GET /v1/search.
#include <boost/json.hpp>

#include "gateway_internal.h"
#include "json_input.h"
#include "plinth/core/encoding.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

constexpr size_t kMaxQueryBytes = 20'000;
constexpr size_t kMaxIdBytes = 128;
constexpr int64_t kDefaultResults = 5;
constexpr int64_t kMaxResults = 100;

// Bedrock's ids are [0-9a-zA-Z]{10}; Plinth's own ("kb-invoices") also allow '-', '_' and '.'.
bool valid_knowledge_base_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Status check_query_text(std::string_view text, std::string_view field) {
  if (text.empty()) return json_input::malformed(field, "must not be empty");
  if (text.size() > kMaxQueryBytes) {
    return json_input::malformed(field,
                                 "must be at most " + std::to_string(kMaxQueryBytes) + " bytes");
  }
  return ok();
}

Status check_result_count(int64_t n, std::string_view field) {
  if (n < 1 || n > kMaxResults) {
    return fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value '" + std::to_string(n) + "' at '" +
                    std::string(field) +
                    "' failed to satisfy constraint: Member must be between 1 " + "and " +
                    std::to_string(kMaxResults));
  }
  return ok();
}

struct RetrieveParameters {
  std::string text;
  int64_t number_of_results = kDefaultResults;
};

Result<RetrieveParameters> parse_retrieve_body(std::string_view body) {
  auto object = json_input::parse_object_body(body);
  if (!object) return std::unexpected(object.error());
  RetrieveParameters parameters;
  auto query = json_input::optional_object(*object, "retrievalQuery", "retrievalQuery");
  if (!query) return std::unexpected(query.error());
  if (*query == nullptr) return json_input::malformed("retrievalQuery", "is required");
  auto text = json_input::optional_string(**query, "text", "retrievalQuery.text");
  if (!text) return std::unexpected(text.error());
  if (!*text) return json_input::malformed("retrievalQuery.text", "is required");
  if (auto st = check_query_text(**text, "retrievalQuery.text"); !st) {
    return std::unexpected(st.error());
  }
  parameters.text = std::move(**text);

  auto configuration =
      json_input::optional_object(*object, "retrievalConfiguration", "retrievalConfiguration");
  if (!configuration) return std::unexpected(configuration.error());
  if (*configuration != nullptr) {
    constexpr std::string_view kPath = "retrievalConfiguration.vectorSearchConfiguration";
    auto vector_search =
        json_input::optional_object(**configuration, "vectorSearchConfiguration", kPath);
    if (!vector_search) return std::unexpected(vector_search.error());
    if (*vector_search != nullptr) {
      // Silently ignoring a filter would return documents the caller meant to exclude.
      if ((*vector_search)->contains("filter") ||
          (*vector_search)->contains("implicitFilterConfiguration")) {
        return fail(ErrorCode::kInvalidArgument, "Metadata filters are not supported by Plinth.");
      }
      std::string field = std::string(kPath) + ".numberOfResults";
      auto n = json_input::optional_integer(**vector_search, "numberOfResults", field);
      if (!n) return std::unexpected(n.error());
      if (*n) {
        if (auto st = check_result_count(**n, field); !st) return std::unexpected(st.error());
        parameters.number_of_results = **n;
      }
    }
  }
  // Every answer is one page, so no token Plinth handed out can be presented back.
  auto next_token = json_input::optional_string(*object, "nextToken", "nextToken");
  if (!next_token) return std::unexpected(next_token.error());
  if (*next_token && !(*next_token)->empty()) {
    return fail(ErrorCode::kInvalidArgument, "The nextToken is not valid.");
  }
  return parameters;
}

json::object hit_metadata(const vectors::SearchHit& hit) {
  json::object metadata;
  boost::system::error_code ec;
  json::value stored = json::parse(hit.metadata_json, ec);
  if (!ec && stored.is_object()) metadata = std::move(stored.as_object());
  metadata["x-amz-bedrock-kb-chunk-id"] = hit.document_id + "#" + std::to_string(hit.chunk_index);
  return metadata;
}

std::string retrieve_response_json(const std::vector<vectors::SearchHit>& hits) {
  json::array results;
  for (const vectors::SearchHit& hit : hits) {
    results.push_back(json::object{
        {"content", json::object{{"type", "TEXT"}, {"text", hit.text}}},
        {"location",
         json::object{{"type", "CUSTOM"},
                      {"customDocumentLocation", json::object{{"id", hit.document_id}}}}},
        {"score", static_cast<double>(hit.score)},
        {"metadata", hit_metadata(hit)}});
  }
  return json::serialize(json::object{{"retrievalResults", std::move(results)}});
}

std::string search_response_json(const std::vector<vectors::SearchHit>& hits) {
  json::array results;
  for (const vectors::SearchHit& hit : hits) {
    results.push_back(json::object{{"documentId", hit.document_id},
                                   {"chunkIndex", hit.chunk_index},
                                   {"text", hit.text},
                                   {"score", static_cast<double>(hit.score)}});
  }
  return json::serialize(json::object{{"results", std::move(results)}});
}

struct SearchParameters {
  std::string q;
  std::string knowledge_base_id;
  int64_t k = kDefaultResults;
  std::optional<std::string> exclude_document_id;
};

Result<SearchParameters> parse_search_parameters(std::string_view query) {
  SearchParameters parameters;
  bool has_q = false;
  auto pairs = parse_form_urlencoded(query);
  if (!pairs) return fail(ErrorCode::kInvalidArgument, "Malformed query string.");
  for (auto& [name, value] : *pairs) {
    if (name == "q") {
      parameters.q = std::move(value);
      has_q = true;
    } else if (name == "knowledgeBaseId") {
      parameters.knowledge_base_id = std::move(value);
    } else if (name == "excludeDocumentId") {
      parameters.exclude_document_id = std::move(value);
    } else if (name == "k") {
      char* end = nullptr;
      long long k = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') {
        return fail(ErrorCode::kInvalidArgument, "k must be an integer.");
      }
      parameters.k = k;
    }
  }
  if (!has_q) return fail(ErrorCode::kInvalidArgument, "The q parameter is required.");
  if (auto st = check_query_text(parameters.q, "q"); !st) return std::unexpected(st.error());
  if (parameters.knowledge_base_id.empty()) {
    return fail(ErrorCode::kInvalidArgument, "The knowledgeBaseId parameter is required.");
  }
  if (auto st = check_result_count(parameters.k, "k"); !st) return std::unexpected(st.error());
  return parameters;
}

}  // namespace

bool Gateway::authorize_knowledge_base(Call& call, std::string_view action, std::string_view id) {
  if (!valid_knowledge_base_id(id)) {
    call.respond_error(Error(ErrorCode::kInvalidArgument,
                             "The knowledge base id must be 1 to 128 letters, digits, '-', '_' "
                             "or '.'."));
    return false;
  }
  const std::string& account =
      call.principal->account_id.empty() ? options_.account_id : call.principal->account_id;
  std::string arn =
      "arn:aws:bedrock:" + options_.region + ":" + account + ":knowledge-base/" + std::string(id);
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  auth::Decision decision = auth::authorize(*call.principal, action, arn, context);
  if (decision == auth::Decision::kAllow) return true;
  call.respond_error(Error(ErrorCode::kPermissionDenied,
                           "User: " + call.principal->arn + " is not authorized to perform: " +
                               std::string(action) + " on resource: " + arn +
                               (decision == auth::Decision::kExplicitDeny
                                    ? " with an explicit deny in an identity-based policy"
                                    : " because no identity-based policy allows the " +
                                          std::string(action) + " action")));
  return false;
}

Result<std::vector<vectors::SearchHit>> Gateway::search_knowledge_base(
    Call& call, const std::string& knowledge_base_id, const std::string& text, int k,
    std::optional<std::string> exclude_document_id) {
  const std::string& account =
      call.principal->account_id.empty() ? options_.account_id : call.principal->account_id;
  auto kb = services_.vectors->knowledge_base(account, knowledge_base_id);
  if (!kb) {
    if (kb.error().code != ErrorCode::kNotFound) return std::unexpected(kb.error());
    return fail(ErrorCode::kNotFound,
                "Knowledge base with id " + knowledge_base_id + " does not exist.");
  }
  if (call.usage) call.usage->model_requested = kb->embedding_model;
  auto model = services_.catalog.resolve(kb->embedding_model);
  if (!model || (*model)->kind != catalog::ModelKind::kEmbedding) {
    return fail(ErrorCode::kUnavailable, "The embedding model " + kb->embedding_model +
                                             " of knowledge base " + knowledge_base_id +
                                             " is not available.");
  }
  call.meter_model(kb->embedding_model, **model);
  if (kb->dimensions == 0) return std::vector<vectors::SearchHit>{};  // nothing indexed yet
  providers::EmbeddingRequest request;
  request.model_id = (*model)->id;
  request.text = text;
  request.dimensions = kb->dimensions;
  request.normalize = true;
  // The query's embedding is a model call like any other: it holds its cost first.
  if (auto held = hold_budget(call, static_cast<int64_t>(text.size()) + 16, 0); !held) {
    return std::unexpected(held.error());
  }
  auto embedding = services_.provider.embed(request);
  if (!embedding) return std::unexpected(embedding.error());
  call.meter_tokens(embedding->input_tokens, 0);
  return services_.vectors->search({account, knowledge_base_id, std::move(embedding->embedding), k,
                                    std::move(exclude_document_id)});
}

void Gateway::handle_retrieve(Call& call, std::string_view knowledge_base_segment) {
  auto principal = authenticate(call, "bedrock");
  if (!principal) return;
  call.principal = std::move(*principal);
  call.meter("Retrieve", "");
  std::optional<std::string> id = uri_decode(knowledge_base_segment);
  if (!id) {
    call.respond_error(Error(ErrorCode::kInvalidArgument, "The knowledge base id is malformed."));
    return;
  }
  if (!authorize_knowledge_base(call, "bedrock:Retrieve", *id)) return;
  if (services_.vectors == nullptr) {
    call.respond_error(Error(ErrorCode::kUnavailable, "Knowledge bases are not enabled."));
    return;
  }
  auto parameters = parse_retrieve_body(call.request.body);
  if (!parameters) {
    call.respond_error(parameters.error());
    return;
  }
  auto slot = acquire_slot(*call.principal);
  if (!slot) {
    call.respond_error(slot.error());
    return;
  }
  auto hits = search_knowledge_base(call, *id, parameters->text,
                                    static_cast<int>(parameters->number_of_results), std::nullopt);
  if (!hits) {
    call.respond_error(hits.error());
    return;
  }
  call.respond(200, "application/json", retrieve_response_json(*hits));
}

void Gateway::handle_search(Call& call) {
  if (call.request.method != "GET") {
    call.respond_wire(bedrock_error(AwsErrorType::kValidation, "Use GET for /v1/search."));
    return;
  }
  auto principal = authenticate(call, "plinth");
  if (!principal) return;
  call.principal = std::move(*principal);
  call.meter("Search", "");
  auto parameters = parse_search_parameters(call.request.query());
  if (!parameters) {
    call.respond_error(parameters.error());
    return;
  }
  if (!authorize_knowledge_base(call, "plinth:Search", parameters->knowledge_base_id)) return;
  if (services_.vectors == nullptr) {
    call.respond_error(Error(ErrorCode::kUnavailable, "Knowledge bases are not enabled."));
    return;
  }
  auto slot = acquire_slot(*call.principal);
  if (!slot) {
    call.respond_error(slot.error());
    return;
  }
  auto hits = search_knowledge_base(call, parameters->knowledge_base_id, parameters->q,
                                    static_cast<int>(parameters->k),
                                    std::move(parameters->exclude_document_id));
  if (!hits) {
    call.respond_error(hits.error());
    return;
  }
  call.respond(200, "application/json", search_response_json(*hits));
}

}  // namespace plinth::api
