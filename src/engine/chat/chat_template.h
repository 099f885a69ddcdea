// Chat templates: recognise a model's tokenizer.chat_template by its family and render
// conversations the way that Jinja template does, without a Jinja interpreter.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "plinth/engine/engine.h"

namespace plinth::engine {

enum class ChatTemplateFamily {
  kChatMl,   // <|im_start|>role\n...<|im_end|>\n (Qwen 2/2.5/3, many fine-tunes)
  kLlama3,   // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|> (3.1+ adds a date header)
  kLlama2,   // [INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] answer </s>
  kMistral,  // [INST] ... [/INST]answer</s> (no system role: it joins the next user turn)
  kGemma,    // <start_of_turn>user\n...<end_of_turn>\n, assistant role spelled "model"
  kUnknown,
};

ChatTemplateFamily detect_chat_template(std::string_view gguf_template);
std::string_view to_string(ChatTemplateFamily family);

// Renders `messages` as the model's template would, minus the template's leading BOS token:
// encode the result with add_special = true (the tokenizer adds BOS) and parse_special = true.
// Unknown or empty templates fall back to ChatML and set *warning (when given); otherwise
// *warning is cleared.
std::string render_chat(const std::string& gguf_template, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, const Tokenizer& tokenizer,
                        std::string* warning);

}  // namespace plinth::engine
