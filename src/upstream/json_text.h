// JSON texts that a caller sent and the API layer already accepted (tool schemas, tool inputs),
// turned back into values for an upstream's request body.
#pragma once

#include <boost/json.hpp>
#include <string_view>

namespace plinth::upstream {

// The value of `text`; an empty object when it does not parse (a schema then constrains
// nothing upstream; the validation of the answer after still does).
inline boost::json::value parsed_or_object(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) return boost::json::object{};
  return value;
}

}  // namespace plinth::upstream
