// The stages' work: parse the stored bytes, extract schema JSON and a label with the small tier,
// embed and index chunks, and analyze with the large tier using related chunks of other documents.
#include <cmath>
#include <limits>

#include "plinth/documents/extraction.h"
#include "plinth/structured/structured.h"
#include "service_impl.h"

namespace plinth::documents {
namespace {

namespace json = boost::json;

json::object stored_result(const StageContext& context, std::string_view stage) {
  auto it = context.done.find(std::string(stage));
  if (it == context.done.end()) return {};
  boost::system::error_code ec;
  json::value value = json::parse(it->second, ec);
  if (ec || !value.is_object()) return {};
  return std::move(value.as_object());
}

std::string response_text(const providers::InferenceResponse& response) {
  std::string text;
  for (const providers::ContentBlock& block : response.content) {
    if (block.kind == providers::ContentBlock::Kind::kText) text += block.text;
    if (block.kind == providers::ContentBlock::Kind::kToolUse) text += block.tool_input_json;
  }
  return text;
}

providers::InferenceRequest text_request(const catalog::ModelEntry& model, std::string system,
                                         std::string user, int max_tokens,
                                         const std::atomic<bool>* cancel) {
  providers::InferenceRequest request;
  request.model_id = model.id;
  request.system.push_back(std::move(system));
  providers::ContentBlock block;
  block.text = std::move(user);
  request.messages.push_back({providers::Role::kUser, {std::move(block)}});
  request.max_tokens = max_tokens;
  request.temperature = 0.0f;
  request.cancel = cancel;
  return request;
}

void normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  float scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= scale;
}

}  // namespace

std::string truncate_utf8(std::string_view text, size_t budget) {
  if (text.size() <= budget) return std::string(text);
  size_t end = budget;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

Result<std::string> parsed_text(const StageContext& context) {
  json::object parse = stored_result(context, "parse");
  auto* text = parse.if_contains("text");
  if (text == nullptr || !text->is_string()) {
    return fail(ErrorCode::kInternal, "the parse result is missing");
  }
  return std::string(text->as_string());
}

StageUsage DocumentService::Impl::usage_of(const catalog::ModelEntry& model,
                                           std::string_view requested,
                                           const providers::InferenceResponse& response) const {
  StageUsage usage;
  usage.model = model.id;
  usage.model_requested = requested.empty() ? model.id : std::string(requested);
  usage.input_tokens = response.usage.input_tokens;
  usage.output_tokens = response.usage.output_tokens;
  usage.latency_ms = response.latency_ms;
  usage.cost_micro_usd =
      catalog::compute_cost(model, usage.input_tokens, usage.output_tokens).micro_usd();
  return usage;
}

namespace {

Result<providers::InferenceResponse> infer_within_context(
    providers::Provider& provider, size_t budget,
    const std::function<providers::InferenceRequest(size_t)>& build,
    const providers::StreamCallback& on_event) {
  // Shrink the prompt's text first (build() bounds every variable part by the budget); once it
  // is short, the room left for the answer. Small-context models (512 tokens, about one token
  // per character for a byte-level vocabulary) need budgets down to a few dozen characters.
  constexpr size_t kMinBudget = 32;
  constexpr int32_t kMinMaxTokens = 16;
  int32_t max_tokens_cap = std::numeric_limits<int32_t>::max();
  while (true) {
    providers::InferenceRequest request = build(budget);
    request.max_tokens = std::min(request.max_tokens, max_tokens_cap);
    auto response = provider.infer(request, on_event);
    if (response || response.error().code != ErrorCode::kContextLength) return response;
    if (budget >= 2 * kMinBudget) {
      budget /= 2;
    } else if (request.max_tokens >= 2 * kMinMaxTokens) {
      max_tokens_cap = request.max_tokens / 2;
    } else {
      return response;
    }
  }
}

}  // namespace

Result<providers::InferenceResponse> DocumentService::Impl::infer_fitting(
    const StageContext& context, const std::function<providers::InferenceRequest(size_t)>& build,
    const providers::StreamCallback& on_event) {
  return infer_within_context(context.provider, options_.max_prompt_chars, build, on_event);
}

Result<Extraction> extract_json(providers::Provider& provider, const catalog::ModelEntry& model,
                                const ExtractionRequest& extraction) {
  std::string instructions = extraction.instructions.empty()
                                 ? "Extract the fields the JSON Schema describes."
                                 : std::string(extraction.instructions);
  auto response = infer_within_context(
      provider, extraction.max_prompt_chars,
      [&](size_t budget) {
        auto request = text_request(
            model,
            "You extract data from documents. Answer with one JSON object matching the schema.",
            instructions + "\n\nDocument:\n" + truncate_utf8(extraction.text, budget),
            extraction.max_tokens, extraction.cancel);
        request.output_schema_json = std::string(extraction.schema_json);
        return request;
      },
      {});
  if (!response) return std::unexpected(response.error());
  std::string answer = response_text(*response);
  if (response->output_valid.has_value() && !*response->output_valid) {
    return fail(ErrorCode::kInvalidArgument,
                "the model's output did not validate against the schema (raise the extraction's "
                "max tokens?)");
  }
  if (auto valid = structured::validate(extraction.schema_json, answer); !valid) {
    return fail(ErrorCode::kInvalidArgument,
                "the model's output did not validate against the schema: " + valid.error().message);
  }
  return Extraction{std::move(answer), std::move(*response)};
}

Result<StageOutput> DocumentService::Impl::parse_stage(const StageContext& context) {
  auto parsed = parse_document(context.document.content_type, context.document.content);
  if (!parsed) return std::unexpected(parsed.error());
  StageOutput output;
  output.result = {{"text", parsed->text},
                   {"pages", parsed->pages},
                   {"characters", parsed->characters},
                   {"words", parsed->words}};
  return output;
}

Result<StageOutput> DocumentService::Impl::extract_stage(const StageContext& context) {
  const PipelineSpec& spec = context.spec;
  if (spec.extract_schema_json.empty()) return StageOutput{{{"skipped", true}}, std::nullopt};
  auto model =
      resolve_text_model(services_.catalog, spec.extract_model, catalog::ModelTier::kSmall);
  if (!model) return std::unexpected(model.error());
  auto text = parsed_text(context);
  if (!text) return std::unexpected(text.error());
  ExtractionRequest request{*text,
                            spec.extract_schema_json,
                            spec.extract_instructions,
                            options_.extract_max_tokens,
                            options_.max_prompt_chars,
                            context.cancel};
  auto extraction = extract_json(context.provider, **model, request);
  if (!extraction) return std::unexpected(extraction.error());
  StageOutput output;
  output.result = {{"extraction", json::parse(extraction->json)}};
  output.usage = usage_of(**model, spec.extract_model, extraction->response);
  return output;
}

Result<StageOutput> DocumentService::Impl::classify_stage(const StageContext& context) {
  const PipelineSpec& spec = context.spec;
  if (spec.labels.empty()) return StageOutput{{{"skipped", true}}, std::nullopt};
  auto model =
      resolve_text_model(services_.catalog, spec.classify_model, catalog::ModelTier::kSmall);
  if (!model) return std::unexpected(model.error());
  auto text = parsed_text(context);
  if (!text) return std::unexpected(text.error());
  json::array labels;
  std::string label_list;
  for (const std::string& label : spec.labels) {
    labels.emplace_back(label);
    label_list += (label_list.empty() ? "" : ", ") + label;
  }
  json::object schema{{"type", "object"},
                      {"properties", {{"label", {{"enum", labels}}}}},
                      {"required", json::array{"label"}},
                      {"additionalProperties", false}};
  std::string schema_json = json::serialize(schema);
  auto response = infer_fitting(
      context,
      [&](size_t budget) {
        auto request = text_request(
            **model, "You classify documents into exactly one of these labels: " + label_list + ".",
            (spec.classify_instructions.empty() ? "" : spec.classify_instructions + "\n\n") +
                "Document:\n" + truncate_utf8(*text, budget),
            options_.classify_max_tokens, context.cancel);
        request.output_schema_json = schema_json;
        return request;
      },
      {});
  if (!response) return std::unexpected(response.error());
  std::string answer = response_text(*response);
  boost::system::error_code ec;
  json::value parsed = json::parse(answer, ec);
  const json::value* label =
      (!ec && parsed.is_object()) ? parsed.as_object().if_contains("label") : nullptr;
  if (label == nullptr || !label->is_string() ||
      std::find(spec.labels.begin(), spec.labels.end(), label->as_string()) == spec.labels.end()) {
    return fail(ErrorCode::kInvalidArgument, "the model's answer is not one of the labels");
  }
  StageOutput output;
  output.result = {{"label", label->as_string()}};
  output.usage = usage_of(**model, spec.classify_model, *response);
  return output;
}

Result<StageOutput> DocumentService::Impl::embed_stage(const StageContext& context) {
  auto model = embedding_model(services_.catalog);
  if (!model) return std::unexpected(model.error());
  auto text = parsed_text(context);
  if (!text) return std::unexpected(text.error());
  std::vector<std::string> chunks = chunk_text(*text, options_.chunking);
  StageUsage usage;
  usage.model = usage.model_requested = (*model)->id;
  auto started = services_.clock.steady_now();
  json::array out;
  for (std::string& chunk : chunks) {
    if (context.cancel != nullptr && context.cancel->load()) {
      return fail(ErrorCode::kCancelled, "stopping");
    }
    providers::EmbeddingRequest request{(*model)->id, chunk, 0, true};
    auto embedding = context.provider.embed(request);
    if (!embedding) return std::unexpected(embedding.error());
    normalize(embedding->embedding);
    usage.input_tokens += embedding->input_tokens;
    json::array vector;
    for (float x : embedding->embedding) vector.emplace_back(x);
    out.push_back(json::object{{"text", std::move(chunk)}, {"embedding", std::move(vector)}});
  }
  usage.latency_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(services_.clock.steady_now() - started)
          .count();
  usage.cost_micro_usd = catalog::compute_cost(**model, usage.input_tokens, 0).micro_usd();
  StageOutput output;
  output.result = {{"chunks", std::move(out)}};
  output.usage = usage;
  return output;
}

namespace {

// The stored chunks of the embed stage: texts and vectors.
std::vector<std::pair<std::string, std::vector<float>>> stored_chunks(const StageContext& context) {
  std::vector<std::pair<std::string, std::vector<float>>> chunks;
  json::object embed = stored_result(context, "embed");
  auto* list = embed.if_contains("chunks");
  if (list == nullptr || !list->is_array()) return chunks;
  for (const json::value& item : list->as_array()) {
    const json::object& chunk = item.as_object();
    std::vector<float> vector;
    for (const json::value& x : chunk.at("embedding").as_array()) {
      vector.push_back(static_cast<float>(x.to_number<double>()));
    }
    chunks.emplace_back(std::string(chunk.at("text").as_string()), std::move(vector));
  }
  return chunks;
}

}  // namespace

Result<StageOutput> DocumentService::Impl::index_stage(const StageContext& context) {
  auto chunks = stored_chunks(context);
  std::vector<vectors::ChunkVector> vectors;
  for (size_t i = 0; i < chunks.size(); ++i) {
    vectors::ChunkVector chunk;
    chunk.account_id = context.document.account_id;
    chunk.knowledge_base_id = context.spec.knowledge_base_id;
    chunk.document_id = context.document.id;
    chunk.chunk_index = static_cast<int>(i);
    chunk.text = std::move(chunks[i].first);
    chunk.metadata_json = json::serialize(json::object{{"documentId", context.document.id},
                                                       {"pipeline", context.document.pipeline},
                                                       {"chunkIndex", i},
                                                       {"filename", context.document.filename}});
    chunk.embedding = std::move(chunks[i].second);
    vectors.push_back(std::move(chunk));
  }
  auto model = embedding_model(services_.catalog);
  if (!model) return std::unexpected(model.error());
  auto knowledge_base = services_.vectors.ensure_knowledge_base(
      context.document.account_id, context.spec.knowledge_base_id, (*model)->id);
  if (!knowledge_base) return std::unexpected(knowledge_base.error());
  if (!vectors.empty()) {
    if (auto added = services_.vectors.add(vectors); !added) return std::unexpected(added.error());
  }
  return StageOutput{{{"chunks", vectors.size()}}, std::nullopt};
}

Result<StageOutput> DocumentService::Impl::analyze_stage(const StageContext& context) {
  const PipelineSpec& spec = context.spec;
  auto model =
      resolve_text_model(services_.catalog, spec.analyze_model, catalog::ModelTier::kLarge);
  if (!model) return std::unexpected(model.error());
  auto text = parsed_text(context);
  if (!text) return std::unexpected(text.error());
  // Related passages: the chunks of other documents nearest the mean of this one's chunks.
  std::string related;
  auto chunks = stored_chunks(context);
  if (!chunks.empty() && options_.related_chunks > 0) {
    std::vector<float> mean(chunks.front().second.size(), 0.0f);
    for (const auto& [_, vector] : chunks) {
      for (size_t i = 0; i < mean.size() && i < vector.size(); ++i) mean[i] += vector[i];
    }
    normalize(mean);
    vectors::SearchQuery query{context.document.account_id, spec.knowledge_base_id, mean,
                               options_.related_chunks, context.document.id};
    auto hits = services_.vectors.search(query);
    if (!hits) return std::unexpected(hits.error());
    for (const vectors::SearchHit& hit : *hits) {
      related += "- (" + hit.document_id + ") " + truncate_utf8(hit.text, 600) + "\n";
    }
  }
  json::object extract = stored_result(context, "extract");
  json::object classify = stored_result(context, "classify");
  std::string facts;
  if (extract.contains("extraction"))
    facts += "Extracted data: " + json::serialize(extract["extraction"]) + "\n";
  if (classify.contains("label")) facts += "Class: " + json::serialize(classify["label"]) + "\n";
  std::string instructions = spec.analyze_instructions.empty()
                                 ? "Write a short analysis of the document."
                                 : spec.analyze_instructions;
  std::string pending;  // deltas not yet written as an event
  auto flush = [&] {
    if (pending.empty()) return;
    context.emit("analysis.delta", json::serialize(json::object{{"text", pending}}));
    pending.clear();
  };
  auto response = infer_fitting(
      context,
      [&](size_t budget) {
        pending.clear();
        return text_request(**model, "You are an analyst. " + instructions,
                            "Document:\n" + truncate_utf8(*text, budget) + "\n\n" +
                                truncate_utf8(facts, budget / 2) +
                                (related.empty() ? ""
                                                 : "Related passages from other documents:\n" +
                                                       truncate_utf8(related, budget / 2)),
                            options_.analysis_max_tokens, context.cancel);
      },
      [&](const providers::StreamEvent& piece) {
        if (piece.kind == providers::StreamEvent::Kind::kText) pending += piece.text;
        // Each event is a durable write: batch small deltas.
        if (pending.size() >= 48) flush();
        return !(context.cancel != nullptr && context.cancel->load());
      });
  if (!response) return std::unexpected(response.error());
  flush();
  StageOutput output;
  output.result = {{"analysis", response_text(*response)}};
  output.usage = usage_of(**model, spec.analyze_model, *response);
  return output;
}

}  // namespace plinth::documents
