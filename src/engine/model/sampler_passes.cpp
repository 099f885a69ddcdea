// The sampler's passes over a whole vocabulary, split in parts on the model's thread pool (see
// PassThreads): the max, the exp pass and the top-p checks.
#include <algorithm>

#include "model/sampler.h"

namespace plinth::engine {
namespace {

// Passes over fewer values than this stay on one thread (a hand-off costs ~1 us).
constexpr size_t kSplitFrom = 32768;
// A split pass runs in this many parts (at most: they are whole kSumBlocks).
constexpr int kPassParts = 4;

}  // namespace

int Sampler::split(size_t n,
                   const std::function<void(int part, size_t begin, size_t end)>& fn) const {
  if (threads_.pool == nullptr || threads_.pool->size() < 2 || n < kSplitFrom) {
    fn(0, 0, n);
    return 1;
  }
  // kPassParts parts that the threads claim one at a time. The two virtual CPUs do not always
  // give two cores' worth of vector work (at times the second shares a core): with one half
  // each, the pass then waited on the slower half and the pooled sample took longer than one
  // thread (peaked logits, T=1, top_p=0.9: 46-48 us against 40); with parts claimed, the faster
  // thread takes more of them (38-41 us), at ~1 us more when both cores are whole.
  const size_t per_part = (n + kPassParts - 1) / kPassParts;
  const size_t part_size =
      (per_part + kernels::kSumBlock - 1) / kernels::kSumBlock * kernels::kSumBlock;
  const int parts = static_cast<int>((n + part_size - 1) / part_size);
  std::lock_guard lock(*threads_.mutex);
  threads_.pool->parallel_for(parts, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      const size_t from = static_cast<size_t>(part) * part_size;
      fn(static_cast<int>(part), from, std::min(n, from + part_size));
    }
  });
  return parts;
}

float Sampler::max_of(std::span<const float> logits) {
  float part_max[kPassParts];
  const int parts = split(logits.size(), [&](int part, size_t begin, size_t end) {
    part_max[part] = kernels_.max(logits.data() + begin, end - begin,
                                  block_max_.data() + begin / kernels::kMaxBlock);
  });
  return *std::max_element(part_max, part_max + parts);
}

kernels::ExpSums Sampler::exp_pass(const float* x, size_t n, const kernels::ExpPass& pass) const {
  kernels::ExpSums parts[kPassParts];
  const int count = split(n, [&](int part, size_t begin, size_t end) {
    kernels::ExpPass mine = pass;
    if (mine.weights != nullptr) mine.weights += begin;
    if (mine.block_sums != nullptr) mine.block_sums += begin / kernels::kSumBlock;
    parts[part] = kernels_.exp_weights(x + begin, end - begin, mine);
  });
  kernels::ExpSums sums = parts[0];
  for (int part = 1; part < count; ++part) {
    sums.total += parts[part].total;
    sums.above[0] += parts[part].above[0];
    sums.above[1] += parts[part].above[1];
    sums.raw += parts[part].raw;
  }
  return sums;
}

double Sampler::mass_before(float value, size_t index) const {
  double parts[kPassParts];
  const int count = split(count_, [&](int part, size_t begin, size_t end) {
    parts[part] = kernels_.mass_before(values_ + begin, weights_.data() + begin, end - begin, value,
                                       std::clamp(index, begin, end) - begin);
  });
  double mass = 0;
  for (int part = 0; part < count; ++part) mass += parts[part];
  return mass;
}

}  // namespace plinth::engine
