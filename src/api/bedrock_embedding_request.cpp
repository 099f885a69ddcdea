// Titan Text Embeddings V2 and Cohere Embed v3 InvokeModel bodies: every field checked, every
// size and count bounded before any work proportional to it.
#include "bedrock_embedding_request.h"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

#include "json_input.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using json_input::malformed;

constexpr std::array<int32_t, 3> kTitanDimensions = {256, 512, 1024};
constexpr std::array<std::string_view, 4> kCohereInputTypes = {"search_document", "search_query",
                                                               "classification", "clustering"};

// Characters, not bytes: the models' documented limits count characters.
size_t utf8_length(std::string_view text) {
  return static_cast<size_t>(std::ranges::count_if(
      text, [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string joined(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

struct NamedType {
  std::string_view name;
  EmbeddingType type;
};
constexpr std::array<NamedType, 2> kTitanTypes = {
    {{"float", EmbeddingType::kFloat}, {"binary", EmbeddingType::kBinary}}};
constexpr std::array<NamedType, 5> kCohereTypes = {{{"float", EmbeddingType::kFloat},
                                                    {"int8", EmbeddingType::kInt8},
                                                    {"uint8", EmbeddingType::kUint8},
                                                    {"binary", EmbeddingType::kBinary},
                                                    {"ubinary", EmbeddingType::kUbinary}}};

// An optional array of distinct names from `allowed`.
Result<std::vector<EmbeddingType>> embedding_types(const json::object& body, std::string_view key,
                                                   std::span<const NamedType> allowed) {
  std::string names;
  for (const NamedType& entry : allowed)
    names += (names.empty() ? "" : ", ") + std::string(entry.name);
  auto array = json_input::optional_array(body, key, key);
  if (!array) return std::unexpected(array.error());
  std::vector<EmbeddingType> types;
  if (*array == nullptr) return types;
  if ((*array)->empty() || (*array)->size() > allowed.size()) {
    return malformed(key, "expected 1 to " + std::to_string(allowed.size()) + " of " + names);
  }
  for (const json::value& item : **array) {
    const json::string* name = item.if_string();
    auto found = name == nullptr
                     ? allowed.end()
                     : std::ranges::find(allowed, std::string_view(*name), &NamedType::name);
    if (found == allowed.end()) return malformed(key, "each item must be one of " + names);
    if (std::ranges::find(types, found->type) != types.end()) {
      return malformed(key, "'" + std::string(found->name) + "' is listed twice");
    }
    types.push_back(found->type);
  }
  return types;
}

}  // namespace

Result<EmbeddingInvocation> parse_titan_embedding(const json::object& body) {
  auto text = json_input::optional_string(body, "inputText", "inputText");
  if (!text) return std::unexpected(text.error());
  if (!*text || (*text)->empty()) return malformed("inputText", "a non-empty string is required");
  if (utf8_length(**text) > kMaxTitanInputCharacters) {
    return malformed("inputText", "at most " + std::to_string(kMaxTitanInputCharacters) +
                                      " characters are allowed");
  }
  EmbeddingInvocation invocation;
  invocation.texts.push_back(std::move(**text));
  invocation.request.dimensions = kTitanDefaultDimensions;
  invocation.request.sizes_offered.assign(kTitanDimensions.begin(), kTitanDimensions.end());
  auto dimensions = json_input::optional_integer(body, "dimensions", "dimensions");
  if (!dimensions) return std::unexpected(dimensions.error());
  if (*dimensions) {
    if (std::ranges::find(kTitanDimensions, **dimensions) == kTitanDimensions.end()) {
      return malformed("dimensions",
                       std::to_string(**dimensions) + " is not supported; use 256, 512 or 1024");
    }
    invocation.request.dimensions = static_cast<int32_t>(**dimensions);
  }
  auto normalize = json_input::optional_bool(body, "normalize", "normalize");
  if (!normalize) return std::unexpected(normalize.error());
  invocation.request.normalize = normalize->value_or(true);
  auto types = embedding_types(body, "embeddingTypes", kTitanTypes);
  if (!types) return std::unexpected(types.error());
  invocation.types = std::move(*types);
  return invocation;
}

Result<EmbeddingInvocation> parse_cohere_embedding(const json::object& body) {
  if (body.contains("images")) {
    return malformed("images", "image inputs are not supported; send texts");
  }
  auto texts = json_input::optional_array(body, "texts", "texts");
  if (!texts) return std::unexpected(texts.error());
  if (*texts == nullptr || (*texts)->empty() || (*texts)->size() > kMaxCohereTexts) {
    return malformed("texts",
                     "expected an array of 1 to " + std::to_string(kMaxCohereTexts) + " strings");
  }
  EmbeddingInvocation invocation;
  for (size_t i = 0; i < (*texts)->size(); ++i) {
    const json::string* text = (**texts)[i].if_string();
    std::string path = "texts." + std::to_string(i);
    if (text == nullptr || text->empty()) return malformed(path, "a non-empty string is required");
    if (utf8_length(*text) > kMaxCohereTextCharacters) {
      return malformed(
          path, "at most " + std::to_string(kMaxCohereTextCharacters) + " characters are allowed");
    }
    invocation.texts.emplace_back(*text);
  }
  auto input_type = json_input::optional_string(body, "input_type", "input_type");
  if (!input_type) return std::unexpected(input_type.error());
  if (!*input_type || std::ranges::find(kCohereInputTypes, std::string_view(**input_type)) ==
                          kCohereInputTypes.end()) {
    return malformed("input_type", "required, one of " + joined(kCohereInputTypes));
  }
  auto truncate = json_input::optional_string(body, "truncate", "truncate");
  if (!truncate) return std::unexpected(truncate.error());
  using providers::EmbeddingTruncation;
  if (!*truncate || **truncate == "NONE") {
    invocation.request.truncation = EmbeddingTruncation::kNone;
  } else if (**truncate == "START") {
    invocation.request.truncation = EmbeddingTruncation::kStart;
  } else if (**truncate == "END") {
    invocation.request.truncation = EmbeddingTruncation::kEnd;
  } else {
    return malformed("truncate", "one of NONE, START, END");
  }
  auto types = embedding_types(body, "embedding_types", kCohereTypes);
  if (!types) return std::unexpected(types.error());
  invocation.types = std::move(*types);
  invocation.request.dimensions = kCohereDimensions;
  invocation.request.sizes_offered = {kCohereDimensions};
  invocation.request.normalize = true;
  return invocation;
}

}  // namespace plinth::api
