// Parsing, validating and serializing pipeline definitions; choosing each step's model.
#include <boost/json.hpp>
#include <regex>
#include <set>

#include "plinth/documents/pipeline.h"
#include "plinth/structured/structured.h"

namespace plinth::documents {
namespace {

namespace json = boost::json;

constexpr size_t kMaxSchemaBytes = 64 * 1024;
constexpr size_t kMaxInstructionBytes = 8 * 1024;
constexpr size_t kMaxLabels = 64;

Result<std::string> string_field(const json::object& object, std::string_view key,
                                 std::string_view where, size_t max_bytes) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::string();
  if (!value->is_string()) {
    return fail(ErrorCode::kInvalidArgument, std::string(where) + " must be a string");
  }
  if (value->as_string().size() > max_bytes) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(where) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return std::string(value->as_string());
}

Result<const json::object*> object_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return nullptr;
  if (!value->is_object()) {
    return fail(ErrorCode::kInvalidArgument, std::string(key) + " must be an object");
  }
  return &value->as_object();
}

// catalog null: a stored definition, whose models were checked when it was written.
Status check_model(const catalog::Catalog* catalog, std::string_view requested,
                   std::string_view where) {
  if (requested.empty() || catalog == nullptr) return ok();
  auto model = resolve_text_model(*catalog, requested, catalog::ModelTier::kSmall);
  if (!model) {
    return fail(ErrorCode::kInvalidArgument, std::string(where) + ": " + model.error().message);
  }
  return ok();
}

#define PLINTH_ASSIGN(target, expr)                      \
  do {                                                   \
    auto value_ = (expr);                                \
    if (!value_) return std::unexpected(value_.error()); \
    target = std::move(*value_);                         \
  } while (0)

Result<PipelineSpec> parse_spec(std::string_view body, const catalog::Catalog* catalog,
                                std::string_view name) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec || !root.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "The pipeline body must be a JSON object.");
  }
  const json::object& object = root.as_object();
  PipelineSpec spec;
  PLINTH_ASSIGN(spec.name, string_field(object, "name", "name", 64));
  if (!name.empty()) spec.name = std::string(name);
  static const std::regex kName("[A-Za-z0-9_.-]{1,64}");
  if (!std::regex_match(spec.name, kName)) {
    return fail(ErrorCode::kInvalidArgument,
                "name must be 1 to 64 characters of letters, digits, '_', '.' and '-'");
  }
  const json::object* extract = nullptr;
  PLINTH_ASSIGN(extract, object_field(object, "extract"));
  if (extract != nullptr) {
    const json::value* schema = extract->if_contains("schema");
    if (schema != nullptr && !schema->is_null()) {
      if (!schema->is_object()) {
        return fail(ErrorCode::kInvalidArgument, "extract.schema must be a JSON Schema object");
      }
      spec.extract_schema_json = json::serialize(*schema);
      if (spec.extract_schema_json.size() > kMaxSchemaBytes) {
        return fail(ErrorCode::kInvalidArgument, "extract.schema is larger than 64 KiB");
      }
      if (auto compiled = structured::compile_schema(spec.extract_schema_json); !compiled) {
        return fail(ErrorCode::kInvalidArgument,
                    "extract.schema does not compile: " + compiled.error().message);
      }
    }
    PLINTH_ASSIGN(spec.extract_model, string_field(*extract, "model", "extract.model", 256));
    PLINTH_ASSIGN(
        spec.extract_instructions,
        string_field(*extract, "instructions", "extract.instructions", kMaxInstructionBytes));
    if (auto st = check_model(catalog, spec.extract_model, "extract.model"); !st) {
      return std::unexpected(st.error());
    }
  }
  const json::object* classify = nullptr;
  PLINTH_ASSIGN(classify, object_field(object, "classify"));
  if (classify != nullptr) {
    if (const json::value* labels = classify->if_contains("labels")) {
      // A stored empty list means no classification, like an absent one: earlier versions
      // stored pipelines without classify that way. A caller naming no label is a mistake.
      bool empty_allowed = catalog == nullptr;
      if (!labels->is_array() || (labels->as_array().empty() && !empty_allowed) ||
          labels->as_array().size() > kMaxLabels) {
        return fail(ErrorCode::kInvalidArgument,
                    "classify.labels must be an array of 1 to 64 strings");
      }
      std::set<std::string> seen;
      for (const json::value& label : labels->as_array()) {
        if (!label.is_string() || label.as_string().empty() || label.as_string().size() > 100) {
          return fail(ErrorCode::kInvalidArgument,
                      "each of classify.labels must be a string of 1 to 100 bytes");
        }
        std::string text(label.as_string());
        if (!seen.insert(text).second) {
          return fail(ErrorCode::kInvalidArgument, "classify.labels repeats '" + text + "'");
        }
        spec.labels.push_back(std::move(text));
      }
    }
    PLINTH_ASSIGN(
        spec.classify_instructions,
        string_field(*classify, "instructions", "classify.instructions", kMaxInstructionBytes));
    PLINTH_ASSIGN(spec.classify_model, string_field(*classify, "model", "classify.model", 256));
    if (auto st = check_model(catalog, spec.classify_model, "classify.model"); !st) {
      return std::unexpected(st.error());
    }
  }
  const json::object* analyze = nullptr;
  PLINTH_ASSIGN(analyze, object_field(object, "analyze"));
  if (analyze != nullptr) {
    PLINTH_ASSIGN(
        spec.analyze_instructions,
        string_field(*analyze, "instructions", "analyze.instructions", kMaxInstructionBytes));
    PLINTH_ASSIGN(spec.analyze_model, string_field(*analyze, "model", "analyze.model", 256));
    if (auto st = check_model(catalog, spec.analyze_model, "analyze.model"); !st) {
      return std::unexpected(st.error());
    }
  }
  PLINTH_ASSIGN(spec.knowledge_base_id,
                string_field(object, "knowledgeBaseId", "knowledgeBaseId", 64));
  if (spec.knowledge_base_id.empty()) spec.knowledge_base_id = "kb-" + spec.name;
  static const std::regex kKnowledgeBase("[A-Za-z0-9_.-]{1,100}");
  if (!std::regex_match(spec.knowledge_base_id, kKnowledgeBase)) {
    return fail(ErrorCode::kInvalidArgument,
                "knowledgeBaseId must be letters, digits, '_', '.' and '-'");
  }
  if (catalog == nullptr) {
    if (auto* created = object.if_contains("createdAt"); created && created->is_int64()) {
      spec.created_ms = created->as_int64();
    }
    if (auto* updated = object.if_contains("updatedAt"); updated && updated->is_int64()) {
      spec.updated_ms = updated->as_int64();
    }
  }
  return spec;
}

}  // namespace

Result<PipelineSpec> parse_pipeline_spec(std::string_view body, const catalog::Catalog& catalog,
                                         std::string_view name) {
  return parse_spec(body, &catalog, name);
}

Result<PipelineSpec> load_pipeline_spec(std::string_view stored) {
  return parse_spec(stored, nullptr, "");
}

std::string pipeline_spec_json(const PipelineSpec& spec) {
  json::object out;
  out["name"] = spec.name;
  json::object extract;
  if (!spec.extract_schema_json.empty()) extract["schema"] = json::parse(spec.extract_schema_json);
  if (!spec.extract_model.empty()) extract["model"] = spec.extract_model;
  if (!spec.extract_instructions.empty()) extract["instructions"] = spec.extract_instructions;
  out["extract"] = std::move(extract);
  json::object classify;
  if (!spec.labels.empty()) {
    json::array labels;
    for (const std::string& label : spec.labels) labels.emplace_back(label);
    classify["labels"] = std::move(labels);
  }
  if (!spec.classify_instructions.empty()) classify["instructions"] = spec.classify_instructions;
  if (!spec.classify_model.empty()) classify["model"] = spec.classify_model;
  out["classify"] = std::move(classify);
  json::object analyze;
  if (!spec.analyze_instructions.empty()) analyze["instructions"] = spec.analyze_instructions;
  if (!spec.analyze_model.empty()) analyze["model"] = spec.analyze_model;
  out["analyze"] = std::move(analyze);
  out["knowledgeBaseId"] = spec.knowledge_base_id;
  if (spec.created_ms != 0) out["createdAt"] = spec.created_ms;
  if (spec.updated_ms != 0) out["updatedAt"] = spec.updated_ms;
  return json::serialize(out);
}

Result<const catalog::ModelEntry*> resolve_text_model(const catalog::Catalog& catalog,
                                                      std::string_view requested,
                                                      catalog::ModelTier default_tier) {
  std::optional<catalog::ModelTier> tier;
  if (requested.empty()) tier = default_tier;
  if (requested == "small") tier = catalog::ModelTier::kSmall;
  if (requested == "large") tier = catalog::ModelTier::kLarge;
  if (tier) {
    const catalog::ModelEntry* any_text = nullptr;
    for (const catalog::ModelEntry& entry : catalog.entries()) {
      if (entry.kind != catalog::ModelKind::kText) continue;
      if (entry.tier == *tier) return &entry;
      if (any_text == nullptr) any_text = &entry;
    }
    if (any_text != nullptr) return any_text;
    return fail(ErrorCode::kNotFound, "the catalog has no text model");
  }
  auto model = catalog.resolve(requested);
  if (!model) return std::unexpected(model.error());
  if ((*model)->kind != catalog::ModelKind::kText) {
    return fail(ErrorCode::kInvalidArgument,
                "the model " + std::string(requested) + " is not a text model");
  }
  return *model;
}

Result<const catalog::ModelEntry*> embedding_model(const catalog::Catalog& catalog) {
  for (const catalog::ModelEntry& entry : catalog.entries()) {
    if (entry.kind == catalog::ModelKind::kEmbedding) return &entry;
  }
  return fail(ErrorCode::kNotFound, "the catalog has no embedding model");
}

}  // namespace plinth::documents
