// JSON-level schema algebra: $ref resolution, allOf merging, and oneOf disjointness proofs.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "plinth/core/result.h"

namespace plinth::structured {

// allOf with differing "pattern"s: the extra patterns, all of which must hold, go here.
inline constexpr std::string_view kMergedPatternsKey = "$plinthPatterns";

std::unexpected<Error> unsupported(std::string_view keyword, const std::string& path,
                                   std::string_view why = {});

// Resolves references and allOf against one document.
class SchemaAlgebra {
 public:
  explicit SchemaAlgebra(const boost::json::value& root) : root_(root) {}

  // Local references only: "#", "#/json/pointer".
  Result<const boost::json::value*> resolve_ref(std::string_view ref,
                                                const std::string& path) const;
  // The schema with its top-level $ref and allOf folded in (sub-schemas stay unmerged, combined
  // lazily as {"allOf": [...]}). A boolean false schema becomes {"type": []}.
  Result<boost::json::object> flatten(const boost::json::value& schema, const std::string& path,
                                      int depth = 0) const;
  // Intersection of two flattened schemas; kInvalidArgument where it cannot be expressed.
  Result<boost::json::object> merge(boost::json::object a, const boost::json::object& b,
                                    const std::string& path) const;
  // True when no instance can be valid for two of the alternatives (so oneOf == anyOf).
  bool alternatives_disjoint(const boost::json::array& alternatives, const std::string& path) const;

 private:
  const boost::json::value& root_;
  // Sub-schemas flattened so far: bounds $ref/allOf expansion (which can grow exponentially).
  mutable size_t expansions_ = 0;
};

// Whether a declared property name satisfies a flattened "propertyNames" schema; refuses
// keywords other than type/enum/const/minLength/maxLength/pattern/format.
Result<bool> name_satisfies(const boost::json::object& names, std::string_view name,
                            const std::string& path);

// Keywords that constrain instances (everything else is an annotation).
bool is_constraint_keyword(std::string_view key);
// Constraint keywords the compiler recognises but cannot enforce: refusing them keeps the promise
// that every finished output validates.
bool is_unenforceable_keyword(std::string_view key);

}  // namespace plinth::structured
