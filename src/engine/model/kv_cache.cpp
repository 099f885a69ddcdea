// KvCache storage: contiguous per-layer rows, converted to F16 on store in fast mode.
#include "model/kv_cache.h"

#include <algorithm>

#include "ops/dequant.h"

namespace plinth::engine {

KvCache::KvCache(int32_t n_layer, int32_t kv_dim, int32_t capacity, bool f16)
    : n_layer_(n_layer), kv_dim_(kv_dim), capacity_(capacity), f16_(f16) {
  const size_t n = static_cast<size_t>(n_layer) * static_cast<size_t>(capacity) * kv_dim;
  if (f16) {
    keys16_.resize(n);
    values16_.resize(n);
  } else {
    keys32_.resize(n);
    values32_.resize(n);
  }
}

KvCache::KvCache(const KvCache& source, int32_t n)
    : KvCache(source.n_layer_, source.kv_dim_, n, source.f16_) {
  copy_prefix_from(source, n);
}

void KvCache::copy_prefix_from(const KvCache& source, int32_t n) {
  const auto rows = static_cast<ptrdiff_t>(n) * kv_dim_;
  for (int32_t layer = 0; layer < n_layer_; ++layer) {
    const auto from = static_cast<ptrdiff_t>(layer) * source.capacity_ * kv_dim_;
    const auto to = static_cast<ptrdiff_t>(layer) * capacity_ * kv_dim_;
    if (f16_) {
      std::copy_n(source.keys16_.begin() + from, rows, keys16_.begin() + to);
      std::copy_n(source.values16_.begin() + from, rows, values16_.begin() + to);
    } else {
      std::copy_n(source.keys32_.begin() + from, rows, keys32_.begin() + to);
      std::copy_n(source.values32_.begin() + from, rows, values32_.begin() + to);
    }
  }
  size_ = n;
}

void KvCache::store(int32_t layer, int32_t pos, const float* key, const float* value) {
  const size_t at = (static_cast<size_t>(layer) * capacity_ + pos) * kv_dim_;
  if (f16_) {
    for (int32_t i = 0; i < kv_dim_; ++i) {
      keys16_[at + i] = f32_to_f16(key[i]);
      values16_[at + i] = f32_to_f16(value[i]);
    }
  } else {
    std::copy(key, key + kv_dim_, keys32_.begin() + static_cast<ptrdiff_t>(at));
    std::copy(value, value + kv_dim_, values32_.begin() + static_cast<ptrdiff_t>(at));
  }
}

KvView KvCache::view(int32_t layer) const {
  const size_t at = static_cast<size_t>(layer) * capacity_ * kv_dim_;
  if (f16_) return {keys16_.data() + at, values16_.data() + at, kv_dim_, true};
  return {keys32_.data() + at, values32_.data() + at, kv_dim_, false};
}

size_t KvCache::bytes() const {
  return (keys32_.size() + values32_.size()) * sizeof(float) +
         (keys16_.size() + values16_.size()) * sizeof(uint16_t);
}

}  // namespace plinth::engine
