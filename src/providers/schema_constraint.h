// SchemaConstraint: the provider's bridge to the structured module (compile, constrain, validate).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "plinth/core/result.h"
#include "plinth/engine/engine.h"

namespace plinth::providers {

class SchemaConstraint {
 public:
  // Compiles (cached by schema hash) and binds the schema to the tokenizer's vocabulary.
  static Result<std::unique_ptr<SchemaConstraint>> create(std::string_view schema_json,
                                                          const engine::Tokenizer& tokenizer,
                                                          int32_t max_tokens);
  ~SchemaConstraint();

  engine::TokenConstraint* token_constraint() { return constraint_.get(); }
  // Independent validation of the finished output (valijson).
  bool validate(std::string_view output) const;

 private:
  SchemaConstraint() = default;
  std::string schema_json_;
  std::unique_ptr<engine::TokenConstraint> constraint_;
};

}  // namespace plinth::providers
