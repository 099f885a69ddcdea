// The AVX-512 attention kernel over an F16 cache against the same attention in double precision,
// and attend_one_head (which takes the kernel where it applies) against it too.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <random>
#include <vector>

#include "ops/attention.h"
#include "ops/simd_kernels.h"

namespace plinth::engine::kernels {
namespace {

struct Case {
  std::vector<float> q;
  std::vector<uint16_t> keys, values;  // n_pos rows of `stride` halves; the head at `offset`
  int64_t stride = 0, offset = 0, n_pos = 0;
  int32_t head_dim = 0;
};

Case make_case(int64_t n_pos, int32_t head_dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Case c;
  c.n_pos = n_pos;
  c.head_dim = head_dim;
  c.offset = head_dim;  // the second of three kv heads: rows longer than one head
  c.stride = 3 * head_dim;
  c.q.resize(head_dim);
  for (auto& v : c.q) v = normal(rng);
  c.keys.resize(n_pos * c.stride);
  c.values.resize(n_pos * c.stride);
  for (auto& h : c.keys) h = fp32_to_fp16(normal(rng));
  for (auto& h : c.values) h = fp32_to_fp16(normal(rng));
  return c;
}

// softmax(q.K * scale) V in double, from the same halves.
std::vector<double> reference(const Case& c, float scale) {
  std::vector<double> scores(c.n_pos), out(c.head_dim, 0.0);
  double max = -INFINITY;
  for (int64_t p = 0; p < c.n_pos; ++p) {
    double dot = 0;
    for (int32_t d = 0; d < c.head_dim; ++d)
      dot += static_cast<double>(c.q[d]) * fp16_to_fp32(c.keys[p * c.stride + c.offset + d]);
    scores[p] = dot * scale;
    max = std::max(max, scores[p]);
  }
  double sum = 0;
  for (auto& s : scores) sum += (s = std::exp(s - max));
  for (int64_t p = 0; p < c.n_pos; ++p)
    for (int32_t d = 0; d < c.head_dim; ++d)
      out[d] += scores[p] / sum * fp16_to_fp32(c.values[p * c.stride + c.offset + d]);
  return out;
}

// Scores that end where a page without access begins: the kernel must not read (or write) past
// n_pos, which a heap vector with slack would hide. A crash here is the failure.
TEST(AttentionKernel, NeverTouchesScoresPastTheLastPosition) {
  const KernelSet* k = avx512_kernels();
  if (k == nullptr || k->attend_f16 == nullptr) GTEST_SKIP() << "no AVX-512 on this CPU";
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* region =
      mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  ASSERT_EQ(mprotect(static_cast<char*>(region) + page, page, PROT_NONE), 0);
  for (int64_t n_pos : {1, 2, 3, 5, 15, 17, 33}) {
    const Case c = make_case(n_pos, 64, static_cast<uint32_t>(n_pos));
    auto* scores = reinterpret_cast<float*>(static_cast<char*>(region) + page) - n_pos;
    std::vector<float> out(64);
    k->attend_f16(c.q.data(), c.keys.data() + c.offset, c.values.data() + c.offset, c.stride, n_pos,
                  64, 0.125f, scores, out.data());
    const std::vector<double> want = reference(c, 0.125f);
    EXPECT_NEAR(out[0], want[0], 2e-5 * (1.0 + std::fabs(want[0]))) << "n_pos " << n_pos;
  }
  munmap(region, 2 * page);
}

TEST(AttentionKernel, MatchesDoublePrecisionForEveryTailLength) {
  const KernelSet* k = avx512_kernels();
  if (k == nullptr || k->attend_f16 == nullptr) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (int32_t head_dim : {16, 64, 128}) {
    // Four positions per score step and per value step: every remainder, and long contexts.
    for (int64_t n_pos : {1, 2, 3, 4, 5, 7, 16, 17, 33, 300, 1025}) {
      const Case c = make_case(n_pos, head_dim, static_cast<uint32_t>(n_pos * 131 + head_dim));
      const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
      std::vector<float> scores(n_pos, NAN), out(head_dim + 1, NAN);
      k->attend_f16(c.q.data(), c.keys.data() + c.offset, c.values.data() + c.offset, c.stride,
                    n_pos, head_dim, scale, scores.data(), out.data());
      const std::vector<double> want = reference(c, scale);
      for (int32_t d = 0; d < head_dim; ++d)
        ASSERT_NEAR(out[d], want[d], 2e-5 * (1.0 + std::fabs(want[d])))
            << "head_dim " << head_dim << " n_pos " << n_pos << " d " << d;
      EXPECT_TRUE(std::isnan(out[head_dim])) << "wrote past the head";
      double weight = 0;
      for (float s : scores) weight += s;
      EXPECT_NEAR(weight, 1.0, 1e-5) << "head_dim " << head_dim << " n_pos " << n_pos;
    }
  }
}

// attend_one_head takes the kernel on the fast path (head_dim 64) and the portable loops for a
// head_dim that is no multiple of 16: both agree with double precision.
TEST(AttentionKernel, AttendOneHeadAgreesOnBothPaths) {
  for (int32_t head_dim : {64, 40}) {
    const int64_t n_pos = 37;
    const int32_t n_head = 6, n_head_kv = 3;  // heads 2 and 3 read kv head 1
    std::mt19937 rng(9);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> q(n_head * head_dim);
    for (auto& v : q) v = normal(rng);
    Case c = make_case(n_pos, head_dim, 17);
    const int32_t head = 3;
    c.q.assign(q.begin() + head * head_dim, q.begin() + (head + 1) * head_dim);
    const KvView kv{c.keys.data(), c.values.data(), c.stride, true};
    std::vector<float> scores(n_pos), out(n_head * head_dim, 0.0f);
    attend_one_head(q.data(), kv, n_pos, head, n_head, n_head_kv, head_dim, scores.data(),
                    out.data());
    const std::vector<double> want = reference(c, 1.0f / std::sqrt(static_cast<float>(head_dim)));
    for (int32_t d = 0; d < head_dim; ++d)
      ASSERT_NEAR(out[head * head_dim + d], want[d], 2e-5 * (1.0 + std::fabs(want[d])))
          << "head_dim " << head_dim << " d " << d;
  }
}

}  // namespace
}  // namespace plinth::engine::kernels
