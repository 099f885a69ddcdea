// The sampler's passes over a whole vocabulary, split in two halves on the model's thread pool
// (see PassThreads): the max, the exp pass and the top-p checks.
#include <algorithm>

#include "model/sampler.h"

namespace plinth::engine {
namespace {

// Passes over fewer values than this stay on one thread (a hand-off costs ~1 us).
constexpr size_t kSplitFrom = 32768;

}  // namespace

int Sampler::split(size_t n,
                   const std::function<void(int part, size_t begin, size_t end)>& fn) const {
  if (threads_.pool == nullptr || threads_.pool->size() < 2 || n < kSplitFrom) {
    fn(0, 0, n);
    return 1;
  }
  const size_t half = (n / 2 + kernels::kSumBlock - 1) / kernels::kSumBlock * kernels::kSumBlock;
  std::lock_guard lock(*threads_.mutex);
  threads_.pool->parallel_for(2, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part)
      fn(static_cast<int>(part), part == 0 ? 0 : half, part == 0 ? half : n);
  });
  return 2;
}

float Sampler::max_of(std::span<const float> logits) {
  float part_max[2] = {kNegInf, kNegInf};
  split(logits.size(), [&](int part, size_t begin, size_t end) {
    part_max[part] = kernels_.max(logits.data() + begin, end - begin,
                                  block_max_.data() + begin / kernels::kMaxBlock);
  });
  return std::max(part_max[0], part_max[1]);
}

kernels::ExpSums Sampler::exp_pass(const float* x, size_t n, const kernels::ExpPass& pass) const {
  kernels::ExpSums parts[2];
  const int count = split(n, [&](int part, size_t begin, size_t end) {
    kernels::ExpPass mine = pass;
    if (mine.weights != nullptr) mine.weights += begin;
    if (mine.block_sums != nullptr) mine.block_sums += begin / kernels::kSumBlock;
    parts[part] = kernels_.exp_weights(x + begin, end - begin, mine);
  });
  if (count == 1) return parts[0];
  kernels::ExpSums sums = parts[0];
  sums.total += parts[1].total;
  sums.above[0] += parts[1].above[0];
  sums.above[1] += parts[1].above[1];
  sums.raw += parts[1].raw;
  return sums;
}

double Sampler::mass_before(float value, size_t index) const {
  double parts[2] = {0, 0};
  split(count_, [&](int part, size_t begin, size_t end) {
    parts[part] = kernels_.mass_before(values_ + begin, weights_.data() + begin, end - begin, value,
                                       std::clamp(index, begin, end) - begin);
  });
  return parts[0] + parts[1];
}

}  // namespace plinth::engine
