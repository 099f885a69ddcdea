// Range checks for numbers being typed digit by digit: is the final value in range, and can a
// prefix still grow into one that is.
#pragma once

#include "plinth/structured/structured.h"
#include "schema_ir.h"

namespace plinth::structured::detail {

// Integer and fraction digits together: keeps the mantissa exact in a double, so value checks
// agree with any correctly rounding JSON parser.
constexpr int32_t kMaxNumberDigits = 15;

// The value of a finished number frame (no exponent) satisfies the spec's bounds.
bool number_value_ok(const ir::NumberSpec& spec, const Frame& f);
// Some number of at most kMaxNumberDigits digits satisfies the bounds (and multipleOf).
bool number_feasible(const ir::NumberSpec& spec);
// Some continuation of the prefix in `f` can satisfy the bounds.
bool number_prefix_feasible(const ir::NumberSpec& spec, const Frame& f);

}  // namespace plinth::structured::detail
