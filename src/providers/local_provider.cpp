// LocalProvider: renders the conversation with the model's chat template, runs the engine, and
// (when a schema is given) constrains decoding and validates the finished output.
#include "plinth/providers/local_provider.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <tuple>

#include "plinth/core/ids.h"
#include "plinth/core/random.h"
#include "plinth/engine/engine.h"
#include "schema_constraint.h"

namespace plinth::providers {
namespace {

// Bedrock's shape: "tooluse_" and 22 characters.
std::string new_tool_use_id() { return new_base32_id(*Random::secure(), "tooluse_", 22); }

StopReason to_stop_reason(engine::StopReason r) {
  switch (r) {
    case engine::StopReason::kMaxTokens:
      return StopReason::kMaxTokens;
    case engine::StopReason::kStopSequence:
      return StopReason::kStopSequence;
    case engine::StopReason::kEndOfGeneration:
    case engine::StopReason::kCancelled:
      return StopReason::kEndTurn;
  }
  return StopReason::kEndTurn;
}

// Flattens content blocks to the text a local chat template can carry.
Result<std::string> render_blocks(const std::vector<ContentBlock>& blocks) {
  std::string out;
  for (const auto& b : blocks) {
    switch (b.kind) {
      case ContentBlock::Kind::kText:
        out += b.text;
        break;
      case ContentBlock::Kind::kToolUse:
        out += "{\"tool\":\"" + b.tool_name + "\",\"input\":" + b.tool_input_json + "}";
        break;
      case ContentBlock::Kind::kToolResult:
        out += b.text;
        break;
      case ContentBlock::Kind::kDocument:
        // The api layer rendered the document into its prompt text (render_document_blocks).
        if (b.text.empty()) {
          return fail(ErrorCode::kInvalidArgument,
                      "The document '" + b.document_name + "' was not rendered into text");
        }
        out += b.text;
        break;
      case ContentBlock::Kind::kImage:
        return fail(ErrorCode::kInvalidArgument,
                    "This model does not support image content blocks");
    }
  }
  return out;
}

engine::EmbedTruncation to_engine(EmbeddingTruncation truncation) {
  switch (truncation) {
    case EmbeddingTruncation::kStart:
      return engine::EmbedTruncation::kStart;
    case EmbeddingTruncation::kEnd:
      return engine::EmbedTruncation::kEnd;
    case EmbeddingTruncation::kNone:
      break;
  }
  return engine::EmbedTruncation::kNone;
}

// "dimensions 1024 is larger than bge-embed's embedding size (64); it serves 256 and 512".
std::string too_wide_message(const EmbeddingRequest& request, int width,
                             const std::string& model_id) {
  std::string message = "dimensions " + std::to_string(request.dimensions) +
                        " is larger than the embedding size of model " + model_id + " (" +
                        std::to_string(width) + "); ";
  if (request.sizes_offered.empty()) {
    return message + "it serves any size from 1 to " + std::to_string(width);
  }
  std::string served;
  std::string offered;
  for (int32_t size : request.sizes_offered) {
    offered += (offered.empty() ? "" : ", ") + std::to_string(size);
    if (size <= width) served += (served.empty() ? "" : ", ") + std::to_string(size);
  }
  if (served.empty()) {
    return message + "it serves none of the sizes " + offered +
           "; configure an embedding model at least that wide";
  }
  return message + "it serves dimensions " + served;
}

// The prompt exactly as infer() feeds it to the model: system text (with the forced tool's
// instruction), the messages rendered by the chat template, then tokenized. count_tokens()
// uses the same function so that CountTokens equals the usage infer() reports.
struct RenderedPrompt {
  std::vector<engine::TokenId> ids;
  const ToolSpec* forced_tool = nullptr;  // points into the request's tools
  int32_t cache_prefix_tokens = 0;        // the prompt up to the last cache point
};

// The chat the template renders: the request's first `system_count` system texts, the forced
// tool's instruction (with_tools), then its messages, the last one cut to `last_blocks` blocks.
Result<std::vector<engine::ChatMessage>> chat_of(const InferenceRequest& request,
                                                 const ToolSpec* forced_tool, size_t system_count,
                                                 bool with_tools, size_t message_count,
                                                 size_t last_blocks) {
  std::vector<engine::ChatMessage> chat;
  std::string system;
  for (size_t i = 0; i < std::min(system_count, request.system.size()); ++i) {
    if (!system.empty()) system += "\n";
    system += request.system[i];
  }
  if (forced_tool != nullptr && with_tools) {
    if (!system.empty()) system += "\n";
    system += "Call the tool '" + forced_tool->name + "' (" + forced_tool->description +
              "). Answer with its input as JSON.";
  }
  if (!system.empty()) chat.push_back({"system", system});
  for (size_t i = 0; i < std::min(message_count, request.messages.size()); ++i) {
    const Message& m = request.messages[i];
    const bool last = i + 1 == message_count;
    std::vector<ContentBlock> cut;
    if (last && last_blocks < m.content.size())
      cut.assign(m.content.begin(), m.content.begin() + static_cast<ptrdiff_t>(last_blocks));
    auto text = render_blocks(last && last_blocks < m.content.size() ? cut : m.content);
    if (!text) return std::unexpected(text.error());
    chat.push_back({m.role == Role::kUser ? "user" : "assistant", std::move(*text)});
  }
  return chat;
}

// How many leading tokens of `ids` the last cache point covers: the request cut at that point
// is rendered (without the assistant's opening) and the tokens it shares with the full prompt
// are the cached prefix. Tools render with the system text, so a tools point covers it.
Result<int32_t> cache_prefix_tokens(const InferenceRequest& request, const engine::Model& model,
                                    const ToolSpec* forced_tool,
                                    const std::vector<engine::TokenId>& ids) {
  if (request.cache_points.empty()) return 0;
  using Section = CachePoint::Section;
  auto rank = [](const CachePoint& p) {
    // kSystem(count) < kTools < kMessages(message, count)
    if (p.section == Section::kSystem) return std::tuple<int, size_t, size_t>{0, p.count, 0};
    if (p.section == Section::kTools) return std::tuple<int, size_t, size_t>{1, 0, 0};
    return std::tuple<int, size_t, size_t>{2, p.message, p.count};
  };
  const CachePoint& last = *std::max_element(
      request.cache_points.begin(), request.cache_points.end(),
      [&](const CachePoint& a, const CachePoint& b) { return rank(a) < rank(b); });
  Result<std::vector<engine::ChatMessage>> chat =
      last.section == Section::kSystem ? chat_of(request, forced_tool, last.count, false, 0, 0)
      : last.section == Section::kTools
          ? chat_of(request, forced_tool, request.system.size(), true, 0, 0)
          : chat_of(request, forced_tool, request.system.size(), true, last.message + 1,
                    last.count);
  if (!chat) return std::unexpected(chat.error());
  if (chat->empty()) return 0;
  auto cut = model.tokenizer().encode(model.render_chat(*chat, false), /*add_special=*/true,
                                      /*parse_special=*/true);
  if (!cut) return std::unexpected(cut.error());
  const size_t n = std::min(cut->size(), ids.size());
  const auto diverge =
      std::mismatch(cut->begin(), cut->begin() + static_cast<ptrdiff_t>(n), ids.begin());
  return static_cast<int32_t>(diverge.first - cut->begin());
}

Result<RenderedPrompt> render_prompt(const InferenceRequest& request, const engine::Model& model) {
  RenderedPrompt rendered;
  if (request.forced_tool) {
    for (const auto& t : request.tools) {
      if (t.name == *request.forced_tool) rendered.forced_tool = &t;
    }
    if (!rendered.forced_tool) {
      return fail(
          ErrorCode::kInvalidArgument,
          "toolChoice names a tool that is not in toolConfig.tools: " + *request.forced_tool);
    }
  }
  auto chat = chat_of(request, rendered.forced_tool, request.system.size(), true,
                      request.messages.size(), SIZE_MAX);
  if (!chat) return std::unexpected(chat.error());
  std::string prompt = model.render_chat(*chat, true);
  auto ids = model.tokenizer().encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  if (!ids) return std::unexpected(ids.error());
  rendered.ids = std::move(*ids);
  auto prefix = cache_prefix_tokens(request, model, rendered.forced_tool, rendered.ids);
  if (!prefix) return std::unexpected(prefix.error());
  rendered.cache_prefix_tokens = *prefix;
  return rendered;
}

}  // namespace

LocalProvider::LocalProvider(std::vector<LocalModel> models) : models_(std::move(models)) {}
LocalProvider::~LocalProvider() = default;

Result<std::unique_ptr<LocalProvider>> LocalProvider::load(const std::vector<ModelConfig>& models,
                                                           int engine_threads) {
  std::vector<LocalModel> loaded;
  for (const auto& m : models) {
    if (!m.provider.empty()) continue;  // answered by an upstream provider (plinth::upstream)
    engine::LoadOptions options;
    options.threads = engine_threads;
    options.context_length = m.context_length;
    options.prefix_cache_bytes = static_cast<size_t>(m.prefix_cache_mib) << 20;
    options.huge_pages = m.huge_pages;
    auto model = engine::Model::load(m.file, options);
    if (!model) {
      return fail(model.error().code, "model " + m.id + ": " + model.error().message);
    }
    bool encoder = (*model)->info().is_encoder;
    if (encoder != (m.kind == "embedding")) {
      return fail(ErrorCode::kInvalidArgument,
                  "model " + m.id + ": kind '" + m.kind + "' does not match the file (" +
                      (encoder ? "an embedding model" : "a text model") + ")");
    }
    loaded.push_back({m, std::move(*model)});
  }
  return std::make_unique<LocalProvider>(std::move(loaded));
}

const LocalModel* LocalProvider::find(const std::string& id) const {
  for (const auto& m : models_) {
    if (m.config.id == id) return &m;
  }
  return nullptr;
}

std::shared_ptr<engine::Model> LocalProvider::model(const std::string& id) const {
  const LocalModel* m = find(id);
  return m ? m->model : nullptr;
}

Result<InferenceResponse> LocalProvider::infer(const InferenceRequest& request,
                                               const StreamCallback& on_event) {
  auto started = std::chrono::steady_clock::now();
  const LocalModel* lm = find(request.model_id);
  if (!lm) return fail(ErrorCode::kNotFound, "Model not found: " + request.model_id);
  if (lm->config.kind != "text") {
    return fail(ErrorCode::kInvalidArgument,
                "Model " + request.model_id + " is an embedding model and cannot generate text");
  }
  engine::Model& model = *lm->model;
  auto prompt = render_prompt(request, model);
  if (!prompt) return std::unexpected(prompt.error());
  const ToolSpec* forced_tool = prompt->forced_tool;

  engine::GenerateRequest g;
  g.prompt = std::move(prompt->ids);
  g.cache_prefix_tokens = prompt->cache_prefix_tokens;
  g.max_tokens = request.max_tokens;
  if (request.max_tokens_defaulted) {
    // No max tokens from the caller: the default never makes a request fail for context.
    const int64_t window = model.info().context_window;
    const int64_t left = window - static_cast<int64_t>(g.prompt.size());
    if (left <= 0) {
      return fail(ErrorCode::kContextLength,
                  "prompt (" + std::to_string(g.prompt.size()) +
                      " tokens) leaves no room for output in the context length of " +
                      std::to_string(window) + " tokens");
    }
    g.max_tokens = static_cast<int32_t>(std::min<int64_t>(g.max_tokens, left));
  }
  g.sampling.temperature = request.temperature.value_or(0.7f);
  g.sampling.top_p = request.top_p.value_or(1.0f);
  g.sampling.top_k = request.top_k.value_or(0);
  // A fresh seed per call unless the caller pins one: identical requests must not repeat.
  g.sampling.seed = request.seed ? *request.seed : Random::secure()->next_u64();
  g.stop_sequences = request.stop_sequences;
  g.exact = request.exact;
  g.cancel = request.cancel;

  std::optional<std::string> schema;
  if (forced_tool)
    schema = forced_tool->input_schema_json;
  else if (request.output_schema_json)
    schema = request.output_schema_json;
  std::unique_ptr<SchemaConstraint> constraint;
  if (schema) {
    auto c = SchemaConstraint::create(*schema, model.tokenizer(), g.max_tokens);
    if (!c) return std::unexpected(c.error());
    constraint = std::move(*c);
    g.constraint = constraint->token_constraint();
    // Stop sequences could cut JSON short; a schema defines its own end.
    g.stop_sequences.clear();
  }
  // A forced tool's input is generated as the text: it streams as tool-use input deltas under
  // an id chosen before the first token.
  std::string tool_use_id;
  if (forced_tool) tool_use_id = new_tool_use_id();
  if (on_event && forced_tool) {
    bool opened = false;
    g.on_text = [&](std::string_view piece) {
      if (!opened) {
        opened = true;
        if (!on_event(StreamEvent::tool_use_start(tool_use_id, forced_tool->name))) return false;
      }
      return on_event(StreamEvent::tool_use_input(piece));
    };
  } else if (on_event) {
    g.on_text = [&](std::string_view piece) { return on_event(StreamEvent::text_delta(piece)); };
  }

  auto result = model.generate(g);
  if (!result) return std::unexpected(result.error());
  if (request.cancel && request.cancel->load()) {
    return fail(ErrorCode::kCancelled, "the request was cancelled");
  }

  InferenceResponse response;
  response.model_id = lm->config.id;
  response.stop_reason = to_stop_reason(result->stop_reason);
  response.stop_sequence = result->stop_sequence;
  response.usage.input_tokens = result->prompt_tokens;
  response.usage.output_tokens = result->generated_tokens;
  response.usage.prefix_reused_tokens = result->cached_prompt_tokens;
  // A cache checkpoint counts whole, as Bedrock and Anthropic bill it: read when the prefix cache
  // held all of it, else written when this call stored it (a shorter automatic reuse inside it
  // stays a speed-up billed as input).
  const int32_t checkpoint = std::min(g.cache_prefix_tokens, result->prompt_tokens);
  if (checkpoint > 0 && result->cached_prompt_tokens >= checkpoint) {
    response.usage.cache_read_input_tokens = checkpoint;
  } else if (checkpoint > 0 && result->checkpoint_written_tokens > 0) {
    response.usage.cache_write_input_tokens = checkpoint;
  }
  if (constraint) response.output_valid = constraint->validate(result->text);
  if (forced_tool) {
    ContentBlock block;
    block.kind = ContentBlock::Kind::kToolUse;
    block.tool_name = forced_tool->name;
    block.tool_use_id = tool_use_id;
    block.tool_input_json = result->text;
    response.content.push_back(std::move(block));
    if (response.stop_reason == StopReason::kEndTurn) response.stop_reason = StopReason::kToolUse;
  } else {
    ContentBlock block;
    block.text = std::move(result->text);
    response.content.push_back(std::move(block));
  }
  response.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
  return response;
}

Result<int64_t> LocalProvider::count_tokens(const InferenceRequest& request) {
  const LocalModel* lm = find(request.model_id);
  if (!lm) return fail(ErrorCode::kNotFound, "Model not found: " + request.model_id);
  if (lm->config.kind != "text") {
    return fail(ErrorCode::kInvalidArgument,
                "The provided model " + request.model_id + " doesn't support counting tokens.");
  }
  auto prompt = render_prompt(request, *lm->model);
  if (!prompt) return std::unexpected(prompt.error());
  return static_cast<int64_t>(prompt->ids.size());
}

Result<EmbeddingResponse> LocalProvider::embed(const EmbeddingRequest& request) {
  const LocalModel* lm = find(request.model_id);
  if (!lm) return fail(ErrorCode::kNotFound, "Model not found: " + request.model_id);
  if (lm->config.kind != "embedding") {
    return fail(ErrorCode::kInvalidArgument,
                "Model " + request.model_id + " is a text model and cannot produce embeddings");
  }
  engine::Model& model = *lm->model;
  int width = model.info().embedding_length;
  if (request.dimensions < 0 || request.dimensions > width) {
    return fail(ErrorCode::kInvalidArgument, too_wide_message(request, width, request.model_id));
  }
  auto tokens = model.tokenizer().encode(request.text, true, false);
  if (!tokens) return std::unexpected(tokens.error());
  engine::EmbedRequest e;
  e.text = request.text;
  e.normalize = request.normalize;
  e.truncation = to_engine(request.truncation);
  auto vec = model.embed(e);
  if (!vec) return std::unexpected(vec.error());
  if (request.dimensions > 0 && request.dimensions < width) {
    vec->resize(static_cast<size_t>(request.dimensions));
    if (request.normalize) {
      double norm = 0;
      for (float v : *vec) norm += double(v) * v;
      norm = std::sqrt(norm);
      if (norm > 0) {
        for (float& v : *vec) v = static_cast<float>(v / norm);
      }
    }
  }
  EmbeddingResponse response;
  response.model_id = lm->config.id;
  response.embedding = std::move(*vec);
  // A truncated input is billed for the tokens the model read.
  response.input_tokens =
      std::min<int64_t>(static_cast<int64_t>(tokens->size()), model.info().context_window);
  return response;
}

}  // namespace plinth::providers
