// Renders each recognised chat-template family exactly as its reference Jinja template does.
#include "chat/chat_template.h"

#include <optional>

namespace plinth::engine {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Jinja's trim / Python's strip(): ASCII whitespace at both ends.
std::string trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const size_t last = s.find_last_not_of(kSpace);
  return std::string(s.substr(first, last - first + 1));
}

std::string special_text(const Tokenizer& tokenizer, std::optional<TokenId> id,
                         std::string_view fallback) {
  if (!id) return std::string(fallback);
  std::string text = tokenizer.token_bytes(*id, /*render_special=*/true);
  return text.empty() ? std::string(fallback) : text;
}

// The literal default system prompt of templates such as Qwen 2's
// "{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}", if there is one.
std::optional<std::string> chatml_default_system(std::string_view tmpl) {
  constexpr std::string_view kOpen = "<|im_start|>system";
  for (size_t pos = tmpl.find(kOpen); pos != std::string_view::npos;
       pos = tmpl.find(kOpen, pos + 1)) {
    size_t start = pos + kOpen.size();
    if (tmpl.substr(start, 1) == "\n") {
      start += 1;
    } else if (tmpl.substr(start, 2) == "\\n") {
      start += 2;
    } else {
      continue;
    }
    const size_t end = tmpl.find("<|im_end|>", start);
    if (end == std::string_view::npos) continue;
    std::string_view text = tmpl.substr(start, end - start);
    // Only a plain literal: anything with quotes or expressions is built from the messages.
    if (text.empty() || contains(text, "'") || contains(text, "\"") || contains(text, "{") ||
        contains(text, "+")) {
      continue;
    }
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == 'n') {
        out += '\n';
        ++i;
      } else {
        out += text[i];
      }
    }
    return out;
  }
  return std::nullopt;
}

std::string_view strip_newlines(std::string_view s, bool front, bool back) {
  while (front && !s.empty() && s.front() == '\n') s.remove_prefix(1);
  while (back && !s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

// An assistant turn as Qwen 3's template writes it: reasoning ("<think>...</think>") is dropped
// from turns up to the last user query and kept, re-wrapped, after it (and always on the last
// message, so a prefilled answer continues inside its think block).
std::string qwen3_assistant_turn(std::string_view content, bool after_last_query, bool is_last) {
  std::string_view reasoning;
  const size_t close = content.find("</think>");
  if (close != std::string_view::npos) {
    std::string_view before = strip_newlines(content.substr(0, close), false, true);
    const size_t open = before.rfind("<think>");
    if (open != std::string_view::npos) before = before.substr(open + 7);
    reasoning = strip_newlines(before, true, false);
    content = strip_newlines(content.substr(content.rfind("</think>") + 8), true, false);
  }
  if (after_last_query && (is_last || !reasoning.empty())) {
    return "<|im_start|>assistant\n<think>\n" + std::string(strip_newlines(reasoning, true, true)) +
           "\n</think>\n\n" + std::string(strip_newlines(content, true, false)) + "<|im_end|>\n";
  }
  return "<|im_start|>assistant\n" + std::string(content) + "<|im_end|>\n";
}

std::string render_chatml(std::string_view tmpl, std::span<const ChatMessage> messages,
                          bool add_generation_prompt) {
  std::string out;
  if (!messages.empty() && messages[0].role != "system") {
    if (auto system = chatml_default_system(tmpl)) {
      out += "<|im_start|>system\n" + *system + "<|im_end|>\n";
    }
  }
  const bool thinking = contains(tmpl, "</think>");
  size_t last_query = messages.empty() ? 0 : messages.size() - 1;
  for (size_t i = messages.size(); i-- > 0;) {
    if (messages[i].role == "user") {
      last_query = i;
      break;
    }
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (thinking && m.role == "assistant") {
      out += qwen3_assistant_turn(m.content, i > last_query, i + 1 == messages.size());
    } else {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string render_llama3(std::string_view tmpl, std::span<const ChatMessage> messages,
                          bool add_generation_prompt) {
  std::string out;
  auto turn = [&](std::string_view role, std::string_view content) {
    out += "<|start_header_id|>";
    out += role;
    out += "<|end_header_id|>\n\n";
    out += content;
    out += "<|eot_id|>";
  };
  if (contains(tmpl, "Cutting Knowledge Date")) {
    // Llama 3.1+: the system turn always exists and carries the knowledge-cutoff header.
    // date_string is the template's own default (3.2 would use today's date if it could).
    std::string system;
    if (!messages.empty() && messages[0].role == "system") {
      system = trim(messages[0].content);
      messages = messages.subspan(1);
    }
    turn("system", "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" + system);
  }
  for (const ChatMessage& m : messages) turn(m.role, trim(m.content));
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_llama2(std::span<const ChatMessage> messages, const Tokenizer& tokenizer) {
  const std::string bos = special_text(tokenizer, tokenizer.bos(), "<s>");
  const std::string eos = special_text(tokenizer, tokenizer.eos(), "</s>");
  std::string system;
  bool has_system = false;
  if (!messages.empty() && messages[0].role == "system") {
    system = messages[0].content;
    has_system = true;
    messages = messages.subspan(1);
  }
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    std::string content = m.content;
    if (i == 0 && has_system) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
    if (m.role == "user") {
      // Every user turn opens with BOS; the first one comes from the tokenizer instead.
      out += (out.empty() ? "" : bos) + "[INST] " + trim(content) + " [/INST]";
    } else if (m.role == "assistant") {
      out += " " + trim(content) + " " + eos;
    }
  }
  return out;
}

std::string render_mistral(std::string_view tmpl, std::span<const ChatMessage> messages,
                           const Tokenizer& tokenizer) {
  // Mistral 7B v0.1 follows each answer with "</s> ", later versions with "</s>".
  const std::string eos = special_text(tokenizer, tokenizer.eos(), "</s>") +
                          (contains(tmpl, "eos_token + ' '") ? " " : "");
  std::string pending_system;
  std::string out;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      pending_system += m.content + "\n";  // as llama.cpp: joined to the next user turn
    } else if (m.role == "user") {
      out += "[INST] " + pending_system + m.content + " [/INST]";
      pending_system.clear();
    } else if (m.role == "assistant") {
      out += m.content + eos;
    }
  }
  return out;
}

std::string render_gemma(std::span<const ChatMessage> messages, bool add_generation_prompt) {
  // Gemma has no system role: as Gemma 3's template, the system text prefixes the first user turn.
  std::string prefix;
  if (!messages.empty() && messages[0].role == "system") {
    prefix = messages[0].content + "\n\n";
    messages = messages.subspan(1);
  }
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const std::string role = m.role == "assistant" ? "model" : m.role;
    out += "<start_of_turn>" + role + "\n" + (i == 0 ? prefix : "") + trim(m.content) +
           "<end_of_turn>\n";
  }
  if (add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace

ChatTemplateFamily detect_chat_template(std::string_view t) {
  if (contains(t, "<|im_start|>")) return ChatTemplateFamily::kChatMl;
  if (contains(t, "<|start_header_id|>")) return ChatTemplateFamily::kLlama3;
  if (contains(t, "<start_of_turn>")) return ChatTemplateFamily::kGemma;
  if (contains(t, "[INST]")) {
    return contains(t, "<<SYS>>") ? ChatTemplateFamily::kLlama2 : ChatTemplateFamily::kMistral;
  }
  return ChatTemplateFamily::kUnknown;
}

std::string_view to_string(ChatTemplateFamily family) {
  switch (family) {
    case ChatTemplateFamily::kChatMl:
      return "chatml";
    case ChatTemplateFamily::kLlama3:
      return "llama3";
    case ChatTemplateFamily::kLlama2:
      return "llama2";
    case ChatTemplateFamily::kMistral:
      return "mistral";
    case ChatTemplateFamily::kGemma:
      return "gemma";
    case ChatTemplateFamily::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string render_chat(const std::string& gguf_template, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, const Tokenizer& tokenizer,
                        std::string* warning) {
  if (warning != nullptr) warning->clear();
  switch (detect_chat_template(gguf_template)) {
    case ChatTemplateFamily::kChatMl:
      return render_chatml(gguf_template, messages, add_generation_prompt);
    case ChatTemplateFamily::kLlama3:
      return render_llama3(gguf_template, messages, add_generation_prompt);
    case ChatTemplateFamily::kLlama2:
      return render_llama2(messages, tokenizer);
    case ChatTemplateFamily::kMistral:
      return render_mistral(gguf_template, messages, tokenizer);
    case ChatTemplateFamily::kGemma:
      return render_gemma(messages, add_generation_prompt);
    case ChatTemplateFamily::kUnknown:
      break;
  }
  if (warning != nullptr) {
    *warning = gguf_template.empty() ? "model has no chat template; using ChatML"
                                     : "unrecognised chat template; using ChatML";
  }
  return render_chatml("", messages, add_generation_prompt);
}

}  // namespace plinth::engine
