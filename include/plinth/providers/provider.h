// The one internal request/response type every API translates to, and the Provider interface
// that answers it (the local engine now, upstream HTTP providers later).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::providers {

enum class Role { kUser, kAssistant };

// A content block. Text is the only kind the local engine understands; the others are
// carried so that APIs can answer "unsupported content block" precisely. A document reaches a
// provider already rendered as prompt text (api's render_document_blocks fills `text`).
struct ContentBlock {
  enum class Kind { kText, kToolUse, kToolResult, kImage, kDocument } kind = Kind::kText;
  // kText; kToolResult: the result rendered as text; kDocument: the document's prompt text
  std::string text{};
  std::string tool_use_id{};      // kToolUse / kToolResult
  std::string tool_name{};        // kToolUse
  std::string tool_input_json{};  // kToolUse: the input object as JSON text
  std::string document_name{};    // kDocument: the caller's name for it
  std::string document_format{};  // kDocument: pdf, csv, html, txt, md, docx or xlsx
  std::string document_bytes{};   // kDocument: the decoded file, emptied once rendered into text
};

struct Message {
  Role role = Role::kUser;
  std::vector<ContentBlock> content;
};

struct ToolSpec {
  std::string name;
  std::string description;
  std::string input_schema_json;  // JSON Schema as JSON text
};

// An explicit prompt-cache checkpoint (Bedrock cachePoint, Anthropic cache_control): the prompt up
// to this point is a prefix the caller wants cached. Sections in prompt order: tools (rendered
// with the system text), system texts, then message content blocks.
struct CachePoint {
  enum class Section { kSystem, kTools, kMessages } section = Section::kSystem;
  size_t message = 0;  // kMessages: which message
  // What precedes the point in its section: kSystem system texts, kTools tool definitions,
  // kMessages blocks of the message.
  size_t count = 0;
};

// Bedrock and Anthropic accept at most four checkpoints per request.
inline constexpr size_t kMaxCachePoints = 4;

struct InferenceRequest {
  std::string model_id;  // resolved catalog id (not an alias)
  std::vector<std::string> system;
  std::vector<Message> messages;
  int32_t max_tokens = 512;
  // The caller named no max tokens: max_tokens is the configured default, and the provider lowers
  // it to what the model's context leaves after the prompt instead of refusing the request.
  bool max_tokens_defaulted = false;
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<int32_t> top_k;
  std::vector<std::string> stop_sequences;
  std::optional<uint64_t> seed;
  // Structured output: when set, the text must be JSON matching this schema.
  std::optional<std::string> output_schema_json;
  // Tools offered; forced_tool names a tool the model must call (its input is schema-constrained).
  std::vector<ToolSpec> tools;
  std::optional<std::string> forced_tool;
  bool exact = false;
  // In request order; the provider caches the prompt up to the last one.
  std::vector<CachePoint> cache_points;
  const std::atomic<bool>* cancel = nullptr;  // not owned
  // The caller receives the stream events as they come (a streaming API call): once one went
  // out, no other model may answer after it (a fallback would repeat or contradict it).
  bool streamed_to_caller = false;
};

enum class StopReason { kEndTurn, kMaxTokens, kStopSequence, kToolUse, kContentFiltered };

// input_tokens counts every prompt token; the two cache counts are subsets of it, reported as
// each API does (Bedrock and Anthropic subtract them from their input count, OpenAI does not).
struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  // Prompt caching as Bedrock and Anthropic bill it: read from / written to a cache checkpoint the
  // caller asked for (cachePoint, cache_control), or as an upstream reports it. Subsets of
  // input_tokens; the APIs report them apart from inputTokens.
  int64_t cache_read_input_tokens = 0;
  int64_t cache_write_input_tokens = 0;
  // Leading prompt tokens the local engine reused from its automatic prefix cache, asked for or
  // not: a speed-up billed as input. Only OpenAI's API reports it (cached_tokens); reporting it
  // as a Bedrock cache read would make inputTokens disagree with CountTokens.
  int64_t prefix_reused_tokens = 0;
};

// An answer a fallback model replaced because it broke the requested schema: its tokens were
// spent and are paid for all the same.
struct ReplacedAnswer {
  std::string model_id;
  Usage usage;
};

struct InferenceResponse {
  std::string model_id;               // the model that answered
  std::vector<ContentBlock> content;  // text, or a tool use
  StopReason stop_reason = StopReason::kEndTurn;
  std::string stop_sequence;
  Usage usage;
  int64_t latency_ms = 0;
  std::optional<bool> output_valid;      // set when a schema was given: did the output validate
  std::vector<ReplacedAnswer> replaced;  // earlier models' answers, in the order they were tried
};

// An answer that had to follow a schema (a forced tool, an output schema), that the model called
// complete (end_turn or tool_use), and that does not validate. One cut at max tokens or a stop
// sequence is not broken: its stop reason says why it is incomplete.
inline bool breaks_requested_schema(const InferenceRequest& request,
                                    const InferenceResponse& response) {
  const bool constrained = request.output_schema_json || request.forced_tool;
  const bool complete =
      response.stop_reason == StopReason::kEndTurn || response.stop_reason == StopReason::kToolUse;
  return constrained && complete && response.output_valid == false;
}

// One piece of a streamed answer, in generation order. kText belongs to the open text block;
// kToolUseStart opens a tool-use block (closing any open block); the kToolUseInput fragments that
// follow concatenate to that block's final tool_input_json. A provider that streams at all
// streams every content block of its answer this way.
struct StreamEvent {
  enum class Kind { kText, kToolUseStart, kToolUseInput } kind = Kind::kText;
  std::string_view text;         // kText, kToolUseInput
  std::string_view tool_use_id;  // kToolUseStart
  std::string_view tool_name;    // kToolUseStart

  static StreamEvent text_delta(std::string_view text) { return {Kind::kText, text, {}, {}}; }
  static StreamEvent tool_use_start(std::string_view id, std::string_view name) {
    return {Kind::kToolUseStart, {}, id, name};
  }
  static StreamEvent tool_use_input(std::string_view json) {
    return {Kind::kToolUseInput, json, {}, {}};
  }
};

// A StreamEvent that owns its strings: for holding events back (the router buffers a small-tier
// answer until it passes its checks).
struct OwnedStreamEvent {
  StreamEvent::Kind kind = StreamEvent::Kind::kText;
  std::string text;
  std::string tool_use_id;
  std::string tool_name;

  explicit OwnedStreamEvent(const StreamEvent& event)
      : kind(event.kind),
        text(event.text),
        tool_use_id(event.tool_use_id),
        tool_name(event.tool_name) {}
  StreamEvent view() const { return {kind, text, tool_use_id, tool_name}; }
};

// Receives the stream as it is produced. Return false to cancel generation.
using StreamCallback = std::function<bool(const StreamEvent& event)>;

// The events that stream `content` (a provider that answered without streaming, replayed).
// Returns false as soon as on_event does. Inline: the API writers use it without linking the
// providers library.
inline bool replay_content(const std::vector<ContentBlock>& content,
                           const StreamCallback& on_event) {
  for (const ContentBlock& block : content) {
    if (block.kind == ContentBlock::Kind::kText) {
      if (!block.text.empty() && !on_event(StreamEvent::text_delta(block.text))) return false;
    } else if (block.kind == ContentBlock::Kind::kToolUse) {
      if (!on_event(StreamEvent::tool_use_start(block.tool_use_id, block.tool_name))) return false;
      if (!on_event(StreamEvent::tool_use_input(block.tool_input_json))) return false;
    }
  }
  return true;
}

// What to do with an input longer than the embedding model's context (Cohere's `truncate`).
enum class EmbeddingTruncation { kNone, kStart, kEnd };  // refuse, or drop tokens from that end

struct EmbeddingRequest {
  std::string model_id;
  std::string text;
  int32_t dimensions = 0;  // 0 = the model's own; otherwise truncate (then renormalize)
  bool normalize = true;
  EmbeddingTruncation truncation = EmbeddingTruncation::kNone;
  // The sizes the caller's API offers (Titan: 256, 512, 1024): when the model is narrower than
  // `dimensions`, the error names those it can serve.
  std::vector<int32_t> sizes_offered = {};
};

struct EmbeddingResponse {
  std::string model_id;
  std::vector<float> embedding;
  int64_t input_tokens = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // on_event may be empty (non-streaming).
  virtual Result<InferenceResponse> infer(const InferenceRequest& request,
                                          const StreamCallback& on_event) = 0;
  virtual Result<EmbeddingResponse> embed(const EmbeddingRequest& request) = 0;
  // The input tokens infer() would report in usage.input_tokens for this request, counted on
  // the very prompt infer() renders (system, tools, every turn). Providers that cannot count
  // answer kInvalidArgument, which Bedrock shows as a ValidationException.
  virtual Result<int64_t> count_tokens(const InferenceRequest& request) {
    return fail(ErrorCode::kInvalidArgument,
                "The provided model " + request.model_id + " doesn't support counting tokens.");
  }
};

}  // namespace plinth::providers
