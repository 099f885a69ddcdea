// plinth extract FILE --schema S.json: a document's text to schema-valid JSON, without a server.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "plinth/catalog/catalog.h"
#include "plinth/documents/extraction.h"
#include "plinth/documents/parsing.h"
#include "plinth/documents/pipeline.h"
#include "plinth/providers/local_provider.h"
#include "plinth/structured/structured.h"

namespace plinth::cli {
namespace {

struct ExtractOptions {
  std::string file;
  std::string schema_file;
  std::string config_file;
  std::string model;
  std::string content_type;
  std::string instructions;
  int max_tokens = 256;
};

int fail_extract(const std::string& message) {
  std::fprintf(stderr, "plinth extract: %s\n", message.c_str());
  return 1;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

int run_extract(const ExtractOptions& o) {
  auto bytes = read_file(o.file);
  if (!bytes) return fail_extract(bytes.error().message);
  auto schema = read_file(o.schema_file);
  if (!schema) return fail_extract(schema.error().message);
  if (auto compiled = structured::compile_schema(*schema); !compiled) {
    return fail_extract("the schema " + o.schema_file +
                        " does not compile: " + compiled.error().message);
  }
  std::string media_type = o.content_type.empty()
                               ? documents::media_type_from_filename(o.file)
                               : documents::normalized_media_type(o.content_type);
  if (media_type.empty()) media_type = "text/plain";
  auto parsed = documents::parse_document(media_type, *bytes);
  if (!parsed) return fail_extract(o.file + ": " + parsed.error().message);

  auto config = load_cli_config(o.config_file);
  if (!config) return fail_extract(config.error().message);
  auto catalog = catalog::Catalog::from_config(*config);
  if (!catalog) return fail_extract(catalog.error().message);
  auto model = documents::resolve_text_model(*catalog, o.model, catalog::ModelTier::kSmall);
  if (!model) return fail_extract(model.error().message);
  // Load only the model that answers.
  std::vector<ModelConfig> wanted;
  for (const ModelConfig& entry : config->models) {
    if (entry.id == (*model)->id) wanted.push_back(entry);
  }
  auto provider = providers::LocalProvider::load(wanted, config->engine_threads);
  if (!provider) return fail_extract(provider.error().message);
  documents::ExtractionRequest request{parsed->text, *schema, o.instructions, o.max_tokens};
  auto extraction = documents::extract_json(**provider, **model, request);
  if (!extraction) return fail_extract(extraction.error().message);
  std::cout << extraction->json << "\n";
  return 0;
}

}  // namespace

void add_extract_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<ExtractOptions>();
  auto* extract = app.add_subcommand(
      "extract", "Parse a document (PDF, text, Markdown, HTML) and print JSON matching a schema");
  extract->add_option("file", o->file, "The document")->required();
  extract->add_option("--schema", o->schema_file, "JSON Schema file")->required();
  extract->add_option("--config", o->config_file, "TOML config file (models)");
  extract->add_option("--model", o->model, "Model id, alias, or tier: small | large");
  extract->add_option("--content-type", o->content_type,
                      "Media type (default: from the file name, else text/plain)");
  extract->add_option("--instructions", o->instructions, "Extra instructions for the model");
  extract->add_option("--max-tokens", o->max_tokens, "Most tokens of JSON to generate");
  extract->callback([o, action] { *action = [o] { return run_extract(*o); }; });
}

}  // namespace plinth::cli
