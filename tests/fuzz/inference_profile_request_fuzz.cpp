// Fuzz harness: the inference-profile control-plane bodies (Create, TagResource, UntagResource,
// ListTagsForResource), Converse requestMetadata, usage group_by values and stored label JSON,
// from arbitrary bytes.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/inference_profile_request.h"
#include "plinth/ledger/ledger.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)plinth::api::parse_create_profile_request(body);
  (void)plinth::api::parse_tag_resource_request(body);
  (void)plinth::api::parse_untag_resource_request(body);
  (void)plinth::api::parse_list_tags_request(body);
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec);
  if (!ec && value.is_object()) (void)plinth::api::parse_request_metadata(value.as_object());
  (void)plinth::ledger::parse_grouping(body);
  (void)plinth::ledger::parse_labels_json(body);
  return 0;
}
