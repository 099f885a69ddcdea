// Row panels: Q8_0 / Q4_0 / Q5_0 / Q4_K / Q5_K / Q6_K weights rewritten at load, in place and
// in the same bytes, so that one 64-byte vector holds the same four values of 16 rows. A vpdpbusd
// then multiplies 16 rows by four of one token's values broadcast from memory: no shuffles, no
// per-row scale gathers, and each token's 16 results land in one vector that is stored as it is.
// Against the row layout's tiles (4 rows x 4 tokens, weights rotated per block) a 4,864 x 896 Q8_0
// matmul ran 2.6x faster for one token from cache, 2.1x for 4 tokens and 1.4x for 16.
//
// Panel p holds rows 16p .. 16p + 15, in the bytes those rows had. Per 32-value block b (the
// rows' blocks b, 16 x the block size, in block order), starting with the 16 rows' f16 scales
// (32 bytes), then:
// - Q8_0: eight 64-byte groups; group k holds, at 4r, row r's values 4k .. 4k + 3 plus 128
//   (unsigned bytes, as vpdpbusd takes them).
// - Q4_0: four 64-byte vectors; vector j holds, at 4r, row r's packed bytes 4j .. 4j + 3: low
//   nibbles values 4j .., high nibbles values 16 + 4j .. (a mask and a shift give two groups).
// - Q5_0: 64 bytes of fifth bits: bit k of byte 4r + i is the fifth bit of row r's value 4k + i
//   (one vptestmb per group finds them), then the four nibble vectors as in Q4_0.
// - Q4_K, per 256-value super-block: the 16 rows' d, then their dmin (f16), then their 12 packed
//   scale bytes as three vectors (bytes 4v .. 4v + 3 of row r at 4r), then per pair of 32-value
//   sub-blocks eight vectors of the rows' 32 packed bytes (low nibbles the first sub-block).
//   Q5_K: the same with the rows' 32 qh bytes as eight vectors before the nibbles (bit s of a
//   byte is the fifth bit of sub-block s).
// - Q6_K, per super-block: the 16 rows' d, their 16 int8 scales as four vectors, then the rows'
//   ql bytes in 4-byte groups (32 vectors) and their qh bytes (16 vectors), each in file order;
//   sub-block j of a row takes scales 2j and 2j + 1, one per 16 values.
// The stored unsigned values exceed the true ones by panel_weight_offset(t) (Q4_K / Q5_K: 0,
// their minimums are applied in float); the kernels start each token's sums at -offset * (the sum
// of its quantized values) to take it back.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ops/matmul.h"

namespace plinth::engine::kernels {

inline constexpr int64_t kPanelRows = 16;

// Byte offsets in one panel block (a block, or K-quant super-block, of 16 rows), shared by the
// repacking and the kernels. Each part after the scales is "n vectors": 4-byte group g of row r at
// offset + 64g + 4r, in the order of the row's own bytes.
namespace panel_layout {
inline constexpr size_t kGroupBytes = 4 * kPanelRows;  // one vector: 4 bytes of each of 16 rows
inline constexpr size_t kBody = 2 * kPanelRows;        // after the 16 f16 d (Q8_0 / Q4_0 / Q5_0)
// Q4_K / Q5_K: dmin, the 12 packed scale bytes (3 vectors), Q5_K's qh (8), the nibbles (32).
inline constexpr size_t kKMins = 32, kKScales = 64, kQ4KNibbles = 256, kQ5KHigh = 256,
                        kQ5KNibbles = 768;
// Q6_K: the 16 int8 scales (4 vectors), ql (32), qh (16).
inline constexpr size_t kQ6KScales = 32, kQ6KLow = 288, kQ6KHigh = 2336;
}  // namespace panel_layout

// Whether a rows x cols matrix of type t can be stored in panels (Q8_0 / Q4_0 / Q5_0 / Q4_K /
// Q5_K / Q6_K, rows a multiple of 16).
bool panels_fit(GgmlType t, int64_t rows, int64_t cols);
// Rewrites the matrix at `data` (row layout) into panels, in place. Requires panels_fit.
void repack_to_panels(GgmlType t, uint8_t* data, int64_t rows, int64_t cols);
// Row r of w, decoded to F32 by `decode` (an exact row decoder: dequantize_row, or a kernel set's
// bit-identical one) whichever its layout: a panel matrix rebuilds each of the row's blocks and
// decodes them, so both layouts give the same values.
using RowDecoder = void (*)(GgmlType t, const void* src, float* dst, int64_t n);
void dequantize_weight_row(const WeightMatrix& w, int64_t r, float* dst,
                           RowDecoder decode = dequantize_row);

int32_t panel_weight_offset(GgmlType t);  // Q8_0 128, Q4_0 8, Q5_0 16, Q6_K 32, Q4_K/Q5_K 0

// One token's activations for the panel kernels, per 32-value block: the values quantize_row_q8_0
// gives, their f16-rounded scale as a float, and their sums.
struct PanelActivation {
  int8_t q[32];
  float d;
  int32_t sum;
  int32_t sum_low;  // of values 0..15 (Q6_K scales each half on its own)
};
void quantize_for_panels(const float* x, int64_t cols, PanelActivation* out);

// The panel kernel's contract, in plain C++ (the reference the AVX-512 kernel is tested against,
// bit for bit): for token i < tokens, ys[i][0 .. 16) = panel `panel`'s 16 rows . xs[i], summed
// per 32-value block as float(integer dot) * (row scale * token scale) with one fused
// multiply-add, in block order (Q4_K / Q5_K: the row scale is d * scale_j, and a second FMA adds
// dmin * min_j * -(token scale * sum); Q6_K: one FMA per 16-value half with its own scale).
// `blocks` counts 32-value blocks.
void panel_tile_reference(GgmlType t, int64_t blocks, const uint8_t* panel,
                          const PanelActivation* const* xs, int tokens, float* const* ys);

}  // namespace plinth::engine::kernels
