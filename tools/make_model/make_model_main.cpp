// plinth-make-model: writes a random-weight GGUF model of a chosen shape and quantization.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "random_model.h"

int main(int argc, char** argv) {
  using namespace plinth::tools;
  CLI::App app{"Write a GGUF v3 model with seeded random weights (for tests and benchmarks)."};
  RandomModelSpec spec;
  spec.shape = qwen2_0_5b_shape();
  std::string recipe = "q8_0", output;
  bool untied = false;
  app.add_option("-o,--output", output, "GGUF file to write")->required();
  app.add_option("--type", recipe, "f32 | f16 | q8_0 | q4_k | q5_k | q6_k | q4_k_m")
      ->capture_default_str();
  app.add_option("--arch", spec.shape.architecture, "llama | qwen2 | qwen3 | bert")
      ->capture_default_str();
  app.add_option("--embd", spec.shape.embedding)->capture_default_str();
  app.add_option("--layers", spec.shape.layers)->capture_default_str();
  app.add_option("--heads", spec.shape.heads)->capture_default_str();
  app.add_option("--kv-heads", spec.shape.kv_heads)->capture_default_str();
  app.add_option("--head-dim", spec.shape.head_dim, "0: embd / heads")->capture_default_str();
  app.add_option("--ffn", spec.shape.ffn)->capture_default_str();
  app.add_option("--vocab", spec.shape.vocab, "ignored when --tokenizer-from is given")
      ->capture_default_str();
  app.add_option("--context", spec.shape.context_length)->capture_default_str();
  app.add_option("--rope-base", spec.shape.rope_base)->capture_default_str();
  app.add_flag("--untied", untied, "separate output matrix");
  app.add_option("--seed", spec.seed)->capture_default_str();
  app.add_option("--name", spec.name)->capture_default_str();
  app.add_option("--tokenizer-from", spec.tokenizer_from,
                 "copy tokenizer.* metadata from this GGUF (sets the vocabulary size)");
  CLI11_PARSE(app, argc, argv);
  spec.shape.tied = !untied;
  auto parsed = parse_recipe(recipe);
  if (!parsed) {
    std::fprintf(stderr, "unknown --type %s\n", recipe.c_str());
    return 2;
  }
  spec.recipe = *parsed;
  auto size = write_random_model(spec, output);
  if (!size) {
    std::fprintf(stderr, "error: %s\n", size.error().message.c_str());
    return 1;
  }
  std::printf("wrote %s (%.1f MB)\n", output.c_str(), static_cast<double>(*size) / 1e6);
  return 0;
}
