// Catalog construction from config, model-id/alias/ARN resolution, and cost arithmetic.
#include "plinth/catalog/catalog.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

namespace plinth::catalog {
namespace {

// Geography prefixes of system-defined (cross-region) inference profile ids, e.g.
// "us.anthropic.claude-3-haiku-20240307-v1:0": the profile routes to the same foundation model.
constexpr std::array<std::string_view, 8> kProfileGeographies = {"us",     "eu", "apac", "us-gov",
                                                                 "global", "jp", "au",   "ca"};

std::string_view strip_profile_geography(std::string_view id) {
  size_t dot = id.find('.');
  if (dot == std::string_view::npos) return id;
  std::string_view head = id.substr(0, dot);
  for (std::string_view geo : kProfileGeographies) {
    if (head == geo) return id.substr(dot + 1);
  }
  return id;
}

Result<ModelKind> parse_kind(std::string_view kind) {
  if (kind == "text") return ModelKind::kText;
  if (kind == "embedding") return ModelKind::kEmbedding;
  return fail(ErrorCode::kInvalidArgument, "unknown model kind '" + std::string(kind) + "'");
}

Result<ModelTier> parse_tier(std::string_view tier) {
  if (tier == "small") return ModelTier::kSmall;
  if (tier == "large") return ModelTier::kLarge;
  return fail(ErrorCode::kInvalidArgument, "unknown model tier '" + std::string(tier) + "'");
}

}  // namespace

Result<ModelReference> parse_model_reference(std::string_view model_id) {
  if (model_id.empty()) {
    return fail(ErrorCode::kInvalidArgument, "The provided model identifier is invalid.");
  }
  ModelReference ref;
  if (!model_id.starts_with("arn:")) {
    ref.id = std::string(model_id);
    return ref;
  }
  // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE — the resource may itself contain ':'.
  std::array<std::string_view, 5> parts;
  std::string_view rest = model_id;
  for (auto& part : parts) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "The provided model identifier is invalid: malformed ARN.");
    }
    part = rest.substr(0, colon);
    rest = rest.substr(colon + 1);
  }
  if (!parts[1].starts_with("aws") || parts[2] != "bedrock" || parts[3].empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "The provided model identifier is invalid: not a Bedrock ARN.");
  }
  ref.region = std::string(parts[3]);
  ref.account = std::string(parts[4]);
  size_t slash = rest.find('/');
  std::string_view type = rest.substr(0, slash);
  std::string_view id = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (id.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "The provided model identifier is invalid: the ARN names no resource id.");
  }
  if (type == "foundation-model") {
    ref.form = ModelReference::Form::kFoundationModelArn;
  } else if (type == "inference-profile") {
    ref.form = ModelReference::Form::kInferenceProfileArn;
  } else if (type == "application-inference-profile") {
    ref.form = ModelReference::Form::kApplicationInferenceProfileArn;
  } else if (type == "prompt-router" || type == "default-prompt-router") {
    ref.form = ModelReference::Form::kPromptRouterArn;
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "The provided model identifier is invalid: resource "
                "type '" +
                    std::string(type) + "' is not supported.");
  }
  ref.id = std::string(id);
  return ref;
}

std::string foundation_model_arn(std::string_view region, std::string_view model_id) {
  std::string arn = "arn:aws:bedrock:";
  arn += region;
  arn += "::foundation-model/";
  arn += model_id;
  return arn;
}

Result<Catalog> Catalog::from_entries(std::vector<ModelEntry> entries) {
  std::unordered_set<std::string> names;
  for (const ModelEntry& entry : entries) {
    if (entry.id.empty()) return fail(ErrorCode::kInvalidArgument, "model id must not be empty");
    if (!names.insert(entry.id).second) {
      return fail(ErrorCode::kInvalidArgument, "model id or alias used twice: " + entry.id);
    }
    for (const std::string& alias : entry.aliases) {
      if (!names.insert(alias).second) {
        return fail(ErrorCode::kInvalidArgument, "model id or alias used twice: " + alias);
      }
    }
  }
  Catalog catalog;
  catalog.entries_ = std::move(entries);
  return catalog;
}

Result<Catalog> Catalog::from_config(const Config& config) {
  std::vector<ModelEntry> entries;
  entries.reserve(config.models.size());
  for (const ModelConfig& model : config.models) {
    auto kind = parse_kind(model.kind);
    if (!kind) return std::unexpected(kind.error());
    auto tier = parse_tier(model.tier);
    if (!tier) return std::unexpected(tier.error());
    entries.push_back(ModelEntry{model.id, model.aliases, *kind, *tier, model.price_input_per_mtok,
                                 model.price_output_per_mtok, model.context_length, model.provider,
                                 model.upstream_model, model.fallbacks,
                                 model.price_cache_read_per_mtok,
                                 model.price_cache_write_per_mtok});
  }
  return from_entries(std::move(entries));
}

const ModelEntry* Catalog::find(std::string_view id_or_alias) const {
  for (const ModelEntry& entry : entries_) {
    if (entry.id == id_or_alias) return &entry;
  }
  for (const ModelEntry& entry : entries_) {
    for (const std::string& alias : entry.aliases) {
      if (alias == id_or_alias) return &entry;
    }
  }
  return nullptr;
}

Result<const ModelEntry*> Catalog::resolve(std::string_view model_id) const {
  auto ref = parse_model_reference(model_id);
  if (!ref) return std::unexpected(ref.error());
  const ModelEntry* entry = find(ref->id);
  // Inference profiles (plain "us.ID" ids or their ARNs) name the foundation model behind them.
  if (ref->form == ModelReference::Form::kPromptRouterArn)
    entry = nullptr;  // routers aren't models
  if (entry == nullptr && ref->form != ModelReference::Form::kFoundationModelArn &&
      ref->form != ModelReference::Form::kApplicationInferenceProfileArn &&
      ref->form != ModelReference::Form::kPromptRouterArn) {
    std::string_view stripped = strip_profile_geography(ref->id);
    if (stripped != ref->id) entry = find(stripped);
  }
  if (entry == nullptr) {
    return fail(ErrorCode::kNotFound,
                "The provided model identifier is invalid or the model is not available: " +
                    std::string(model_id));
  }
  return entry;
}

int64_t price_micro_usd_per_mtok(double usd_per_mtok) {
  if (!(usd_per_mtok > 0)) return 0;
  return std::llround(usd_per_mtok * 1'000'000.0);
}

Cost compute_cost(const ModelEntry& model, const TokenCounts& tokens) {
  // micro-dollars per million tokens == pico-dollars per token, so the products are exact.
  const int64_t input = std::max<int64_t>(tokens.input_tokens, 0);
  const int64_t read = std::clamp<int64_t>(tokens.cache_read_input_tokens, 0, input);
  const int64_t write = std::clamp<int64_t>(tokens.cache_write_input_tokens, 0, input - read);
  const double input_price = model.price_input_per_mtok;
  Cost cost;
  cost.pico_usd =
      (input - read - write) * price_micro_usd_per_mtok(input_price) +
      read * price_micro_usd_per_mtok(model.price_cache_read_per_mtok.value_or(input_price)) +
      write * price_micro_usd_per_mtok(model.price_cache_write_per_mtok.value_or(input_price)) +
      std::max<int64_t>(tokens.output_tokens, 0) *
          price_micro_usd_per_mtok(model.price_output_per_mtok);
  return cost;
}

Cost compute_cost(const ModelEntry& model, int64_t input_tokens, int64_t output_tokens) {
  return compute_cost(model, TokenCounts{input_tokens, output_tokens, 0, 0});
}

std::string_view to_string(ModelKind kind) {
  return kind == ModelKind::kText ? "text" : "embedding";
}

std::string_view to_string(ModelTier tier) { return tier == ModelTier::kSmall ? "small" : "large"; }

}  // namespace plinth::catalog
