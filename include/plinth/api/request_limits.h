// Limits every wire-format parser applies to what a caller may ask for.
#pragma once

#include <cstdint>

namespace plinth::api {

struct RequestLimits {
  int32_t max_tokens = 4096;         // the largest maxTokens / max_tokens accepted
  int32_t default_max_tokens = 512;  // used when the request names none (Converse, OpenAI)
  int32_t max_stop_sequences = 16;
  int32_t max_embedding_inputs = 256;  // OpenAI /v1/embeddings input array
};

}  // namespace plinth::api
