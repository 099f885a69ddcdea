// Bedrock control-plane request bodies for application inference profiles and their tags, and
// Converse requestMetadata: parsed and checked against Bedrock's limits (private to api).
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/ledger/ledger.h"
#include "plinth/store/inference_profiles.h"

namespace plinth::api {

inline constexpr size_t kMaxTagsPerResource = 200;  // Bedrock's tags per resource
inline constexpr size_t kMaxRequestMetadataPairs = 16;

// CreateInferenceProfile (POST /inference-profiles).
struct CreateProfileRequest {
  std::string name;
  std::string description;
  std::string copy_from;
  std::string client_request_token;
  std::vector<store::ProfileTag> tags;  // unique keys, at most kMaxTagsPerResource
};
Result<CreateProfileRequest> parse_create_profile_request(std::string_view body);

// TagResource (POST /tagResource).
struct TagResourceRequest {
  std::string resource_arn;
  std::vector<store::ProfileTag> tags;
};
Result<TagResourceRequest> parse_tag_resource_request(std::string_view body);

// UntagResource (POST /untagResource).
struct UntagResourceRequest {
  std::string resource_arn;
  std::vector<std::string> tag_keys;
};
Result<UntagResourceRequest> parse_untag_resource_request(std::string_view body);

// ListTagsForResource (POST /listTagsForResource): the resourceARN.
Result<std::string> parse_list_tags_request(std::string_view body);

// Converse's requestMetadata: at most 16 pairs, keys 1-256 and values 0-256 characters of
// [a-zA-Z0-9 whitespace :_@$#=/+,-.]; absent: none. kInvalidArgument otherwise.
Result<ledger::Labels> parse_request_metadata(const boost::json::object& body);

// Whether `name` fits the inference profile name rules (1-64 of ([0-9a-zA-Z:.][ _-]?)+).
bool is_valid_profile_name(std::string_view name);

}  // namespace plinth::api
