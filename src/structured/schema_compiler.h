// JSON Schema -> grammar (ir::Grammar) compiler.
#pragma once

#include <string_view>

#include "plinth/core/result.h"
#include "schema_ir.h"

namespace plinth::structured {

Result<ir::Grammar> compile_grammar(std::string_view schema_json);

}  // namespace plinth::structured
