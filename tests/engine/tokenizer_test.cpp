// Tokenizers: algorithms on hand-made vocabularies, then conformance with llama.cpp's tokenizer
// test files and the fixture models' reference token ids.
#include <gtest/gtest.h>

// Header-only Boost.JSON: the engine tests link only plinth_engine.
#include <boost/json/src.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer_loader.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8_stream.h"
#include "tokenizer/vocab_tokenizer.h"

namespace plinth::engine {
namespace {

const std::string kDataDir = PLINTH_TEST_DATA_DIR;

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::unique_ptr<Tokenizer> load_uncached(const std::string& path) {
  auto file = GgufFile::open(path);
  EXPECT_TRUE(file.has_value()) << path << ": " << (file ? "" : file.error().message);
  if (!file) return nullptr;
  auto tokenizer = load_tokenizer(**file);
  EXPECT_TRUE(tokenizer.has_value())
      << path << ": " << (tokenizer ? "" : tokenizer.error().message);
  return tokenizer ? std::move(*tokenizer) : nullptr;
}

// Loading a 150k-token vocabulary takes a moment: each file is loaded once per test run.
const Tokenizer* load_from(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto it = loaded.find(path);
  if (it == loaded.end()) it = loaded.emplace(path, load_uncached(path)).first;
  return it->second.get();
}

std::vector<TokenId> encode(const Tokenizer& t, std::string_view text, bool add_special = false,
                            bool parse_special = false) {
  auto ids = t.encode(text, add_special, parse_special);
  EXPECT_TRUE(ids.has_value());
  return ids ? *ids : std::vector<TokenId>{};
}

std::vector<std::string> piece_texts(std::string_view text, PreTokenizerKind kind) {
  const std::vector<uint32_t> cpts = utf8_to_codepoints(text);
  std::vector<std::string> out;
  for (const CodepointSpan& span : pre_tokenize(cpts, kind)) {
    std::string piece;
    for (size_t i = span.begin; i < span.end; ++i) append_utf8(cpts[i], piece);
    out.push_back(piece);
  }
  return out;
}

// ---- Unicode and pre-tokenizers ----

TEST(Unicode, ClassifiesLettersNumbersAndWhitespace) {
  EXPECT_TRUE(codepoint_flags(U'a').is_letter());
  EXPECT_TRUE(codepoint_flags(U'Ж').is_letter());
  EXPECT_TRUE(codepoint_flags(U'語').is_letter());
  EXPECT_TRUE(codepoint_flags(U'7').is_number());
  EXPECT_TRUE(codepoint_flags(U'½').is_number());
  EXPECT_TRUE(codepoint_flags(0x3000).is_whitespace());
  EXPECT_TRUE(codepoint_flags(U'\n').is_whitespace());
  EXPECT_TRUE(codepoint_flags(U'!').is_punctuation());
  EXPECT_FALSE(codepoint_flags(U'!').is_letter());
  EXPECT_EQ(codepoint_to_lower(U'Ä'), U'ä');
  EXPECT_EQ(codepoint_nfd_first(U'Ä'), U'A');
}

TEST(PreTokenizer, Llama3SplitsDigitsInThreesAndKeepsLastSpaceWithWord) {
  EXPECT_EQ(
      piece_texts("Hello  world 1234567!!\n\nx", PreTokenizerKind::kLlama3),
      (std::vector<std::string>{"Hello", " ", " world", " ", "123", "456", "7", "!!\n\n", "x"}));
  EXPECT_EQ(piece_texts("I'LL go", PreTokenizerKind::kLlama3),
            (std::vector<std::string>{"I", "'LL", " go"}));
}

TEST(PreTokenizer, Qwen2SplitsEveryDigit) {
  EXPECT_EQ(piece_texts("x 123", PreTokenizerKind::kQwen2),
            (std::vector<std::string>{"x", " ", "1", "2", "3"}));
}

TEST(PreTokenizer, Gpt2ContractionsAreCaseSensitive) {
  EXPECT_EQ(piece_texts("it's IT'S  ok", PreTokenizerKind::kGpt2),
            (std::vector<std::string>{"it", "'s", " IT", "'", "S", " ", " ok"}));
}

TEST(PreTokenizer, DefaultSplitsPunctuationRunsThenDigitTriples) {
  EXPECT_EQ(piece_texts("a+b=1000000 x!?", PreTokenizerKind::kDefault),
            (std::vector<std::string>{"a", "+", "b", "=", "100", "000", "0", " x", "!?"}));
}

// ---- Hand-made vocabularies ----

Vocab small_sentencepiece_vocab() {
  Vocab v = default_vocab(VocabKind::kSentencePiece, "default");
  v.tokens = {"<unk>",
              "<s>",
              "</s>",
              "\xE2\x96\x81",
              "a",
              "b",
              "ab",
              "\xE2\x96\x81"
              "a",
              "\xE2\x96\x81"
              "ab",
              "<0x63>",
              "<|user|>"};
  v.scores = {0, 0, 0, -5, -3, -3, -1, -2, -0.5f, 0, 0};
  v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl, TokenType::kNormal,
             TokenType::kNormal,  TokenType::kNormal,  TokenType::kNormal,  TokenType::kNormal,
             TokenType::kNormal,  TokenType::kByte,    TokenType::kControl};
  return v;
}

TEST(SentencePiece, MergesHighestScoringPairFirstAndAddsSpacePrefix) {
  auto t = VocabTokenizer::create(small_sentencepiece_vocab());
  ASSERT_TRUE(t.has_value());
  // "▁ab": (a,b) scores -1 and wins over (▁,a) at -2; then (▁,ab) forms "▁ab".
  EXPECT_EQ(encode(**t, "ab"), (std::vector<TokenId>{8}));
  EXPECT_EQ(encode(**t, "ab", true), (std::vector<TokenId>{1, 8}));
}

TEST(SentencePiece, FallsBackToByteTokensAndUnknown) {
  auto t = VocabTokenizer::create(small_sentencepiece_vocab());
  ASSERT_TRUE(t.has_value());
  // 'c' has only its byte token; 'd' has neither, so it becomes <unk>.
  EXPECT_EQ(encode(**t, "abc"), (std::vector<TokenId>{8, 9}));
  EXPECT_EQ(encode(**t, "d"), (std::vector<TokenId>{3, 0}));
  EXPECT_EQ((*t)->token_bytes(9), "c");
}

TEST(SentencePiece, ParsesSpecialTokensOnlyWhenAsked) {
  auto t = VocabTokenizer::create(small_sentencepiece_vocab());
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(encode(**t, "<|user|>ab", false, true), (std::vector<TokenId>{10, 8}));
  const std::vector<TokenId> literal = encode(**t, "<|user|>ab", false, false);
  EXPECT_EQ(std::find(literal.begin(), literal.end(), 10), literal.end());
}

TEST(SentencePiece, DecodeStripsThePrefixSpaceOfTheFirstTokenOnly) {
  auto t = VocabTokenizer::create(small_sentencepiece_vocab());
  ASSERT_TRUE(t.has_value());
  const std::vector<TokenId> ids = {8, 8};
  EXPECT_EQ((*t)->decode(ids), "ab ab");
  const std::vector<TokenId> with_bos = {1, 8};
  EXPECT_EQ((*t)->decode(with_bos), " ab");  // as llama_detokenize: BOS was the first token
  EXPECT_EQ((*t)->decode(with_bos, true), "<s> ab");
  EXPECT_TRUE((*t)->is_control(1));
  EXPECT_TRUE((*t)->is_end_of_generation(2));
  EXPECT_FALSE((*t)->is_end_of_generation(8));
}

TEST(BytePairBpe, MergesLowestRankFirst) {
  Vocab v = default_vocab(VocabKind::kBytePairBpe, "gpt-2");
  // Byte-level spellings: "Ġ" is the space.
  v.tokens = {"a",
              "b",
              "c",
              "ab",
              "bc",
              "abc",
              "\xC4\xA0",
              "\xC4\xA0"
              "a"};
  v.merges = {"b c", "a b", "a bc", "\xC4\xA0 a"};
  auto t = VocabTokenizer::create(std::move(v));
  ASSERT_TRUE(t.has_value());
  // (b,c) has rank 0, so "abc" is a + bc -> abc, never ab + c.
  EXPECT_EQ(encode(**t, "abc"), (std::vector<TokenId>{5}));
  // In " ab", (a,b) at rank 1 beats (Ġ,a) at rank 3, and nothing merges "Ġ" with "ab".
  EXPECT_EQ(encode(**t, "ab ab"), (std::vector<TokenId>{3, 6, 3}));
  EXPECT_EQ(encode(**t, " ac"), (std::vector<TokenId>{7, 2}));
  EXPECT_EQ((*t)->token_bytes(7), " a");
  const std::vector<TokenId> ids = {3, 6, 3};
  EXPECT_EQ((*t)->decode(ids), "ab ab");
}

TEST(WordPiece, LowercasesStripsAccentsAndSplitsPunctuation) {
  Vocab v = default_vocab(VocabKind::kWordPiece, "bert-bge");
  v.tokens.assign(104, "[unused]");
  v.tokens[100] = "[UNK]";
  v.tokens[101] = "[CLS]";
  v.tokens[102] = "[SEP]";
  for (int i = 0; i < 104; ++i) v.tokens[i] += std::to_string(i);  // keep texts unique
  v.tokens[100] = "[UNK]";
  v.tokens[101] = "[CLS]";
  v.tokens[102] = "[SEP]";
  v.types.assign(104, TokenType::kNormal);
  v.types[100] = v.types[101] = v.types[102] = TokenType::kControl;
  const std::string w = "\xE2\x96\x81";
  v.tokens.insert(v.tokens.end(), {w + "apfel", w + "play", "ing", w + "!", w + "x"});
  v.types.insert(v.types.end(), 5, TokenType::kNormal);
  auto t = VocabTokenizer::create(std::move(v));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(encode(**t, "Äpfel PLAYING!", true),
            (std::vector<TokenId>{101, 104, 105, 106, 107, 102}));
  EXPECT_EQ(encode(**t, "xyz x"), (std::vector<TokenId>{100, 108}));  // no piece for "yz"
}

TEST(Utf8Stream, HoldsBackIncompleteSequences) {
  Utf8Stream stream;
  const std::string rocket = "\xF0\x9F\x9A\x80";
  EXPECT_EQ(stream.push("a" + rocket.substr(0, 1)), "a");
  EXPECT_TRUE(stream.has_pending());
  EXPECT_EQ(stream.push(rocket.substr(1, 2)), "");
  EXPECT_EQ(stream.push(rocket.substr(3) + "b"), rocket + "b");
  EXPECT_EQ(stream.push("\xC3"), "");
  EXPECT_EQ(stream.flush(), "\xC3");
  EXPECT_FALSE(stream.has_pending());
}

// ---- Loading from GGUF metadata ----

// Writes a tensor-less GGUF v3 file holding only metadata.
class GgufMetadataWriter {
 public:
  GgufMetadataWriter& string(std::string_view key, std::string_view value) {
    header(key, 8);
    text(value);
    return *this;
  }
  GgufMetadataWriter& strings(std::string_view key, const std::vector<std::string>& values) {
    header(key, 9);
    u32(8);
    u64(values.size());
    for (const std::string& v : values) text(v);
    return *this;
  }
  GgufMetadataWriter& floats(std::string_view key, const std::vector<float>& values) {
    header(key, 9);
    u32(6);
    u64(values.size());
    for (float v : values) raw(&v, 4);
    return *this;
  }
  GgufMetadataWriter& uint32(std::string_view key, uint32_t value) {
    header(key, 4);
    u32(value);
    return *this;
  }
  std::vector<uint8_t> bytes() const {
    GgufMetadataWriter file;
    file.raw("GGUF", 4);
    file.u32(3);
    file.u64(0);  // tensors
    file.u64(count_);
    file.body_.insert(file.body_.end(), body_.begin(), body_.end());
    return file.body_;
  }

 private:
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    body_.insert(body_.end(), b, b + n);
  }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void text(std::string_view s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void header(std::string_view key, uint32_t type) {
    ++count_;
    text(key);
    u32(type);
  }
  std::vector<uint8_t> body_;
  uint64_t count_ = 0;
};

Result<std::unique_ptr<Tokenizer>> load_bytes(const std::vector<uint8_t>& bytes) {
  auto file = GgufFile::from_bytes(bytes);
  if (!file) return std::unexpected(file.error());
  return load_tokenizer(**file);
}

TEST(TokenizerLoader, RejectsMissingOrUnsupportedTokenizers) {
  const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "a"};
  auto no_model = load_bytes(GgufMetadataWriter().strings("tokenizer.ggml.tokens", tokens).bytes());
  ASSERT_FALSE(no_model.has_value());
  EXPECT_EQ(no_model.error().code, ErrorCode::kCorruptData);

  auto t5 = load_bytes(GgufMetadataWriter()
                           .string("tokenizer.ggml.model", "t5")
                           .strings("tokenizer.ggml.tokens", tokens)
                           .bytes());
  ASSERT_FALSE(t5.has_value());
  EXPECT_EQ(t5.error().code, ErrorCode::kInvalidArgument);

  auto no_merges = load_bytes(GgufMetadataWriter()
                                  .string("tokenizer.ggml.model", "gpt2")
                                  .strings("tokenizer.ggml.tokens", tokens)
                                  .bytes());
  ASSERT_FALSE(no_merges.has_value());
  EXPECT_EQ(no_merges.error().code, ErrorCode::kCorruptData);

  auto short_scores = load_bytes(GgufMetadataWriter()
                                     .string("tokenizer.ggml.model", "llama")
                                     .strings("tokenizer.ggml.tokens", tokens)
                                     .floats("tokenizer.ggml.scores", {0, 0})
                                     .bytes());
  ASSERT_FALSE(short_scores.has_value());
  EXPECT_EQ(short_scores.error().code, ErrorCode::kCorruptData);
}

TEST(TokenizerLoader, DropsSpecialIdsOutsideTheVocabulary) {
  const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>",
                                           "\xE2\x96\x81"
                                           "a"};
  auto t = load_bytes(GgufMetadataWriter()
                          .string("tokenizer.ggml.model", "llama")
                          .strings("tokenizer.ggml.tokens", tokens)
                          .uint32("tokenizer.ggml.bos_token_id", 4000000)
                          .bytes());
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_FALSE((*t)->bos().has_value());
  EXPECT_EQ((*t)->eos(), 2);  // llama.cpp's SentencePiece default
  EXPECT_EQ(encode(**t, "a", true), (std::vector<TokenId>{3}));
  EXPECT_EQ((*t)->token_bytes(-1), "");
  EXPECT_EQ((*t)->token_bytes(4), "");
}

// ---- Conformance with llama.cpp ----

struct VocabCase {
  std::string input;
  std::vector<TokenId> expected;
};

std::vector<VocabCase> read_vocab_cases(const std::string& stem) {
  const std::string inputs = read_text_file(stem + ".inp");
  const std::string outputs = read_text_file(stem + ".out");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<VocabCase> cases;
  size_t start = 0;
  for (size_t hit; (hit = inputs.find(separator, start)) != std::string::npos;) {
    cases.push_back({inputs.substr(start, hit - start), {}});
    start = hit + separator.size();
  }
  std::istringstream lines(outputs);
  std::string line;
  for (VocabCase& c : cases) {
    if (!std::getline(lines, line)) break;
    std::istringstream ids(line);
    for (TokenId id; ids >> id;) c.expected.push_back(id);
  }
  return cases;
}

class VocabConformance : public testing::TestWithParam<std::string> {};

TEST_P(VocabConformance, EveryTestStringMatchesLlamaCpp) {
  const std::string stem = kDataDir + "/vocab/ggml-vocab-" + GetParam() + ".gguf";
  auto tokenizer = load_from(stem);
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<VocabCase> cases = read_vocab_cases(stem);
  ASSERT_EQ(cases.size(), 46u);
  for (const VocabCase& c : cases) {
    EXPECT_EQ(encode(*tokenizer, c.input), c.expected) << "input: '" << c.input << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(LlamaCppVocabs, VocabConformance,
                         testing::Values("llama-spm", "llama-bpe", "qwen2", "bert-bge"));

TEST(VocabConformance, DecodeInvertsEncodeForQwen2AndSentencePiece) {
  for (const char* name : {"qwen2", "llama-spm"}) {
    const std::string stem = kDataDir + "/vocab/ggml-vocab-" + std::string(name) + ".gguf";
    auto tokenizer = load_from(stem);
    ASSERT_NE(tokenizer, nullptr);
    for (const VocabCase& c : read_vocab_cases(stem)) {
      EXPECT_EQ(tokenizer->decode(encode(*tokenizer, c.input)), c.input) << name;
    }
  }
}

class ModelReference : public testing::TestWithParam<std::string> {};

TEST_P(ModelReference, TokensMatchTheReferenceWithAndWithoutSpecials) {
  auto tokenizer = load_from(kDataDir + "/models/" + GetParam() + ".gguf");
  ASSERT_NE(tokenizer, nullptr);
  const boost::json::value reference =
      boost::json::parse(read_text_file(kDataDir + "/reference/" + GetParam() + ".json"));
  const auto& cases = reference.at("cases").as_array();
  ASSERT_FALSE(cases.empty());
  auto ids_of = [](const boost::json::value& array) {
    std::vector<TokenId> ids;
    for (const auto& v : array.as_array()) ids.push_back(static_cast<TokenId>(v.as_int64()));
    return ids;
  };
  for (const auto& c : cases) {
    const std::string prompt(c.at("prompt").as_string());
    EXPECT_EQ(encode(*tokenizer, prompt, true), ids_of(c.at("tokens_with_special"))) << prompt;
    EXPECT_EQ(encode(*tokenizer, prompt, false), ids_of(c.at("tokens_no_special"))) << prompt;
  }
}

INSTANTIATE_TEST_SUITE_P(FixtureModels, ModelReference,
                         testing::Values("llama-spm-64-q8_0", "llama3-bpe-32-tied-q8_0",
                                         "qwen2-32-tied-q8_0", "qwen3-32-tied-q8_0",
                                         "bert-bge-64-cls-q8_0"));

TEST(ModelTokens, ArbitraryBytesEncodeToValidIdsInEveryTokenizer) {
  std::string noise;
  uint32_t state = 12345;
  for (int i = 0; i < 4000; ++i) {
    state = state * 1664525u + 1013904223u;  // deterministic LCG
    noise.push_back(static_cast<char>(state >> 24));
  }
  noise += "<|im_start|><s>[CLS]\xF0\x9F";  // special texts and a truncated sequence
  for (const char* name : {"llama-spm-64-q8_0", "llama3-bpe-32-tied-q8_0", "qwen2-32-tied-q8_0",
                           "bert-bge-64-cls-q8_0"}) {
    const Tokenizer* t = load_from(kDataDir + "/models/" + std::string(name) + ".gguf");
    ASSERT_NE(t, nullptr);
    for (bool parse_special : {false, true}) {
      const std::vector<TokenId> ids = encode(*t, noise, true, parse_special);
      EXPECT_FALSE(ids.empty()) << name;
      for (TokenId id : ids) ASSERT_TRUE(id >= 0 && id < t->vocab_size()) << name;
      EXPECT_FALSE(t->decode(ids, true).empty()) << name;
    }
  }
}

TEST(ModelTokens, ChatTokensAreSpecialAndEndGeneration) {
  auto qwen = load_from(kDataDir + "/models/qwen2-32-tied-q8_0.gguf");
  ASSERT_NE(qwen, nullptr);
  const std::vector<TokenId> ids = encode(*qwen, "<|im_start|>user\nHi<|im_end|>", false, true);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_TRUE(qwen->is_control(ids.front()));
  EXPECT_TRUE(qwen->is_end_of_generation(ids.back()));
  EXPECT_FALSE(qwen->is_end_of_generation(ids.front()));
  EXPECT_EQ(qwen->token_bytes(ids.back()), "");
  EXPECT_EQ(qwen->token_bytes(ids.back(), true), "<|im_end|>");
  EXPECT_EQ(qwen->decode(ids, true), "<|im_start|>user\nHi<|im_end|>");
  EXPECT_GT(encode(*qwen, "<|im_start|>", false, false).size(), 1u);

  auto llama3 = load_from(kDataDir + "/models/llama3-bpe-32-tied-q8_0.gguf");
  ASSERT_NE(llama3, nullptr);
  for (const char* text : {"<|eot_id|>", "<|end_of_text|>"}) {
    const std::vector<TokenId> special = encode(*llama3, text, false, true);
    ASSERT_EQ(special.size(), 1u) << text;
    EXPECT_TRUE(llama3->is_end_of_generation(special[0])) << text;
  }
  EXPECT_EQ(llama3->bos(), 128000);
}

TEST(ModelTokens, DecodeCleansSpacesBeforePunctuationWhereLlamaCppDoes) {
  const Tokenizer* bert = load_from(kDataDir + "/models/bert-bge-64-cls-q8_0.gguf");
  ASSERT_NE(bert, nullptr);
  // WordPiece pieces start with a space (" hello", " ,"); clean-up joins the punctuation back.
  EXPECT_EQ(bert->decode(encode(*bert, "Hello, world!")), " hello, world!");
  const Tokenizer* qwen = load_from(kDataDir + "/models/qwen2-32-tied-q8_0.gguf");
  ASSERT_NE(qwen, nullptr);
  EXPECT_EQ(qwen->decode(encode(*qwen, "a , b 's")), "a , b 's");  // Qwen 2 keeps text as is
}

TEST(TokenizerSpeed, EncodesHundredKilobytesQuickly) {
  auto qwen = load_from(kDataDir + "/models/qwen2-32-tied-q8_0.gguf");
  auto spm = load_from(kDataDir + "/models/llama-spm-64-q8_0.gguf");
  ASSERT_NE(qwen, nullptr);
  ASSERT_NE(spm, nullptr);
  std::string text;
  while (text.size() < 100 * 1024) {
    text += "The quick brown fox jumps over the lazy dog; naïve café 1234 — 日本語 🚀 ";
  }
  // One long word too: merge loops must not be quadratic in a word's length.
  const std::string long_word(20000, 'a');
  for (const Tokenizer* t : {qwen, spm}) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<TokenId> ids = encode(*t, text, true, true);
    const std::vector<TokenId> word_ids = encode(*t, long_word);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("encoded %zu bytes into %zu tokens (+%zu) in %.1f ms\n", text.size(), ids.size(),
                word_ids.size(), ms);
    EXPECT_GT(ids.size(), text.size() / 10);
    EXPECT_EQ(t->decode(ids).size() > text.size() / 2, true);
  }
}

}  // namespace
}  // namespace plinth::engine
