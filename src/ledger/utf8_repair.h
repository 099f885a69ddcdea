// Text from stored rows made safe for JSON writers: invalid UTF-8 replaced, never passed on.
#pragma once

#include <string>
#include <string_view>

namespace plinth::ledger {

// `text` with every byte that does not start a well-formed UTF-8 sequence replaced by U+FFFD
// (rows stored before tags were validated may hold any bytes).
std::string repaired_utf8(std::string_view text);

}  // namespace plinth::ledger
