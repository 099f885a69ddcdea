// Schema-guided extraction of one document's text, shared by the pipeline's extract stage and
// `plinth extract` (which runs it without a server).
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "plinth/catalog/catalog.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::documents {

struct ExtractionRequest {
  std::string_view text;          // the document's text
  std::string_view schema_json;   // a JSON Schema that compiles
  std::string_view instructions;  // "" = a generic instruction
  int max_tokens = 512;
  size_t max_prompt_chars = 12'000;  // document text in the prompt; halved on kContextLength
  const std::atomic<bool>* cancel = nullptr;
};

struct Extraction {
  std::string json;  // validated against the schema
  providers::InferenceResponse response;
};

// kInvalidArgument when the model's output does not validate (too few max_tokens).
Result<Extraction> extract_json(providers::Provider& provider, const catalog::ModelEntry& model,
                                const ExtractionRequest& request);

// The media type of a file from its name (.pdf, .html/.htm, .md/.markdown, .txt); "" otherwise.
std::string media_type_from_filename(std::string_view name);

}  // namespace plinth::documents
