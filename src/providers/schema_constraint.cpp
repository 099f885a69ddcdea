// SchemaConstraint: compiles through the structured module's cache and validates with valijson.
#include "schema_constraint.h"

#include "plinth/structured/structured.h"

namespace plinth::providers {

SchemaConstraint::~SchemaConstraint() = default;

Result<std::unique_ptr<SchemaConstraint>> SchemaConstraint::create(
    std::string_view schema_json, const engine::Tokenizer& tokenizer, int32_t max_tokens) {
  auto compiled = structured::compile_schema(schema_json);
  if (!compiled) return std::unexpected(compiled.error());
  std::unique_ptr<SchemaConstraint> c(new SchemaConstraint());
  c->schema_json_ = std::string(schema_json);
  structured::ConstraintOptions options;
  options.max_tokens = max_tokens;
  c->constraint_ =
      structured::make_constraint(*compiled, structured::token_index_for(tokenizer), options);
  return c;
}

bool SchemaConstraint::validate(std::string_view output) const {
  return structured::validate(schema_json_, output).has_value();
}

}  // namespace plinth::providers
