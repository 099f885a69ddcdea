// Identifiers: request ids, AWS-style access key ids and secrets, document/job ids.
#pragma once

#include <string>

#include "plinth/core/random.h"

namespace plinth {

// A UUIDv4 string, as in x-amzn-RequestId.
std::string new_uuid(Random& random);
// prefix + n characters of [A-Z2-7] (AWS access key ids look like AKIA + 16 such characters).
std::string new_base32_id(Random& random, std::string_view prefix, size_t n);
// 40 characters of base64-ish text, as AWS secret access keys.
std::string new_secret_key(Random& random);

}  // namespace plinth
