// A document pipeline's definition: what to extract (a JSON Schema), the labels to classify into,
// the analysis instructions, the models of each step and the knowledge base chunks go to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/catalog/catalog.h"
#include "plinth/core/result.h"

namespace plinth::documents {

struct PipelineSpec {
  std::string name;  // [A-Za-z0-9_.-]{1,64}, unique per account
  // Extraction; skipped when the schema is empty.
  std::string extract_schema_json;
  std::string
      extract_model;  // as the caller named it: an id, alias, "small" or "large"; "" = small
  std::string extract_instructions;
  // Classification; skipped when there are no labels.
  std::vector<std::string> labels;
  std::string classify_instructions;
  std::string classify_model;  // "" = small
  // Analysis by the large tier.
  std::string analyze_instructions;
  std::string analyze_model;      // "" = large
  std::string knowledge_base_id;  // "" in a request: "kb-<name>"
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// Parses and validates a create/update body. `name` (from the path of an update) wins over the
// body's. kInvalidArgument names the problem: a bad name, a schema that does not compile, an
// unknown or non-text model, duplicate labels.
Result<PipelineSpec> parse_pipeline_spec(std::string_view body, const catalog::Catalog& catalog,
                                         std::string_view name = "");
// A definition written by pipeline_spec_json (no catalog checks: they ran when it was stored).
Result<PipelineSpec> load_pipeline_spec(std::string_view stored);
// The stored and returned form (the same shape as the create body, plus times).
std::string pipeline_spec_json(const PipelineSpec& spec);

// The model a step runs on: the named id/alias, the tier named "small" or "large", or (empty) the
// first text model of `default_tier`, falling back to any text model. kNotFound when none.
Result<const catalog::ModelEntry*> resolve_text_model(const catalog::Catalog& catalog,
                                                      std::string_view requested,
                                                      catalog::ModelTier default_tier);
// The catalog's first embedding model; kNotFound when it has none.
Result<const catalog::ModelEntry*> embedding_model(const catalog::Catalog& catalog);

}  // namespace plinth::documents
