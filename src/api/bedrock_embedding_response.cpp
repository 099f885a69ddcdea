// Titan Text Embeddings V2 and Cohere Embed v3 response bodies, and the quantized forms
// (int8, uint8, sign bits, packed sign bits) both models offer.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <iterator>

#include "float_array.h"
#include "plinth/api/bedrock_embeddings.h"

namespace plinth::api {
namespace {

std::string int_array_json(const std::vector<int>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    fmt::format_to(std::back_inserter(out), "{}", values[i]);
  }
  out += ']';
  return out;
}

std::string_view type_name(EmbeddingType type) {
  switch (type) {
    case EmbeddingType::kFloat:
      return "float";
    case EmbeddingType::kInt8:
      return "int8";
    case EmbeddingType::kUint8:
      return "uint8";
    case EmbeddingType::kBinary:
      return "binary";
    case EmbeddingType::kUbinary:
      return "ubinary";
  }
  return "float";
}

// One vector in the given Cohere type.
std::string cohere_vector_json(EmbeddingType type, std::span<const float> values) {
  switch (type) {
    case EmbeddingType::kFloat:
      return float_array_json(values);
    case EmbeddingType::kInt8:
      return int_array_json(quantize_int8(values, false));
    case EmbeddingType::kUint8:
      return int_array_json(quantize_int8(values, true));
    case EmbeddingType::kBinary:
      return int_array_json(pack_sign_bits(values, false));
    case EmbeddingType::kUbinary:
      return int_array_json(pack_sign_bits(values, true));
  }
  return "[]";
}

std::string cohere_vectors_json(EmbeddingType type,
                                const std::vector<providers::EmbeddingResponse>& results) {
  std::string out = "[";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i) out += ',';
    out += cohere_vector_json(type, results[i].embedding);
  }
  out += ']';
  return out;
}

std::string json_string(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

}  // namespace

std::vector<int> sign_bits(std::span<const float> values) {
  std::vector<int> bits;
  bits.reserve(values.size());
  for (float v : values) bits.push_back(v > 0 ? 1 : 0);
  return bits;
}

std::vector<int> quantize_int8(std::span<const float> values, bool unsigned_offset) {
  float largest = 0;
  for (float v : values) {
    if (std::isfinite(v)) largest = std::max(largest, std::fabs(v));
  }
  std::vector<int> out;
  out.reserve(values.size());
  for (float v : values) {
    int q = 0;
    if (largest > 0 && std::isfinite(v)) {
      q = static_cast<int>(std::lround(v / largest * 127.0f));
      q = std::clamp(q, -128, 127);
    }
    out.push_back(unsigned_offset ? q + 128 : q);
  }
  return out;
}

std::vector<int> pack_sign_bits(std::span<const float> values, bool unsigned_bytes) {
  std::vector<int> out;
  out.reserve((values.size() + 7) / 8);
  for (size_t i = 0; i < values.size(); i += 8) {
    int byte = 0;
    for (size_t bit = 0; bit < 8; ++bit) {
      byte <<= 1;
      if (i + bit < values.size() && values[i + bit] > 0) byte |= 1;
    }
    out.push_back(unsigned_bytes ? byte : byte - 128);
  }
  return out;
}

std::string titan_embedding_response_json(const EmbeddingInvocation& invocation,
                                          const providers::EmbeddingResponse& response) {
  std::string floats = float_array_json(response.embedding);
  std::string by_type;
  std::vector<EmbeddingType> types = invocation.types;
  if (types.empty()) types.push_back(EmbeddingType::kFloat);
  for (EmbeddingType type : types) {
    if (!by_type.empty()) by_type += ',';
    by_type += "\"" + std::string(type_name(type)) + "\":";
    by_type +=
        type == EmbeddingType::kBinary ? int_array_json(sign_bits(response.embedding)) : floats;
  }
  return "{\"embedding\":" + floats + ",\"embeddingsByType\":{" + by_type +
         "},\"inputTextTokenCount\":" + std::to_string(response.input_tokens) + "}";
}

std::string cohere_embedding_response_json(const EmbeddingInvocation& invocation,
                                           const std::vector<providers::EmbeddingResponse>& results,
                                           std::string_view id) {
  std::string embeddings;
  if (invocation.types.empty()) {
    embeddings = cohere_vectors_json(EmbeddingType::kFloat, results);
  } else {
    embeddings = "{";
    for (EmbeddingType type : invocation.types) {
      if (embeddings.size() > 1) embeddings += ',';
      embeddings +=
          "\"" + std::string(type_name(type)) + "\":" + cohere_vectors_json(type, results);
    }
    embeddings += "}";
  }
  std::string texts = "[";
  for (size_t i = 0; i < invocation.texts.size(); ++i) {
    if (i) texts += ',';
    texts += json_string(invocation.texts[i]);
  }
  texts += "]";
  return "{\"embeddings\":" + embeddings + ",\"id\":" + json_string(id) + ",\"response_type\":\"" +
         (invocation.types.empty() ? "embeddings_floats" : "embeddings_by_type") +
         "\",\"texts\":" + texts + "}";
}

}  // namespace plinth::api
