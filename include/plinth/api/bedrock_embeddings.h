// Bedrock embedding-model bodies as InvokeModel carries them: Titan Text Embeddings V2 and
// Cohere Embed v3 requests, and their responses in each model's own shape.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/providers/provider.h"

namespace plinth::api {

// Titan: float | binary. Cohere: float | int8 | uint8 | binary | ubinary.
enum class EmbeddingType { kFloat, kInt8, kUint8, kBinary, kUbinary };

// One embedding call: the texts and how each is embedded and answered.
struct EmbeddingInvocation {
  // Model, dimensions, normalize, truncation and offered sizes; `text` is set per text.
  providers::EmbeddingRequest request;
  std::vector<std::string> texts;  // Titan: one; Cohere: 1..kMaxCohereTexts
  // The types asked for, in the caller's order, without repeats; empty: the default shape
  // (Titan: float; Cohere: the plain "embeddings_floats" answer).
  std::vector<EmbeddingType> types;
};

// Titan V2's output sizes (1024 unless the body says otherwise) and input bound.
inline constexpr int32_t kTitanDefaultDimensions = 1024;
inline constexpr size_t kMaxTitanInputCharacters = 50'000;
// Cohere Embed v3: 1024-wide vectors, at most 96 texts of 2048 characters each.
inline constexpr int32_t kCohereDimensions = 1024;
inline constexpr size_t kMaxCohereTexts = 96;
inline constexpr size_t kMaxCohereTextCharacters = 2048;

// {"embedding":[...],"embeddingsByType":{"float":[...],"binary":[0,1,...]},
//  "inputTextTokenCount":N}: `embedding` is always the float vector.
std::string titan_embedding_response_json(const EmbeddingInvocation& invocation,
                                          const providers::EmbeddingResponse& response);

// {"embeddings":[[...]] | {"float":[[...]],"int8":[[...]],...},"id":id,
//  "response_type":"embeddings_floats"|"embeddings_by_type","texts":[...]}
std::string cohere_embedding_response_json(const EmbeddingInvocation& invocation,
                                           const std::vector<providers::EmbeddingResponse>& results,
                                           std::string_view id);

// The quantized forms. Titan binary: one 0/1 per dimension (1 where the value is positive).
// Cohere int8/uint8: each value scaled by 127 / the vector's largest magnitude (uint8 adds 128).
// Cohere binary/ubinary: the same sign bits packed eight to a byte, first dimension in the high
// bit, as int8 (byte - 128) or uint8.
std::vector<int> sign_bits(std::span<const float> values);
std::vector<int> quantize_int8(std::span<const float> values, bool unsigned_offset);
std::vector<int> pack_sign_bits(std::span<const float> values, bool unsigned_bytes);

}  // namespace plinth::api
