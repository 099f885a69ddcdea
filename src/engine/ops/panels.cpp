// Row panels (see panels.h): the repacking, row decoding and the portable reference kernel.
#include "ops/panels.h"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

#include "ops/simd_kernels.h"

namespace plinth::engine::kernels {
namespace {

using panel_layout::kGroupBytes;
using panel_layout::kKMins;
using panel_layout::kKScales;
using panel_layout::kQ4KNibbles;
using panel_layout::kQ5KHigh;
using panel_layout::kQ5KNibbles;
using panel_layout::kQ6KHigh;
using panel_layout::kQ6KLow;
using panel_layout::kQ6KScales;
constexpr size_t kScaleBytes = panel_layout::kBody;  // the 16 f16 scales that start a block

// The pieces of row `lane`'s block that the layout moves as they are: fn(offset in the panel
// block, offset in the row's block, bytes). The rest (Q8_0's values, stored plus 128, and Q5_0's
// fifth bits, spread one group per bit) is written and read value by value. One map serves the
// repacking and the rebuilding, so the two cannot disagree.
template <typename Fn>
void for_each_piece(GgmlType t, int lane, Fn&& fn) {
  const size_t row = 4 * static_cast<size_t>(lane);
  auto groups = [&](size_t panel_at, size_t block_at, size_t count) {
    for (size_t g = 0; g < count; ++g) fn(panel_at + g * kGroupBytes + row, block_at + 4 * g, 4);
  };
  switch (t) {
    case GgmlType::kQ8_0:
      fn(2 * lane, offsetof(BlockQ8_0, d), 2);
      return;
    case GgmlType::kQ4_0:
      fn(2 * lane, offsetof(BlockQ4_0, d), 2);
      groups(kScaleBytes, offsetof(BlockQ4_0, qs), 4);
      return;
    case GgmlType::kQ5_0:
      fn(2 * lane, offsetof(BlockQ5_0, d), 2);
      groups(kScaleBytes + kGroupBytes, offsetof(BlockQ5_0, qs), 4);  // after the fifth bits
      return;
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K: {
      // Q5_K is Q4_K with qh between the scales and the nibbles.
      static_assert(offsetof(BlockQ4K, scales) == offsetof(BlockQ5K, scales));
      fn(2 * lane, offsetof(BlockQ4K, d), 2);
      fn(kKMins + 2 * lane, offsetof(BlockQ4K, dmin), 2);
      groups(kKScales, offsetof(BlockQ4K, scales), 3);
      if (t == GgmlType::kQ4_K) {
        groups(kQ4KNibbles, offsetof(BlockQ4K, qs), 32);
      } else {
        groups(kQ5KHigh, offsetof(BlockQ5K, qh), 8);
        groups(kQ5KNibbles, offsetof(BlockQ5K, qs), 32);
      }
      return;
    }
    case GgmlType::kQ6_K:
      fn(2 * lane, offsetof(BlockQ6K, d), 2);
      groups(kQ6KScales, offsetof(BlockQ6K, scales), 4);
      groups(kQ6KLow, offsetof(BlockQ6K, ql), 32);
      groups(kQ6KHigh, offsetof(BlockQ6K, qh), 16);
      return;
    default:
      return;
  }
}

// One block of 16 rows (blocks[r]: row r's block b) written as a panel block at `out`.
void write_panel_block(GgmlType t, const uint8_t* const* blocks, uint8_t* out) {
  for (int r = 0; r < kPanelRows; ++r) {
    for_each_piece(t, r, [&](size_t panel_at, size_t block_at, size_t n) {
      std::memcpy(out + panel_at, blocks[r] + block_at, n);
    });
    uint8_t* body = out + kScaleBytes;
    if (t == GgmlType::kQ8_0) {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(blocks[r]);
      for (int v = 0; v < kQK; ++v)
        body[(v / 4) * kGroupBytes + 4 * r + v % 4] = static_cast<uint8_t>(b->qs[v] + 128);
    } else if (t == GgmlType::kQ5_0) {
      uint32_t qh;
      std::memcpy(&qh, reinterpret_cast<const BlockQ5_0*>(blocks[r])->qh, 4);
      for (int i = 0; i < 4; ++i) {
        uint8_t bits = 0;
        for (int k = 0; k < 8; ++k) bits |= static_cast<uint8_t>(((qh >> (4 * k + i)) & 1u) << k);
        body[4 * r + i] = bits;
      }
    }
  }
}

// Row `lane`'s original block, rebuilt from the panel block at `at`.
void rebuild_block(GgmlType t, const uint8_t* at, int lane, uint8_t* out) {
  for_each_piece(t, lane, [&](size_t panel_at, size_t block_at, size_t n) {
    std::memcpy(out + block_at, at + panel_at, n);
  });
  const uint8_t* body = at + kScaleBytes;
  if (t == GgmlType::kQ8_0) {
    auto* b = reinterpret_cast<BlockQ8_0*>(out);
    for (int v = 0; v < kQK; ++v)
      b->qs[v] = static_cast<int8_t>(body[(v / 4) * kGroupBytes + 4 * lane + v % 4] - 128);
  } else if (t == GgmlType::kQ5_0) {
    uint32_t qh = 0;
    for (int v = 0; v < kQK; ++v)
      qh |= static_cast<uint32_t>((body[4 * lane + v % 4] >> (v / 4)) & 1) << v;
    std::memcpy(reinterpret_cast<BlockQ5_0*>(out)->qh, &qh, 4);
  }
}

// The unsigned value vpdpbusd multiplies for value v of a Q8_0 / Q4_0 / Q5_0 row `lane` in the
// panel block at `at`: the true value plus panel_weight_offset.
int32_t stored_value(GgmlType t, const uint8_t* at, int lane, int v) {
  const uint8_t* body = at + kScaleBytes;
  const int k = v / 4, i = v % 4;
  if (t == GgmlType::kQ8_0) return body[k * kGroupBytes + 4 * lane + i];
  const uint8_t* nibbles = t == GgmlType::kQ5_0 ? body + kGroupBytes : body;
  const uint8_t packed = nibbles[(k % 4) * kGroupBytes + 4 * lane + i];
  int32_t q = k < 4 ? packed & 0x0F : packed >> 4;
  if (t == GgmlType::kQ5_0) q |= ((body[4 * lane + i] >> k) & 1) << 4;
  return q;
}

}  // namespace

bool panels_fit(GgmlType t, int64_t rows, int64_t cols) {
  const bool q32 = t == GgmlType::kQ8_0 || t == GgmlType::kQ4_0 || t == GgmlType::kQ5_0;
  const bool k = t == GgmlType::kQ4_K || t == GgmlType::kQ5_K || t == GgmlType::kQ6_K;
  return (q32 || k) && rows > 0 && rows % kPanelRows == 0 && cols > 0 &&
         cols % (q32 ? kQK : kQKK) == 0;
}

int32_t panel_weight_offset(GgmlType t) {
  switch (t) {
    case GgmlType::kQ8_0:
      return 128;
    case GgmlType::kQ4_0:
      return 8;
    case GgmlType::kQ5_0:
      return 16;
    case GgmlType::kQ6_K:
      return 32;
    default:
      return 0;  // Q4_K: unsigned values, minimums applied in float
  }
}

void repack_to_panels(GgmlType t, uint8_t* data, int64_t rows, int64_t cols) {
  const size_t block = block_bytes(t);
  const int64_t blocks = cols / block_values(t);
  const size_t row_bytes = block * static_cast<size_t>(blocks);
  // Each panel takes exactly its 16 rows' bytes: copy them aside, then write the panel over them.
  std::vector<uint8_t> rows16(row_bytes * kPanelRows);
  for (int64_t p = 0; p < rows / kPanelRows; ++p) {
    uint8_t* panel = data + static_cast<size_t>(p) * rows16.size();
    std::memcpy(rows16.data(), panel, rows16.size());
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* blocks_of_rows[kPanelRows];
      for (int r = 0; r < kPanelRows; ++r)
        blocks_of_rows[r] = rows16.data() + r * row_bytes + static_cast<size_t>(b) * block;
      write_panel_block(t, blocks_of_rows, panel + static_cast<size_t>(b) * block * kPanelRows);
    }
  }
}

void dequantize_weight_row(const WeightMatrix& w, int64_t r, float* dst, RowDecoder decode) {
  if (!w.panels) {
    decode(w.type, static_cast<const uint8_t*>(w.data) + r * static_cast<int64_t>(w.row_bytes), dst,
           w.cols);
    return;
  }
  const size_t block = block_bytes(w.type);
  const int64_t length = block_values(w.type), blocks = w.cols / length;
  const auto* panel = static_cast<const uint8_t*>(w.data) +
                      static_cast<size_t>(r / kPanelRows) * w.row_bytes * kPanelRows;
  const auto lane = static_cast<int>(r % kPanelRows);
  alignas(8) uint8_t original[sizeof(BlockQ6K)];  // the largest block a panel holds
  for (int64_t b = 0; b < blocks; ++b, dst += length) {
    rebuild_block(w.type, panel + static_cast<size_t>(b) * block * kPanelRows, lane, original);
    decode(w.type, original, dst, length);
  }
}

void quantize_for_panels(const float* x, int64_t cols, PanelActivation* out) {
  for (int64_t b = 0; b < cols / kQK; ++b) {
    BlockQ8_0 block;
    quantize_row_q8_0(x + b * kQK, &block, kQK);
    std::memcpy(out[b].q, block.qs, kQK);
    out[b].d = fp16_to_fp32(block.d);
    int32_t sum = 0;
    for (int v = 0; v < kQK; ++v) {
      sum += block.qs[v];
      if (v == kQK / 2 - 1) out[b].sum_low = sum;
    }
    out[b].sum = sum;
  }
}

namespace {

// The K-quant references: for every token and row, each super-block's block rebuilt from the
// panel, then add(block, the super-block's 8 activations, acc) in sub-block order.
template <typename Block, typename Add>
void k_tile_reference(GgmlType t, int64_t blocks, const uint8_t* panel,
                      const PanelActivation* const* xs, int tokens, float* const* ys, Add add) {
  constexpr int kSubBlocks = kQKK / kQK;
  for (int i = 0; i < tokens; ++i) {
    for (int r = 0; r < kPanelRows; ++r) {
      float acc = 0;
      for (int64_t sb = 0; sb < blocks / kSubBlocks; ++sb) {
        Block b;
        rebuild_block(t, panel + static_cast<size_t>(sb) * sizeof(Block) * kPanelRows, r,
                      reinterpret_cast<uint8_t*>(&b));
        add(b, xs[i] + sb * kSubBlocks, acc);
      }
      ys[i][r] = acc;
    }
  }
}

// Q4_K / Q5_K: per 32-value sub-block j, value = d * scale_j * q - dmin * min_j with q in 0..15
// (0..31).
template <typename Block>
void q45_K_tile_reference(int64_t blocks, const uint8_t* panel, const PanelActivation* const* xs,
                          int tokens, float* const* ys) {
  constexpr bool kFiveBit = std::is_same_v<Block, BlockQ5K>;
  const GgmlType t = kFiveBit ? GgmlType::kQ5_K : GgmlType::kQ4_K;
  k_tile_reference<Block>(t, blocks, panel, xs, tokens, ys,
                          [](const Block& b, const PanelActivation* x, float& acc) {
                            uint8_t scales_mins[16];
                            k_scales_and_mins(b.scales, scales_mins);
                            const float d = fp16_to_fp32(b.d), dmin = fp16_to_fp32(b.dmin);
                            for (int j = 0; j < kQKK / kQK; ++j) {
                              int32_t dot = 0;
                              for (int v = 0; v < kQK; ++v) {
                                const uint8_t packed = b.qs[32 * (j / 2) + v];
                                int32_t q = j % 2 == 0 ? packed & 0x0F : packed >> 4;
                                if constexpr (kFiveBit) q |= ((b.qh[v] >> j) & 1) << 4;
                                dot += q * x[j].q[v];
                              }
                              const float scale = d * static_cast<float>(scales_mins[j]);
                              const float min = dmin * static_cast<float>(scales_mins[8 + j]);
                              acc = std::fma(static_cast<float>(dot), scale * x[j].d, acc);
                              acc = std::fma(min, -(x[j].d * static_cast<float>(x[j].sum)), acc);
                            }
                          });
}

// Q6_K: per 32-value sub-block j, value = d * scale * q with q in -32..31 and scale 2j for
// values 0..15, 2j + 1 for 16..31: one FMA for each half.
void q6_K_tile_reference(int64_t blocks, const uint8_t* panel, const PanelActivation* const* xs,
                         int tokens, float* const* ys) {
  k_tile_reference<BlockQ6K>(GgmlType::kQ6_K, blocks, panel, xs, tokens, ys,
                             [](const BlockQ6K& b, const PanelActivation* x, float& acc) {
                               const float d = fp16_to_fp32(b.d);
                               for (int j = 0; j < kQKK / kQK; ++j) {
                                 const int half = j / 4, s = j % 4;
                                 const uint8_t* ql = b.ql + 64 * half + 32 * (s % 2);
                                 const uint8_t* qh = b.qh + 32 * half;
                                 int32_t dots[2] = {0, 0};
                                 for (int v = 0; v < kQK; ++v) {
                                   const int low = s < 2 ? ql[v] & 0x0F : ql[v] >> 4;
                                   const int q = (low | ((qh[v] >> (2 * s)) & 3) << 4) - 32;
                                   dots[v / 16] += q * x[j].q[v];
                                 }
                                 for (int h = 0; h < 2; ++h) {
                                   const float scale = d * static_cast<float>(b.scales[2 * j + h]);
                                   acc = std::fma(static_cast<float>(dots[h]), scale * x[j].d, acc);
                                 }
                               }
                             });
}

}  // namespace

void panel_tile_reference(GgmlType t, int64_t blocks, const uint8_t* panel,
                          const PanelActivation* const* xs, int tokens, float* const* ys) {
  if (t == GgmlType::kQ4_K) return q45_K_tile_reference<BlockQ4K>(blocks, panel, xs, tokens, ys);
  if (t == GgmlType::kQ5_K) return q45_K_tile_reference<BlockQ5K>(blocks, panel, xs, tokens, ys);
  if (t == GgmlType::kQ6_K) return q6_K_tile_reference(blocks, panel, xs, tokens, ys);
  const size_t block = block_bytes(t);
  const int32_t offset = panel_weight_offset(t);
  for (int i = 0; i < tokens; ++i) {
    for (int r = 0; r < kPanelRows; ++r) {
      float acc = 0;
      for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t* at = panel + static_cast<size_t>(b) * block * kPanelRows;
        uint16_t d16;
        std::memcpy(&d16, at + 2 * r, 2);
        int32_t dot = -offset * xs[i][b].sum;
        for (int v = 0; v < kQK; ++v) dot += stored_value(t, at, r, v) * xs[i][b].q[v];
        acc = std::fma(static_cast<float>(dot), fp16_to_fp32(d16) * xs[i][b].d, acc);
      }
      ys[i][r] = acc;
    }
  }
}

}  // namespace plinth::engine::kernels
