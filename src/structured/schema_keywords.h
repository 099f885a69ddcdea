// Keyword readers shared by the schema compiler: numbers, string automata, literal checks.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/core/result.h"
#include "regex_dfa.h"
#include "schema_ir.h"

namespace plinth::structured {

// A non-negative integer keyword, capped at 1e9; nullopt when absent or not a number.
std::optional<int32_t> int_keyword(const boost::json::object& s, std::string_view key);
// Formats no validator checks (pure annotations, or Zod's names for a check its pattern is).
bool format_is_annotation(std::string_view format);
// The automaton for a string's "format" and every "pattern" together (all must hold), or
// nullopt when neither constrains it. kInvalidArgument names the keyword and path.
Result<std::optional<ByteDfa>> string_dfa(const boost::json::object& s, const std::string& path);
// Bounds and multipleOf of a number schema; kInvalidArgument for what cannot be generated.
Result<ir::NumberSpec> number_spec(const boost::json::object& s, bool integer,
                                   const std::string& path);
// multipleOf as m * 10^-k (m whole, up to 1e9; k up to 6, smallest), e.g. 0.01 = (1, 2).
std::optional<std::pair<uint64_t, int32_t>> decimal_multiple(double m);
// A listed (const/enum) value satisfies the schema's string or number keywords.
bool string_literal_ok(const boost::json::object& s, const std::optional<ByteDfa>& dfa,
                       std::string_view text);
bool number_literal_ok(const ir::NumberSpec& spec, double v);

}  // namespace plinth::structured
