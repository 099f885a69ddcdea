// Rewrites a schema so valijson never evaluates a regular expression (it would use std::regex).
#pragma once

#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::structured {

// Every string of an instance: values and object keys (the only strings a schema's "pattern",
// "format", "patternProperties" and "propertyNames" are ever applied to).
std::set<std::string> instance_strings(const boost::json::value& instance);

// Rewrites `schema` in place for valijson 1.0, given the strings of the one instance it will
// check. "pattern" becomes "not a string, or one of the instance's strings that match" (decided
// here with the linear-time automaton), "patternProperties" becomes "properties" for the
// instance's keys that match, "format" date/time/date-time are decided here the same way (as
// valijson would, except that a time's offset is optional as in Zod) and other formats are
// dropped (valijson ignores them). Also drops nested ids and spells out OpenAPI's nullable.
// A "pattern" the automaton cannot compile is skipped (the compiler refuses every one it meets
// on the way to a string). kInvalidArgument for such patternProperties, or too much work.
// A decimal "multipleOf" such as 0.01 (valijson's floating remainder gets those wrong) becomes
// "not a number, or one of the instance's numbers that is a multiple", decided exactly on each
// number's shortest decimal spelling (what JavaScript and so Zod see).
Status rewrite_for_valijson(boost::json::value& schema, const std::set<std::string>& strings,
                            const std::vector<boost::json::value>& numbers = {});
// Every number of an instance.
std::vector<boost::json::value> instance_numbers(const boost::json::value& instance);

}  // namespace plinth::structured
