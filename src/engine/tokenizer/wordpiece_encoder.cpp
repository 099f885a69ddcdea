// WordPiece (BERT) as llama.cpp runs it: basic tokenization (accent stripping through the first
// code point of NFD, lowercasing, punctuation and CJK characters as their own words), then
// greedy longest-match-first over "\u2581word" (GGUF BERT vocabularies mark word starts with
// U+2581 instead of marking continuations with "##").
#include <string>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab_index.h"

namespace plinth::engine {
namespace {

bool is_chinese_char(uint32_t c) {
  // The CJK blocks BERT's BasicTokenizer isolates (0x2B920 follows Hugging Face's Rust code).
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::vector<std::string> basic_tokenize(std::string_view text) {
  std::vector<std::string> words(1);
  for (uint32_t raw : utf8_to_codepoints(text)) {
    const uint32_t c = codepoint_nfd_first(raw);
    const CodepointFlags flags = codepoint_flags(c);
    if (flags.is_whitespace()) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (c == 0 || c == 0xFFFD || flags.is_control()) continue;
    std::string lowered;
    append_utf8(codepoint_to_lower(c), lowered);
    if (flags.is_punctuation() || (c < 0x7F && flags.is_symbol()) || is_chinese_char(c)) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = std::move(lowered);
      words.emplace_back();
    } else {
      words.back() += lowered;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

void encode_wordpiece(const VocabIndex& index, std::string_view text, std::vector<TokenId>& out) {
  const TokenId unk = index.vocab().unk.value_or(-1);
  for (const std::string& word : basic_tokenize(text)) {
    const std::string marked = "\xE2\x96\x81" + word;
    const std::string_view view(marked);
    const size_t start_size = out.size();
    const size_t n = view.size();
    for (size_t i = 0; i < n; ++i) {
      bool matched = false;
      for (size_t j = std::min(n, i + index.max_token_bytes() + 1); j > i; --j) {
        const TokenId id = index.find(view.substr(i, j - i));
        if (id >= 0) {
          out.push_back(id);
          matched = true;
          i = j - 1;
          break;
        }
      }
      if (!matched) {  // one unmatched piece makes the whole word unknown
        out.resize(start_size);
        break;
      }
    }
    if (out.size() == start_size && unk >= 0) out.push_back(unk);
  }
}

}  // namespace plinth::engine
