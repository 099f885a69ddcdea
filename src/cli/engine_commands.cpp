// plinth tokenize | generate | embed: the engine from the command line, JSON out.
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "plinth/engine/engine.h"
#include "plinth/providers/local_provider.h"

namespace plinth::cli {
namespace {

namespace json = boost::json;

struct EngineOptions {
  std::string model;
  std::string text;
  bool no_special = false;
  bool json_out = false;
  int max_tokens = 32;
  bool greedy = false;
  float temperature = 0.8f;
  uint64_t seed = 0;
  int logprobs = 0;
  bool exact = false;
  bool normalize = false;
  int threads = 0;
  std::string schema_file;
};

Result<std::shared_ptr<engine::Model>> load(const EngineOptions& o) {
  engine::LoadOptions lo;
  lo.threads = o.threads;
  return engine::Model::load(o.model, lo);
}

int report(const Error& e) {
  std::fprintf(stderr, "plinth: %s\n", e.message.c_str());
  return 1;
}

json::array ids_json(std::span<const engine::TokenId> ids) {
  json::array a;
  for (auto id : ids) a.push_back(id);
  return a;
}

int run_tokenize(const EngineOptions& o) {
  auto model = load(o);
  if (!model) return report(model.error());
  auto ids = (*model)->tokenizer().encode(o.text, !o.no_special, false);
  if (!ids) return report(ids.error());
  if (o.json_out) {
    std::cout << json::serialize(json::object{{"ids", ids_json(*ids)}}) << "\n";
  } else {
    for (auto id : *ids) std::cout << id << "\n";
  }
  return 0;
}

int run_generate(const EngineOptions& o) {
  auto model = load(o);
  if (!model) return report(model.error());
  engine::GenerateRequest g;
  auto ids = (*model)->tokenizer().encode(o.text, true, false);
  if (!ids) return report(ids.error());
  g.prompt = *ids;
  g.max_tokens = o.max_tokens;
  g.sampling.temperature = o.greedy ? 0.0f : o.temperature;
  g.sampling.seed = o.seed;
  g.logprobs = o.logprobs;
  g.exact = o.exact;
  std::unique_ptr<providers::LocalProvider> provider;
  std::string schema;
  if (!o.schema_file.empty()) {
    std::ifstream in(o.schema_file);
    if (!in) return report(Error(ErrorCode::kIo, "cannot read " + o.schema_file));
    std::stringstream ss;
    ss << in.rdbuf();
    schema = ss.str();
  }
  // Schema-constrained generation goes through the provider, which owns the constraint.
  if (!schema.empty()) {
    ModelConfig mc;
    mc.id = "cli";
    mc.file = o.model;
    provider = std::make_unique<providers::LocalProvider>(
        std::vector<providers::LocalModel>{{mc, *model}});
    providers::InferenceRequest r;
    r.model_id = "cli";
    r.messages.push_back({providers::Role::kUser, {{.text = o.text}}});
    r.max_tokens = o.max_tokens;
    r.temperature = g.sampling.temperature;
    r.seed = o.seed;
    r.output_schema_json = schema;
    r.exact = o.exact;
    auto res = provider->infer(r, {});
    if (!res) return report(res.error());
    json::object out{
        {"text", res->content.empty() ? "" : res->content[0].text},
        {"valid", res->output_valid.value_or(false)},
        {"stop_reason",
         res->stop_reason == providers::StopReason::kMaxTokens ? "max_tokens" : "end_turn"},
        {"output_tokens", res->usage.output_tokens}};
    std::cout << json::serialize(out) << "\n";
    return res->output_valid.value_or(false) ? 0 : 3;
  }
  auto result = (*model)->generate(g);
  if (!result) return report(result.error());
  if (!o.json_out) {
    std::cout << result->text << "\n";
    return 0;
  }
  json::array steps;
  for (const auto& s : result->steps) {
    json::array top;
    for (const auto& t : s.top) top.push_back(json::object{{"id", t.id}, {"logprob", t.logprob}});
    steps.push_back(json::object{{"id", s.id}, {"logprob", s.logprob}, {"top", std::move(top)}});
  }
  const char* reason = "end";
  switch (result->stop_reason) {
    case engine::StopReason::kMaxTokens:
      reason = "max_tokens";
      break;
    case engine::StopReason::kStopSequence:
      reason = "stop_sequence";
      break;
    case engine::StopReason::kCancelled:
      reason = "cancelled";
      break;
    default:
      break;
  }
  json::object out{{"prompt_ids", ids_json(g.prompt)},
                   {"ids", ids_json(result->tokens)},
                   {"text", result->text},
                   {"stop_reason", reason},
                   {"steps", std::move(steps)}};
  std::cout << json::serialize(out) << "\n";
  return 0;
}

int run_embed(const EngineOptions& o) {
  auto model = load(o);
  if (!model) return report(model.error());
  engine::EmbedRequest e;
  e.text = o.text;
  e.normalize = o.normalize;
  e.exact = o.exact;
  auto v = (*model)->embed(e);
  if (!v) return report(v.error());
  json::array a;
  for (float x : *v) a.push_back(x);
  if (o.json_out) {
    std::cout << json::serialize(json::object{{"embedding", std::move(a)}}) << "\n";
  } else {
    std::cout << json::serialize(a) << "\n";
  }
  return 0;
}

}  // namespace

void add_engine_commands(CLI::App& app, Action* action) {
  auto o = std::make_shared<EngineOptions>();

  auto* tok = app.add_subcommand("tokenize", "Tokenize text with a GGUF model's tokenizer");
  tok->add_option("--model", o->model, "GGUF file")->required()->check(CLI::ExistingFile);
  tok->add_option("--text", o->text, "Text to tokenize")->required();
  tok->add_flag("--no-special", o->no_special, "Do not add BOS/EOS (CLS/SEP)");
  tok->add_flag("--json", o->json_out, "Print JSON");
  tok->callback([o, action] { *action = [o] { return run_tokenize(*o); }; });

  auto* gen = app.add_subcommand("generate", "Generate text with a GGUF model");
  gen->add_option("--model", o->model, "GGUF file")->required()->check(CLI::ExistingFile);
  gen->add_option("--prompt", o->text, "Prompt text")->required();
  gen->add_option("--max-tokens", o->max_tokens, "Tokens to generate")
      ->check(CLI::Range(1, 1 << 20));
  auto* greedy = gen->add_flag("--greedy", o->greedy, "Greedy decoding");
  gen->add_option("--temperature", o->temperature, "Sampling temperature")->excludes(greedy);
  gen->add_option("--seed", o->seed, "Sampling seed");
  gen->add_option("--logprobs", o->logprobs, "Top-K log-probabilities per step")
      ->check(CLI::Range(0, 100));
  gen->add_flag("--exact", o->exact, "F32 activations and KV cache");
  gen->add_option("--schema", o->schema_file, "JSON Schema the output must match")
      ->check(CLI::ExistingFile);
  gen->add_option("--threads", o->threads, "Engine threads");
  gen->add_flag("--json", o->json_out, "Print JSON");
  gen->callback([o, action] { *action = [o] { return run_generate(*o); }; });

  auto* emb = app.add_subcommand("embed", "Embed text with a GGUF encoder model");
  emb->add_option("--model", o->model, "GGUF file")->required()->check(CLI::ExistingFile);
  emb->add_option("--text", o->text, "Text to embed")->required();
  emb->add_flag("--normalize", o->normalize, "L2-normalise the pooled vector");
  emb->add_flag("--exact", o->exact, "F32 activations");
  emb->add_flag("--json", o->json_out, "Print JSON");
  emb->callback([o, action] { *action = [o] { return run_embed(*o); }; });
}

}  // namespace plinth::cli
