// Block layouts, activation quantizers and per-ISA dot-product kernel tables behind matmul.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ops/matmul.h"
#include "ops/panels.h"

namespace plinth::engine::kernels {

// Block layouts as stored in GGUF (ggml): one block of each type.
inline constexpr int kQK = 32;    // Q4_0 / Q5_0 / Q8_0 block length
inline constexpr int kQKK = 256;  // K-quant super-block length

struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t qs[kQK];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];  // low nibbles: values 0..15, high nibbles: values 16..31
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // 5th bit of each value, little endian u32
  uint8_t qs[kQK / 2];
};
struct BlockQ4K {
  uint16_t d, dmin;
  uint8_t scales[12];  // 8 six-bit scales + 8 six-bit mins, packed
  uint8_t qs[kQKK / 2];
};
struct BlockQ5K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[kQKK / 8];
  uint8_t qs[kQKK / 2];
};
struct BlockQ6K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};
// Activations quantized for K-quant dot products: F32 scale, and the sum of each 16 values so the
// K-quant minimums / offsets can be applied once per sub-block instead of per value.
struct BlockQ8K {
  float d;
  int8_t qs[kQKK];
  int16_t bsums[kQKK / 16];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ4K) == 144 && sizeof(BlockQ5K) == 176 && sizeof(BlockQ6K) == 210);
static_assert(sizeof(BlockQ8K) == 292);

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);  // round to nearest even
inline float bf16_to_fp32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Values per block and bytes per block of a weight type; 0 for types matmul does not know.
int block_values(GgmlType t);
size_t block_bytes(GgmlType t);
inline size_t row_size(GgmlType t, int64_t cols) {
  int v = block_values(t);
  return v == 0 ? 0 : static_cast<size_t>(cols / v) * block_bytes(t);
}
// True when `cols` values of type t form whole blocks and matmul supports the type.
bool supports(GgmlType t, int64_t cols);

// Portable exact decoder (ggml reference formulas), independent of the engine's dequant.cpp so
// the kernels can be tested on their own. n is a multiple of block_values(t).
void reference_dequantize_row(GgmlType t, const void* src, float* dst, int64_t n);

// The 4 six-bit (scale, min) pairs of a Q4_K / Q5_K super-block's sub-block j (0..7).
inline void k_scale_min(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// All eight (scale, min) pairs of a Q4_K / Q5_K super-block at once, with 32-bit masks
// (llama.cpp's arrangement of k_scale_min): scales in bytes 0..7 of out, minimums in 8..15.
inline void k_scales_and_mins(const uint8_t* q, uint8_t* out) {
  uint32_t packed[4];
  std::memcpy(packed, q, 12);
  packed[3] = ((packed[2] >> 4) & 0x0F0F0F0F) | (((packed[1] >> 6) & 0x03030303) << 4);
  const uint32_t low_scales = packed[1] & 0x3F3F3F3F;
  packed[1] = (packed[2] & 0x0F0F0F0F) | (((packed[0] >> 6) & 0x03030303) << 4);
  packed[2] = low_scales;
  packed[0] &= 0x3F3F3F3F;
  std::memcpy(out, packed, 16);
}

// Activation quantizers, as llama.cpp's reference: Q8_0 (amax / 127 per 32, f16 scale) and Q8_K
// (signed max / -127 per 256, f32 scale, 16-value sums). n is a multiple of the block length.
void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n);
void quantize_row_q8_K(const float* x, BlockQ8K* y, int64_t n);
// Which 4-byte groups the rotations of the quad layout pair (see quantize_quad_q8_0).
// kRotatedGroups: rotation k's 32-bit lane j holds token j's group (j + k) % 4; the tile rotates
//   the weights to match, once per block for every group of tokens (prompts: several groups).
// kRotatedTokens: rotation k's lane j holds token (j + k) % 4's group j; the weights stay put and
//   the tile rotates its four sums instead: 3 shuffles per block, not 6 (decode: one group).
enum class QuadLayout { kRotatedGroups, kRotatedTokens };
// Q8_0 with the same numbers, up to four tokens interleaved for the quad tiles (tile_q32). Per
// 32-value block, kQuadBlockBytes: for half h (values 16h..16h+15) and rotation k (0..3), 16 bytes
// at (4h + k) * 16 of 4-byte groups of that half arranged by `layout`; the four tokens'
// f16-rounded scales as floats at kQuadScaleOffset; at kQuadBiasOffset the int32
// -offset * sum(values) per token (offset: what the tile adds to each stored weight to make it
// unsigned), and at kQuadLowBiasOffset the same over values 0..15 alone (Q6_K scales each half
// on its own). Missing tokens (tokens < 4) are zero. x[j]: token j's n values (n whole blocks).
inline constexpr size_t kQuadScaleOffset = 128, kQuadBiasOffset = 144, kQuadLowBiasOffset = 160,
                        kQuadBlockBytes = 176;
void quantize_quad_q8_0(const float* const* x, int tokens, int64_t n, int32_t offset, uint8_t* out,
                        QuadLayout layout = QuadLayout::kRotatedGroups);
// One token prepared for the one-token Q8_0 / Q4_0 / Q5_0 dots (dot_q32_prepared): the numbers of
// quantize_row_q8_0 in three arrays, each 64-byte aligned when `out` is: the n values (int8),
// then for every four values -16 times their sum (int32, n bytes: what vpdpbusd's accumulator
// starts from, so Q5_0's unsigned q come out as q - 16; Q4_0 halves it, Q8_0 has no use for it),
// then each block's scale as a float. The dots read these per row; preparing them once per token
// saves that work in every row.
size_t prepared_q32_bytes(int64_t n);
void prepare_q32(const float* x, int64_t n, uint8_t* out);
struct PreparedQ32 {
  const int8_t* qs;
  const int32_t* neg_sums;
  const float* d;
  PreparedQ32(const uint8_t* base, int64_t n)
      : qs(reinterpret_cast<const int8_t*>(base)),
        neg_sums(reinterpret_cast<const int32_t*>(base + n)),
        d(reinterpret_cast<const float*>(base + 2 * n)) {}
};
// The rotation (0..3) and 32-bit lane that hold token j's 4-byte group g in `layout`.
inline int quad_rotation(QuadLayout layout, int j, int g) {
  return layout == QuadLayout::kRotatedGroups ? (g - j + 4) % 4 : (j - g + 4) % 4;
}
inline int quad_lane(QuadLayout layout, int j, int g) {
  return layout == QuadLayout::kRotatedGroups ? j : g;
}
// The offset the quad tiles add to weights of type t (Q8_0: 128, Q4_0: 8, Q5_0: 16, Q6_K: 32;
// Q4_K / Q5_K: 1, so the bias is -sum(values), which their minimums scale).
int32_t quad_weight_offset(GgmlType t);

// The activation format the fast path quantizes x into for weight type t (kF32: x stays F32).
GgmlType fast_activation_type(GgmlType t);

// Where a quad tile puts its sums: token t's result for row r at y[t * stride + r], for the tile's
// first `tokens` tokens (the rest of the last group is padding). matmul passes its own output, so
// the tile writes token-major rows straight into it.
struct TileOut {
  float* y;
  int64_t stride;
  int tokens;
};

// One instruction-set level's kernels. Every dot takes n values (whole blocks).
struct KernelSet {
  const char* name;
  float (*dot_f32)(int64_t n, const float* a, const float* b);
  // Four dots sharing b: out[i] = dot(a + i * stride, b). Lets the exact path reuse activations.
  void (*dot_f32_x4)(int64_t n, const float* a, int64_t stride, const float* b, float* out);
  float (*dot_f16_f32)(int64_t n, const void* w, const float* x);
  float (*dot_bf16_f32)(int64_t n, const void* w, const float* x);
  float (*dot_q8_0_q8_0)(int64_t n, const void* w, const void* x);
  float (*dot_q4_0_q8_0)(int64_t n, const void* w, const void* x);
  float (*dot_q5_0_q8_0)(int64_t n, const void* w, const void* x);
  float (*dot_q4_K_q8_K)(int64_t n, const void* w, const void* x);
  float (*dot_q5_K_q8_K)(int64_t n, const void* w, const void* x);
  float (*dot_q6_K_q8_K)(int64_t n, const void* w, const void* x);
  // Decodes n values exactly (bit-identical to reference_dequantize_row): the exact path.
  void (*dequantize)(GgmlType t, const void* src, float* dst, int64_t n);
  // Optional (nullptr: matmul uses the per-token dots). One weight row against 1..8 tokens at
  // once, unpacking each weight block once for all of them (prompt processing).
  // Q8_0 / Q4_0 / Q5_0 rows (1 to 4: w[0] .. w[rows - 1]) against 1..4 groups of four tokens in
  // the quad layout (quantize_quad_q8_0 with quad_weight_offset(t) and `layout`; kRotatedTokens
  // only with one group), into `out`. Q4_K / Q5_K / Q6_K rows too, in the
  // kRotatedGroups layout only (the batched path for K-quants).
  // prefetch (0: none): byte offset from w[0] of the caller's next rows, adjacent in memory: the
  // tile prefetches four rows' bytes from there in address order, spread over the blocks. (K
  // tiles: offset from w of the bytes to prefetch alongside each super-block.)
  void (*tile_q32)(GgmlType t, int64_t n, const void* const* w, int rows,
                   const uint8_t* const* groups, int n_groups, QuadLayout layout, int64_t prefetch,
                   const TileOut& out);
  // Q4_K / Q5_K / Q6_K rows against Q8_K activations:
  void (*tile_k)(GgmlType t, int64_t n, const void* w, const BlockQ8K* const* x, int tokens,
                 int64_t prefetch, float* out);
  // Optional: 4 rows x 4 tokens of F32 dots, out[row * 4 + token] (the exact path's tile).
  void (*dot_f32_4x4)(int64_t n, const float* a, int64_t a_stride, const float* b, int64_t b_stride,
                      float* out);
  // y[i] += a * x[i] for n IEEE halves x (attention over the fast path's F16 cache).
  void (*axpy_f16)(int64_t n, float a, const void* x, float* y);
  // Optional (nullptr: per-position dot_f16_f32 and axpy_f16): one head's attention over the F16
  // cache, head_dim a multiple of 16. scores[p] = softmax(scale * q . keys[p * stride ..]) for
  // p < n_pos, out[0 .. head_dim) = sum of scores[p] * values[p * stride ..].
  void (*attend_f16)(const float* q, const uint16_t* keys, const uint16_t* values, int64_t stride,
                     int64_t n_pos, int32_t head_dim, float scale, float* scores, float* out);
  // Optional: gate[i] = silu(gate[i]) * up[i] with a polynomial exp (the fast path's SwiGLU).
  void (*swiglu)(int64_t n, float* gate, const float* up);
  // Optional (nullptr: the dots above): one Q8_0, Q4_0 or Q5_0 row against one prepared token
  // (prepare_q32): one-token decode.
  float (*dot_q32_prepared)(GgmlType t, int64_t n, const void* w, const uint8_t* x);
  // Optional: quantize_quad_q8_0, bit for bit (nullptr: matmul uses the portable one).
  void (*quantize_quad)(const float* const* x, int tokens, int64_t n, int32_t offset, uint8_t* out,
                        QuadLayout layout);
  // Optional (nullptr: weights stay in rows, see panels.h): panel_tile_reference, bit for bit,
  // for 1..16 tokens. The loader rewrites weights into panels only where the chosen set has it.
  void (*panel_tile)(GgmlType t, int64_t blocks, const uint8_t* panel,
                     const PanelActivation* const* xs, int tokens, float* const* ys);
  // Optional: quantize_for_panels, bit for bit (nullptr: matmul uses the portable one).
  void (*quantize_panels)(const float* x, int64_t cols, PanelActivation* out);
};

const KernelSet& scalar_kernels();
// nullptr when the CPU (checked at run time) or the compiler lacks the instruction set.
const KernelSet* avx2_kernels();
const KernelSet* avx512_kernels();
// The fastest set this CPU runs; chosen once.
const KernelSet& best_kernels();

// matmul with an explicit kernel set (tests compare the sets against the scalar one).
void matmul_with(const KernelSet& k, const WeightMatrix& w, const float* x, int64_t n_tokens,
                 float* y, bool exact, ThreadPool& pool);
void matmul_shared_input_with(const KernelSet& k, std::span<const MatmulTarget> targets,
                              const float* x, int64_t n_tokens, bool exact, ThreadPool& pool);

}  // namespace plinth::engine::kernels
