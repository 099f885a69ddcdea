// plinth kb add / kb list: seed and inspect knowledge bases offline in a data dir's store.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "commands.h"
#include "plinth/catalog/catalog.h"
#include "plinth/providers/local_provider.h"
#include "plinth/store/store.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A paragraph longer than this is cut at a space into several chunks.
constexpr size_t kMaxChunkBytes = 1500;

struct KbOptions {
  std::string config_file;
  std::string data_dir;
  std::string account;
  std::string kb;
  std::string document;
  std::string text;
  std::string file;
  std::string model;
  bool replace = false;
  bool json = false;
};

int report_error(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "plinth kb %s: %s\n", command.c_str(), message.c_str());
  return 1;
}

std::string trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(begin, end - begin + 1));
}

// Paragraphs (separated by blank lines) as chunks; long ones cut at spaces.
std::vector<std::string> split_chunks(std::string_view text) {
  std::vector<std::string> paragraphs;
  std::string current;
  std::istringstream lines{std::string(text)};
  std::string line;
  auto flush = [&] {
    std::string paragraph = trim(current);
    if (!paragraph.empty()) paragraphs.push_back(std::move(paragraph));
    current.clear();
  };
  while (std::getline(lines, line)) {
    if (trim(line).empty()) {
      flush();
    } else {
      current += current.empty() ? "" : "\n";
      current += line;
    }
  }
  flush();
  std::vector<std::string> chunks;
  for (std::string& paragraph : paragraphs) {
    std::string_view rest = paragraph;
    while (rest.size() > kMaxChunkBytes) {
      size_t cut = rest.rfind(' ', kMaxChunkBytes);
      if (cut == std::string_view::npos || cut == 0) cut = kMaxChunkBytes;
      // Never cut inside a UTF-8 sequence.
      while (cut > 0 && (static_cast<unsigned char>(rest[cut]) & 0xC0) == 0x80) --cut;
      chunks.push_back(trim(rest.substr(0, cut)));
      rest = rest.substr(cut);
    }
    if (!trim(rest).empty()) chunks.push_back(trim(rest));
  }
  return chunks;
}

struct Opened {
  Config config;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<vectors::VectorStore> vectors;
  std::string account;
};

Result<Opened> open_data_dir(const KbOptions& o) {
  Opened opened;
  auto config = o.config_file.empty() ? default_config() : load_config(o.config_file);
  if (!config) return std::unexpected(config.error());
  opened.config = std::move(*config);
  fs::path data_dir = o.data_dir.empty() ? opened.config.data_dir : fs::path(o.data_dir);
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + data_dir.string() + ": " + ec.message());
  ::chmod(data_dir.c_str(), 0700);
  auto store = store::open_default_store(data_dir, Random::secure());
  if (!store) return std::unexpected(store.error());
  opened.store = std::move(*store);
  store::Database* database = opened.store->database();
  if (database == nullptr)
    return fail(ErrorCode::kUnavailable, "this store has no SQLite database");
  auto vectors = vectors::open_sqlite_vector_store(*database);
  if (!vectors) return std::unexpected(vectors.error());
  opened.vectors = std::move(*vectors);
  opened.account = o.account.empty() ? opened.config.account_id : o.account;
  return opened;
}

// The embedding model: --model, else the knowledge base's, else the config's first.
Result<const catalog::ModelEntry*> embedding_model(const KbOptions& o, Opened& opened,
                                                   const catalog::Catalog& catalog) {
  std::string wanted = o.model;
  if (wanted.empty()) {
    if (auto kb = opened.vectors->knowledge_base(opened.account, o.kb))
      wanted = kb->embedding_model;
  }
  if (wanted.empty()) {
    for (const ModelConfig& m : opened.config.models) {
      if (m.kind == "embedding") {
        wanted = m.id;
        break;
      }
    }
  }
  if (wanted.empty()) return fail(ErrorCode::kNotFound, "the config has no embedding model");
  auto model = catalog.resolve(wanted);
  if (!model) return std::unexpected(model.error());
  if ((*model)->kind != catalog::ModelKind::kEmbedding) {
    return fail(ErrorCode::kInvalidArgument, wanted + " is not an embedding model");
  }
  return model;
}

int run_add(const KbOptions& o) {
  std::string text = o.text;
  if (!o.file.empty()) {
    std::ifstream in(o.file, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in) return report_error("add", "cannot read " + o.file);
    text += (text.empty() ? "" : "\n\n") + content.str();
  }
  std::vector<std::string> chunks = split_chunks(text);
  if (chunks.empty()) return report_error("add", "no text to add (use --text or --file)");

  auto opened = open_data_dir(o);
  if (!opened) return report_error("add", opened.error().message);
  auto catalog = catalog::Catalog::from_config(opened->config);
  if (!catalog) return report_error("add", catalog.error().message);
  auto model = embedding_model(o, *opened, *catalog);
  if (!model) return report_error("add", model.error().message);
  auto kb = opened->vectors->ensure_knowledge_base(opened->account, o.kb, (*model)->id);
  if (!kb) return report_error("add", kb.error().message);

  // Load only the embedding model, not every model of the config.
  std::vector<ModelConfig> needed;
  for (const ModelConfig& m : opened->config.models) {
    if (m.id == (*model)->id) needed.push_back(m);
  }
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto provider = providers::LocalProvider::load(needed, threads);
  if (!provider) return report_error("add", provider.error().message);

  std::vector<vectors::ChunkVector> vectors;
  std::string metadata =
      o.file.empty()
          ? "{}"
          : json::serialize(json::object{{"file", fs::path(o.file).filename().string()}});
  for (size_t i = 0; i < chunks.size(); ++i) {
    providers::EmbeddingRequest request;
    request.model_id = (*model)->id;
    request.text = chunks[i];
    request.dimensions = kb->dimensions;
    request.normalize = true;
    auto embedding = (*provider)->embed(request);
    if (!embedding) return report_error("add", embedding.error().message);
    vectors.push_back({opened->account, o.kb, o.document, static_cast<int>(i), chunks[i], metadata,
                       std::move(embedding->embedding)});
  }
  if (o.replace) {
    auto removed = opened->vectors->remove_document(opened->account, o.document);
    if (!removed) return report_error("add", removed.error().message);
  }
  if (auto st = opened->vectors->add(vectors); !st) return report_error("add", st.error().message);
  auto total = opened->vectors->count(opened->account, o.kb);
  std::printf(
      "added %s to %s: %zu chunk(s) embedded with %s; %lld chunk(s) in the knowledge base\n",
      o.document.c_str(), o.kb.c_str(), chunks.size(), (*model)->id.c_str(),
      static_cast<long long>(total ? *total : -1));
  return 0;
}

int run_list(const KbOptions& o) {
  auto opened = open_data_dir(o);
  if (!opened) return report_error("list", opened.error().message);
  auto bases = opened->vectors->list_knowledge_bases(opened->account);
  if (!bases) return report_error("list", bases.error().message);
  json::array out;
  if (!o.json)
    std::printf("%-32s %-24s %10s %8s\n", "KNOWLEDGE_BASE", "MODEL", "DIMENSIONS", "CHUNKS");
  for (const vectors::KnowledgeBase& kb : *bases) {
    auto chunks = opened->vectors->count(opened->account, kb.id);
    if (!chunks) return report_error("list", chunks.error().message);
    if (o.json) {
      out.push_back(json::object{{"knowledgeBaseId", kb.id},
                                 {"embeddingModel", kb.embedding_model},
                                 {"dimensions", kb.dimensions},
                                 {"chunks", *chunks}});
    } else {
      std::printf("%-32s %-24s %10d %8lld\n", kb.id.c_str(), kb.embedding_model.c_str(),
                  kb.dimensions, static_cast<long long>(*chunks));
    }
  }
  if (o.json) std::cout << json::serialize(json::object{{"knowledgeBases", out}}) << "\n";
  return 0;
}

void add_location_options(CLI::App* command, KbOptions& o) {
  command->add_option("--config", o.config_file, "TOML config file (models, data_dir, account)")
      ->check(CLI::ExistingFile);
  command->add_option("--data-dir", o.data_dir, "State directory (default: the config's)");
  command->add_option("--account", o.account, "Account id (default: the config's)");
}

}  // namespace

void add_kb_commands(CLI::App& app, Action* action) {
  auto o = std::make_shared<KbOptions>();
  auto* kb = app.add_subcommand("kb", "Knowledge bases: seed and list them offline");
  kb->require_subcommand(1);
  auto* add = kb->add_subcommand("add", "Embed a document's text into a knowledge base");
  add_location_options(add, *o);
  add->add_option("--kb", o->kb, "Knowledge base id (created on first use)")->required();
  add->add_option("--document", o->document, "Document id")->required();
  add->add_option("--text", o->text, "Text; paragraphs (blank-line separated) become chunks");
  add->add_option("--file", o->file, "Read the text from a file")->check(CLI::ExistingFile);
  add->add_option("--model", o->model, "Embedding model (default: the base's, or the config's)");
  add->add_flag("--replace", o->replace, "Remove the document's chunks before adding");
  add->callback([o, action] { *action = [o] { return run_add(*o); }; });
  auto* list = kb->add_subcommand("list", "List the account's knowledge bases");
  add_location_options(list, *o);
  list->add_flag("--json", o->json, "Print JSON");
  list->callback([o, action] { *action = [o] { return run_list(*o); }; });
}

}  // namespace plinth::cli
