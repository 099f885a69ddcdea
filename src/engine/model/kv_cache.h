// KvCache: one sequence's keys and values for every layer, F32 (exact) or F16 (fast).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ops/attention.h"

namespace plinth::engine {

class KvCache {
 public:
  // Room for `capacity` positions of n_layer layers of kv_dim values.
  KvCache(int32_t n_layer, int32_t kv_dim, int32_t capacity, bool f16);
  // A copy of the first n positions of source, with room for exactly those.
  KvCache(const KvCache& source, int32_t n);

  // Overwrites the first n positions with source's (same layers, width and type; n <= both
  // capacities) and sets size() to n.
  void copy_prefix_from(const KvCache& source, int32_t n);
  bool same_shape(const KvCache& other) const {
    return n_layer_ == other.n_layer_ && kv_dim_ == other.kv_dim_ && f16_ == other.f16_;
  }

  int32_t capacity() const { return capacity_; }
  bool is_f16() const { return f16_; }
  // Positions written so far (the next token goes at size()).
  int32_t size() const { return size_; }
  void set_size(int32_t n) { size_ = n; }

  // Writes position pos of layer (pos < capacity, checked by the caller).
  void store(int32_t layer, int32_t pos, const float* key, const float* value);
  KvView view(int32_t layer) const;
  size_t bytes() const;

 private:
  int32_t n_layer_, kv_dim_, capacity_;
  bool f16_;
  int32_t size_ = 0;
  std::vector<float> keys32_, values32_;     // exact: [layer][pos][kv_dim]
  std::vector<uint16_t> keys16_, values16_;  // fast: same layout, IEEE half
};

}  // namespace plinth::engine
