// OpenAI chat.completion / chat.completion.chunk / embedding list response bodies.
#include <algorithm>
#include <boost/json.hpp>
#include <cstring>

#include "float_array.h"
#include "plinth/api/errors.h"
#include "plinth/api/openai.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using providers::ContentBlock;

std::string text_of(const providers::InferenceResponse& response) {
  std::string text;
  for (const ContentBlock& block : response.content) {
    if (block.kind == ContentBlock::Kind::kText) text += block.text;
  }
  return text;
}

json::array tool_calls_of(const providers::InferenceResponse& response) {
  json::array calls;
  for (const ContentBlock& block : response.content) {
    if (block.kind != ContentBlock::Kind::kToolUse) continue;
    json::object call;
    call["id"] = block.tool_use_id;
    call["type"] = "function";
    call["function"] =
        json::object{{"name", block.tool_name}, {"arguments", block.tool_input_json}};
    calls.push_back(std::move(call));
  }
  return calls;
}

json::object usage_json(const providers::Usage& usage) {
  // cached_tokens: as OpenAI reports its automatic prompt caching (part of prompt_tokens).
  return json::object{{"prompt_tokens", usage.input_tokens},
                      {"completion_tokens", usage.output_tokens},
                      {"total_tokens", usage.input_tokens + usage.output_tokens},
                      {"prompt_tokens_details",
                       json::object{{"cached_tokens", std::max(usage.cache_read_input_tokens,
                                                               usage.prefix_reused_tokens)}}}};
}

}  // namespace

std::string_view openai_finish_reason(providers::StopReason reason) {
  switch (reason) {
    case providers::StopReason::kMaxTokens:
      return "length";
    case providers::StopReason::kToolUse:
      return "tool_calls";
    case providers::StopReason::kContentFiltered:
      return "content_filter";
    case providers::StopReason::kEndTurn:
    case providers::StopReason::kStopSequence:
      return "stop";
  }
  return "stop";
}

std::string chat_completion_response_json(const providers::InferenceResponse& response,
                                          std::string_view id, std::string_view model,
                                          int64_t created) {
  json::object message{{"role", "assistant"}};
  json::array calls = tool_calls_of(response);
  std::string text = text_of(response);
  message["content"] = text.empty() && !calls.empty() ? json::value(nullptr) : json::value(text);
  if (!calls.empty()) message["tool_calls"] = std::move(calls);
  json::object choice{{"index", 0},
                      {"message", std::move(message)},
                      {"logprobs", nullptr},
                      {"finish_reason", openai_finish_reason(response.stop_reason)}};
  json::object out{{"id", id},
                   {"object", "chat.completion"},
                   {"created", created},
                   {"model", model},
                   {"choices", json::array{std::move(choice)}},
                   {"usage", usage_json(response.usage)}};
  return json::serialize(out);
}

ChatCompletionStreamWriter::ChatCompletionStreamWriter(std::string id, std::string model,
                                                       int64_t created)
    : id_(std::move(id)), model_(std::move(model)), created_(created) {}

std::string ChatCompletionStreamWriter::chunk(std::string_view delta_json,
                                              std::string_view finish_reason_json) const {
  json::object out{
      {"id", id_},
      {"object", "chat.completion.chunk"},
      {"created", created_},
      {"model", model_},
      {"choices", json::array{json::object{{"index", 0},
                                           {"delta", json::parse(delta_json)},
                                           {"logprobs", nullptr},
                                           {"finish_reason", json::parse(finish_reason_json)}}}}};
  return json::serialize(out);
}

std::string ChatCompletionStreamWriter::start() {
  return chunk(R"({"role":"assistant","content":""})", "null");
}

std::optional<std::string> ChatCompletionStreamWriter::delta(const providers::StreamEvent& piece) {
  using Kind = providers::StreamEvent::Kind;
  json::object delta;
  switch (piece.kind) {
    case Kind::kText:
      if (piece.text.empty()) return std::nullopt;
      delta["content"] = piece.text;
      break;
    case Kind::kToolUseStart:
      // A tool call's first chunk names it; its arguments follow in later chunks.
      ++tool_calls_;
      delta["tool_calls"] =
          json::array{json::object{{"index", tool_calls_ - 1},
                                   {"id", piece.tool_use_id},
                                   {"type", "function"},
                                   {"function", {{"name", piece.tool_name}, {"arguments", ""}}}}};
      break;
    case Kind::kToolUseInput:
      if (piece.text.empty() || tool_calls_ == 0) return std::nullopt;
      delta["tool_calls"] = json::array{
          json::object{{"index", tool_calls_ - 1}, {"function", {{"arguments", piece.text}}}}};
      break;
  }
  streamed_ = true;
  return chunk(json::serialize(delta), "null");
}

std::vector<std::string> ChatCompletionStreamWriter::finish(
    const providers::InferenceResponse& response, bool include_usage) {
  std::vector<std::string> out;
  if (!streamed_) {  // a provider that answered without streaming
    providers::replay_content(response.content, [&](const providers::StreamEvent& piece) {
      if (auto line = delta(piece)) out.push_back(std::move(*line));
      return true;
    });
  }
  out.push_back(
      chunk("{}", json::serialize(json::value(openai_finish_reason(response.stop_reason)))));
  if (include_usage) {
    // OpenAI's usage chunk has an empty choices array.
    json::object usage{{"id", id_},
                       {"object", "chat.completion.chunk"},
                       {"created", created_},
                       {"model", model_},
                       {"choices", json::array()},
                       {"usage", usage_json(response.usage)}};
    out.push_back(json::serialize(usage));
  }
  out.emplace_back(kSseDone);
  return out;
}

std::vector<std::string> ChatCompletionStreamWriter::error(const Error& error) {
  return {openai_error(error).body, std::string(kSseDone)};
}

std::string embeddings_response_json(const std::vector<providers::EmbeddingResponse>& embeddings,
                                     std::string_view model, bool base64) {
  std::string data = "[";
  int64_t tokens = 0;
  for (size_t i = 0; i < embeddings.size(); ++i) {
    const auto& e = embeddings[i];
    tokens += e.input_tokens;
    if (i) data += ',';
    data += "{\"object\":\"embedding\",\"index\":" + std::to_string(i) + ",\"embedding\":";
    if (base64) {
      // x86-64 and aarch64 are little-endian, which is what OpenAI's base64 format is.
      std::string raw(e.embedding.size() * sizeof(float), '\0');
      std::memcpy(raw.data(), e.embedding.data(), raw.size());
      data += json::serialize(json::value(base64_encode(raw)));
    } else {
      data += float_array_json(e.embedding);
    }
    data += '}';
  }
  data += ']';
  json::object usage{{"prompt_tokens", tokens}, {"total_tokens", tokens}};
  return "{\"object\":\"list\",\"data\":" + data +
         ",\"model\":" + json::serialize(json::value(model)) +
         ",\"usage\":" + json::serialize(usage) + "}";
}

}  // namespace plinth::api
