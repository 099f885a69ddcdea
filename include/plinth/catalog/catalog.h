// The model catalog: configured model ids, aliases, kinds, tiers, prices; id/alias/ARN resolution.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/config.h"
#include "plinth/core/result.h"

namespace plinth::catalog {

enum class ModelKind { kText, kEmbedding };
enum class ModelTier { kSmall, kLarge };

struct ModelEntry {
  std::string id{};
  std::vector<std::string> aliases{};
  ModelKind kind = ModelKind::kText;
  ModelTier tier = ModelTier::kSmall;
  double price_input_per_mtok = 0;   // US dollars per million input tokens
  double price_output_per_mtok = 0;  // US dollars per million output tokens
  int context_length = 0;            // 0: the model file's own
  // The [[providers]] id that answers this model; empty: the local engine.
  std::string provider{};
  std::string upstream_model{};          // the upstream's name for it (provider set)
  std::vector<std::string> fallbacks{};  // catalog ids tried when its provider fails retryably,
                                         // or (not streamed) its answer breaks the schema

  // The ledger's provider name: "local" for the engine, the [[providers]] id otherwise. (Both
  // arms are views: `cond ? "local" : provider` would be a temporary std::string, and the view of
  // it dangling.)
  std::string_view provider_name() const {
    return provider.empty() ? std::string_view("local") : std::string_view(provider);
  }
  // Per million prompt-cache read / checkpoint write tokens; nullopt: the input price.
  std::optional<double> price_cache_read_per_mtok = std::nullopt;
  std::optional<double> price_cache_write_per_mtok = std::nullopt;
};

// What a caller's modelId names, before catalog lookup.
struct ModelReference {
  enum class Form {
    kPlainId,                         // "anthropic.claude-3-haiku-20240307-v1:0" or an alias
    kFoundationModelArn,              // arn:aws:bedrock:REGION::foundation-model/ID
    kInferenceProfileArn,             // arn:aws:bedrock:REGION:ACCOUNT:inference-profile/ID
    kApplicationInferenceProfileArn,  // arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID
    kPromptRouterArn  // arn:aws:bedrock:REGION:ACCOUNT:prompt-router/ID (or default-prompt-router/)
  };
  Form form = Form::kPlainId;
  std::string id;      // the part after the resource type, or the whole plain id
  std::string region;  // empty for a plain id
  std::string account;
};

// Splits a (percent-decoded) modelId. Fails with kInvalidArgument on a malformed or foreign ARN.
Result<ModelReference> parse_model_reference(std::string_view model_id);

// The foundation-model ARN IAM policies name for a model id.
std::string foundation_model_arn(std::string_view region, std::string_view model_id);

class Catalog {
 public:
  Catalog() = default;
  // Fails with kInvalidArgument on a duplicate id or alias, or an unknown kind or tier.
  static Result<Catalog> from_entries(std::vector<ModelEntry> entries);
  static Result<Catalog> from_config(const Config& config);

  // Accepts an id, an alias, a cross-region inference profile id ("us.ID"), or an ARN of any of
  // the forms above. kNotFound when nothing in the catalog answers for it.
  Result<const ModelEntry*> resolve(std::string_view model_id) const;
  // Exact id or alias only; nullptr when unknown.
  const ModelEntry* find(std::string_view id_or_alias) const;
  const std::vector<ModelEntry>& entries() const { return entries_; }

 private:
  std::vector<ModelEntry> entries_;
};

// Price in integer micro-dollars per million tokens (rounded to the nearest micro-dollar).
int64_t price_micro_usd_per_mtok(double usd_per_mtok);

struct Cost {
  // Exact: tokens * micro-dollars-per-million-tokens is a count of pico-dollars.
  int64_t pico_usd = 0;
  // Rounded half up to whole micro-dollars (what ledgers and reports show).
  int64_t micro_usd() const { return (pico_usd + 500'000) / 1'000'000; }
};

// A call's tokens; the cache counts are subsets of input_tokens (read from the prompt cache,
// written to it at a checkpoint), billed at their own prices.
struct TokenCounts {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_input_tokens = 0;
  int64_t cache_write_input_tokens = 0;
};

Cost compute_cost(const ModelEntry& model, const TokenCounts& tokens);
// Without prompt-cache tokens.
Cost compute_cost(const ModelEntry& model, int64_t input_tokens, int64_t output_tokens);

std::string_view to_string(ModelKind kind);
std::string_view to_string(ModelTier tier);

}  // namespace plinth::catalog
