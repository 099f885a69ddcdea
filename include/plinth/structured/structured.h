// Structured output: JSON Schema -> byte matcher -> token constraint, plus independent validation.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/engine/engine.h"

namespace plinth::structured {

// A schema compiled to a grammar. Immutable and shareable across threads.
class CompiledSchema;

// Compiles a JSON Schema (draft-04/07/2020-12). Every keyword that constrains instances is either
// enforced or rejected with kInvalidArgument naming it and its JSON path, e.g.
// "unsupported keyword 'patternProperties' at #/properties/a". Results are cached process-wide.
Result<std::shared_ptr<const CompiledSchema>> compile_schema(std::string_view schema_json);

// A thread-safe cache of compiled schemas keyed by their exact text.
class SchemaCache {
 public:
  explicit SchemaCache(size_t capacity = 512) : capacity_(capacity) {}
  Result<std::shared_ptr<const CompiledSchema>> get_or_compile(std::string_view schema_json);
  size_t size() const;

 private:
  size_t capacity_;
  mutable std::mutex mutex_;
  // Guarded by mutex_.
  std::unordered_map<std::string, std::shared_ptr<const CompiledSchema>> entries_;
};

// Compiles without caching.
Result<std::shared_ptr<const CompiledSchema>> compile_schema_uncached(std::string_view schema_json);

namespace detail {
// One level of the matcher's stack; plain bytes so states hash and compare with memcmp.
struct Frame {
  int32_t node = 0;
  uint8_t phase = 0;
  uint8_t aux = 0;
  uint16_t small = 0;
  int32_t a = 0;
  int32_t b = 0;
  double v = 0;
};
// Alternatives still alive (anyOf branches); each is a stack of frames.
struct MatcherState {
  std::vector<std::vector<Frame>> threads;
};
}  // namespace detail

// A pushdown automaton over bytes accepting exactly the compact JSON texts the compiled schema
// allows (as far as supported keywords define it). Copying is cheap (a few small vectors).
class JsonMatcher {
 public:
  explicit JsonMatcher(std::shared_ptr<const CompiledSchema> schema);
  // Consumes one byte if allowed; on false the state is unchanged.
  bool feed(uint8_t byte);
  // All-or-nothing: either every byte is consumed or the state is unchanged.
  bool feed(std::string_view bytes);
  bool can_feed(uint8_t byte) const;
  // The text so far is a complete instance.
  bool is_complete() const;
  // Estimated fewest bytes still needed to complete (0 when complete).
  int64_t distance_to_close() const;
  const detail::MatcherState& state() const { return state_; }

 private:
  std::shared_ptr<const CompiledSchema> schema_;
  detail::MatcherState state_;
};

// Per-tokenizer precomputation: a trie over every token's bytes. Build once per tokenizer.
class TokenIndex {
 public:
  explicit TokenIndex(const engine::Tokenizer& tokenizer);
  int32_t vocab_size() const { return vocab_size_; }
  const std::string& token_text(engine::TokenId id) const { return texts_[id]; }
  bool is_end_of_generation(engine::TokenId id) const { return eog_[id] != 0; }
  // Never allowed inside JSON: control tokens and tokens with no bytes.
  bool is_excluded(engine::TokenId id) const { return excluded_[id] != 0; }
  const std::vector<engine::TokenId>& end_of_generation_tokens() const { return eog_ids_; }

  struct TrieNode {
    uint8_t byte = 0;
    int32_t first_child = -1;
    int32_t next_sibling = -1;
    int32_t tokens_begin = 0, tokens_end = 0;  // range in Trie::tokens
  };
  struct Trie {
    std::vector<TrieNode> nodes;  // nodes[0] is the root
    std::vector<engine::TokenId> tokens;
  };
  // Every token that may appear in JSON text.
  const Trie& trie() const { return all_; }
  // Tokens that are not plain string content (see plain_string_tokens()).
  const Trie& non_plain_trie() const { return non_plain_; }
  // Bit i set: token i is whole characters of string content that need no escaping (no '"',
  // '\\', control bytes, or partial UTF-8), so an unconstrained string accepts it as is.
  const std::vector<uint64_t>& plain_string_tokens() const { return plain_bits_; }
  // Characters (code points) in each plain token; 0 for the others.
  const std::vector<uint16_t>& plain_token_chars() const { return plain_chars_; }
  // Plain tokens ordered by plain_token_chars(), fewest first (to apply a length limit by
  // visiting only the tokens on the smaller side of it).
  const std::vector<engine::TokenId>& plain_tokens_by_chars() const { return plain_by_chars_; }
  size_t max_token_bytes() const { return max_token_bytes_; }
  // Unique per TokenIndex in the process (never reused), so caches can key masks by it.
  uint64_t id() const { return id_; }

 private:
  uint64_t id_ = 0;
  int32_t vocab_size_ = 0;
  std::vector<std::string> texts_;
  std::vector<uint8_t> eog_, excluded_;
  std::vector<engine::TokenId> eog_ids_;
  Trie all_, non_plain_;
  std::vector<uint64_t> plain_bits_;
  std::vector<uint16_t> plain_chars_;
  std::vector<engine::TokenId> plain_by_chars_;
  size_t max_token_bytes_ = 0;
};

// The index for this tokenizer, built on first use and cached for the process.
const TokenIndex& token_index_for(const engine::Tokenizer& tokenizer);

struct ConstraintOptions {
  // The generation's max_tokens; when the tokens left approach the bytes needed to close the
  // JSON, only tokens that bring the output closer to complete are allowed. 0 = no steering.
  int32_t max_tokens = 0;
  int32_t steer_margin = 8;
};

// One constraint per generation. `index` must outlive it.
std::unique_ptr<engine::TokenConstraint> make_constraint(
    std::shared_ptr<const CompiledSchema> schema, const TokenIndex& index,
    const ConstraintOptions& options = {});

// Independent check with valijson (draft-07 semantics): the first error with its path.
Status validate(std::string_view schema_json, std::string_view instance_json);

}  // namespace plinth::structured
