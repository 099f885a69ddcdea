// ggml block layouts (block size, bytes per block) and exact scalar dequantization helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ops/matmul.h"

namespace plinth::engine {

struct GgmlTypeTraits {
  int64_t block_size = 1;  // values per block
  size_t block_bytes = 4;  // bytes per block
  std::string_view name;
};

// Layout of a type; nullopt for ids this engine does not know.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id);
// True when dequantize_row supports the type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K).
bool can_dequantize(GgmlType type);

// IEEE half / bfloat16 to float, exact.
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);
// Round-to-nearest-even float to half (used by the F16 KV cache).
uint16_t f32_to_f16(float f);

}  // namespace plinth::engine
