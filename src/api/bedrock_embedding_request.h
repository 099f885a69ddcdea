// Titan Text Embeddings V2 and Cohere Embed v3 request bodies (private to the api module).
#pragma once

#include <boost/json.hpp>

#include "plinth/api/bedrock_embeddings.h"
#include "plinth/core/result.h"

namespace plinth::api {

// {"inputText", "dimensions": 256|512|1024 (1024), "normalize" (true),
//  "embeddingTypes": ["float"] | ["binary"] | both}
Result<EmbeddingInvocation> parse_titan_embedding(const boost::json::object& body);

// {"texts": 1..96 strings, "input_type" (required), "truncate": NONE|START|END,
//  "embedding_types": [float|int8|uint8|binary|ubinary]}
Result<EmbeddingInvocation> parse_cohere_embedding(const boost::json::object& body);

}  // namespace plinth::api
