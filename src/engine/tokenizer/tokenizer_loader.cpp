// Reads tokenizer.ggml.* metadata into a Vocab and wraps it in a VocabTokenizer.
#include "tokenizer/tokenizer_loader.h"

#include "tokenizer/vocab_tokenizer.h"

namespace plinth::engine {
namespace {

void read_optional_id(const GgufFile& file, std::string_view key, std::optional<TokenId>& id) {
  if (auto value = file.get_int(key)) {
    // -1 (and anything else out of range) means "none"; VocabTokenizer::create drops those.
    id = (*value >= 0 && *value <= INT32_MAX) ? std::optional<TokenId>(static_cast<TokenId>(*value))
                                              : std::nullopt;
  }
}

void read_optional_flag(const GgufFile& file, std::string_view key, bool& flag) {
  if (auto value = file.get_bool(key)) flag = *value;
}

}  // namespace

Result<Vocab> read_vocab(const GgufFile& file) {
  const std::optional<std::string> model = file.get_string("tokenizer.ggml.model");
  if (!model) return fail(ErrorCode::kCorruptData, "GGUF has no tokenizer.ggml.model");
  VocabKind kind;
  if (*model == "llama") {
    kind = VocabKind::kSentencePiece;
  } else if (*model == "gpt2") {
    kind = VocabKind::kBytePairBpe;
  } else if (*model == "bert") {
    kind = VocabKind::kWordPiece;
  } else {
    return fail(ErrorCode::kInvalidArgument, "unsupported tokenizer model '" + *model + "'");
  }
  Vocab vocab = default_vocab(kind, file.get_string("tokenizer.ggml.pre").value_or("default"));

  const std::vector<std::string>* tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->empty()) {
    return fail(ErrorCode::kCorruptData, "GGUF has no tokenizer.ggml.tokens");
  }
  vocab.tokens = *tokens;
  if (const std::vector<float>* scores = file.get_float_array("tokenizer.ggml.scores")) {
    vocab.scores = *scores;
  }
  if (const std::vector<int64_t>* types = file.get_int_array("tokenizer.ggml.token_type")) {
    vocab.types.reserve(types->size());
    for (int64_t t : *types) {
      vocab.types.push_back((t >= 0 && t <= 6) ? static_cast<TokenType>(t) : TokenType::kUndefined);
    }
  }
  if (kind == VocabKind::kBytePairBpe) {
    const std::vector<std::string>* merges = file.get_string_array("tokenizer.ggml.merges");
    if (merges == nullptr) return fail(ErrorCode::kCorruptData, "BPE tokenizer has no merges");
    vocab.merges = *merges;
  }

  if (kind == VocabKind::kWordPiece)
    read_optional_id(file, "tokenizer.ggml.cls_token_id", vocab.bos);
  read_optional_id(file, "tokenizer.ggml.bos_token_id", vocab.bos);
  read_optional_id(file, "tokenizer.ggml.eos_token_id", vocab.eos);
  read_optional_id(file, "tokenizer.ggml.eot_token_id", vocab.eot);
  read_optional_id(file, "tokenizer.ggml.eom_token_id", vocab.eom);
  read_optional_id(file, "tokenizer.ggml.unknown_token_id", vocab.unk);
  read_optional_id(file, "tokenizer.ggml.seperator_token_id", vocab.sep);
  read_optional_id(file, "tokenizer.ggml.padding_token_id", vocab.pad);
  read_optional_flag(file, "tokenizer.ggml.add_bos_token", vocab.add_bos);
  read_optional_flag(file, "tokenizer.ggml.add_eos_token", vocab.add_eos);
  read_optional_flag(file, "tokenizer.ggml.add_sep_token", vocab.add_sep);
  read_optional_flag(file, "tokenizer.ggml.add_space_prefix", vocab.add_space_prefix);
  return vocab;
}

Result<std::unique_ptr<Tokenizer>> load_tokenizer(const GgufFile& file) {
  Result<Vocab> vocab = read_vocab(file);
  if (!vocab) return std::unexpected(vocab.error());
  Result<std::unique_ptr<VocabTokenizer>> tokenizer = VocabTokenizer::create(std::move(*vocab));
  if (!tokenizer) return std::unexpected(tokenizer.error());
  return std::unique_ptr<Tokenizer>(std::move(*tokenizer));
}

}  // namespace plinth::engine
