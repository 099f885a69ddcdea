// compile_schema, SchemaCache and JsonMatcher: the public entry points over the grammar.
#include "plinth/structured/structured.h"

#include "matcher_core.h"
#include "schema_compiler.h"

namespace plinth::structured {

Result<std::shared_ptr<const CompiledSchema>> compile_schema_uncached(
    std::string_view schema_json) {
  auto grammar = compile_grammar(schema_json);
  if (!grammar) return std::unexpected(grammar.error());
  auto compiled = std::make_shared<CompiledSchema>();
  compiled->grammar = std::move(*grammar);
  return std::shared_ptr<const CompiledSchema>(std::move(compiled));
}

Result<std::shared_ptr<const CompiledSchema>> SchemaCache::get_or_compile(
    std::string_view schema_json) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(std::string(schema_json)); it != entries_.end()) return it->second;
  }
  // Compile outside the lock: a slow schema must not stall other requests.
  auto compiled = compile_schema_uncached(schema_json);
  if (!compiled) return compiled;
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_) entries_.clear();  // simple bound; recompiling is cheap
  entries_.emplace(std::string(schema_json), *compiled);
  return compiled;
}

size_t SchemaCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

Result<std::shared_ptr<const CompiledSchema>> compile_schema(std::string_view schema_json) {
  static SchemaCache cache(64);  // bounds the shared mask caches too (matcher_core.h)
  return cache.get_or_compile(schema_json);
}

JsonMatcher::JsonMatcher(std::shared_ptr<const CompiledSchema> schema)
    : schema_(std::move(schema)), state_(detail::initial_state(schema_->grammar)) {}

bool JsonMatcher::feed(uint8_t byte) {
  detail::MatcherState next = state_;
  if (!detail::feed_byte(schema_->grammar, next, byte)) return false;
  state_ = std::move(next);
  return true;
}

bool JsonMatcher::feed(std::string_view bytes) {
  detail::MatcherState next = state_;
  for (char c : bytes)
    if (!detail::feed_byte(schema_->grammar, next, static_cast<uint8_t>(c))) return false;
  state_ = std::move(next);
  return true;
}

bool JsonMatcher::can_feed(uint8_t byte) const {
  detail::MatcherState next = state_;
  return detail::feed_byte(schema_->grammar, next, byte);
}

bool JsonMatcher::is_complete() const { return detail::is_complete(schema_->grammar, state_); }

int64_t JsonMatcher::distance_to_close() const {
  return detail::distance_to_close(schema_->grammar, state_);
}

}  // namespace plinth::structured
