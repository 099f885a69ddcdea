// Whole-grammar passes run after building: shortest instances, pruning, union flattening.
#pragma once

#include "plinth/core/result.h"
#include "schema_ir.h"

namespace plinth::structured {

// Computes min_bytes for every node, removes choices that can never finish (so the matcher can
// never be trapped), flattens unions, builds key tries. kInvalidArgument when the root schema
// admits no finite instance.
Status finish_grammar(ir::Grammar& g);

}  // namespace plinth::structured
