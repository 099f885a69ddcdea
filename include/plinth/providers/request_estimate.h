// The prompt-token upper bound that budget reservations hold before a model call. Inline: the
// gateway and the document pipeline reserve budgets with it but use only the providers' types,
// not the engine-backed provider library.
#pragma once

#include <cstdint>
#include <string>

#include "plinth/providers/provider.h"

namespace plinth::providers {

// Every text byte plus room for a chat template (a token covers at least one byte in the
// tokenizers served).
inline int64_t estimated_input_tokens(const InferenceRequest& request) {
  constexpr int64_t kPerMessage = 8;  // role markers and separators of a chat template
  int64_t bytes = 16;
  for (const std::string& text : request.system) bytes += static_cast<int64_t>(text.size());
  for (const Message& message : request.messages) {
    bytes += kPerMessage;
    for (const ContentBlock& block : message.content) {
      bytes += static_cast<int64_t>(block.text.size() + block.tool_name.size() +
                                    block.tool_input_json.size() + block.tool_use_id.size());
    }
  }
  for (const ToolSpec& tool : request.tools) {
    bytes += kPerMessage + static_cast<int64_t>(tool.name.size() + tool.description.size() +
                                                tool.input_schema_json.size());
  }
  if (request.output_schema_json) bytes += static_cast<int64_t>(request.output_schema_json->size());
  return bytes;
}

}  // namespace plinth::providers
