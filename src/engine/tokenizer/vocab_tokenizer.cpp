// VocabTokenizer: llama.cpp's tokenize / token_to_piece / detokenize semantics over a Vocab.
#include "tokenizer/vocab_tokenizer.h"

#include <algorithm>

#include "tokenizer/byte_level.h"

namespace plinth::engine {
namespace {

// Token texts that end a turn in the chat formats llama.cpp knows (it matches them by text too).
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>",      "<|im_end|>", "<|end|>",  "<end_of_turn>",
    "<|endoftext|>",   "<|eom_id|>", "<EOT>",    "_<EOT>",
    "<|end_of_text|>", "<|return|>", "<|call|>", "<end_of_utterance>"};
constexpr std::string_view kEndOfTurnTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>"};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0x0A>" -> 0x0A.
std::optional<uint8_t> parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return std::nullopt;
  const int hi = hex_digit(text[3]);
  const int lo = hex_digit(text[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<uint8_t>(hi * 16 + lo);
}

// llama.cpp's clean-up for vocabularies with clean_spaces: " ?" " !" " ." " ," " 's" " 'm" " 're"
// " 've" lose their space.
std::string clean_up_spaces(const std::string& text) {
  std::string a;
  a.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char x = text[i];
    if (i > 0 && text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
    a.push_back(x);
  }
  std::string b;
  b.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i];
    if (i > 0 && a[i - 1] == ' ' && x == '\'' && i + 1 < a.size()) {
      const char x1 = a[i + 1];
      const char x2 = i + 2 < a.size() ? a[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) {
        b.pop_back();
      }
    }
    b.push_back(x);
  }
  return b;
}

struct Fragment {
  TokenId token = -1;  // >= 0: a special token; otherwise raw text [begin, end)
  size_t begin = 0;
  size_t end = 0;
};

}  // namespace

VocabTokenizer::VocabTokenizer(Vocab vocab) : index_(std::move(vocab)) {}

Result<std::unique_ptr<VocabTokenizer>> VocabTokenizer::create(Vocab vocab) {
  const size_t n = vocab.tokens.size();
  if (n == 0) return fail(ErrorCode::kCorruptData, "tokenizer has no tokens");
  if (!vocab.scores.empty() && vocab.scores.size() != n) {
    return fail(ErrorCode::kCorruptData, "tokenizer scores and tokens differ in length");
  }
  if (!vocab.types.empty() && vocab.types.size() != n) {
    return fail(ErrorCode::kCorruptData, "tokenizer token types and tokens differ in length");
  }
  for (std::optional<TokenId>* id :
       {&vocab.bos, &vocab.eos, &vocab.eot, &vocab.eom, &vocab.unk, &vocab.sep, &vocab.pad}) {
    // Out-of-range special ids are dropped rather than trusted (llama.cpp does the same).
    if (*id && (**id < 0 || static_cast<size_t>(**id) >= n)) id->reset();
  }
  if (vocab.add_bos && !vocab.bos) vocab.add_bos = false;
  if (vocab.add_eos && !vocab.eos) vocab.add_eos = false;
  if (vocab.add_sep && !vocab.sep) vocab.add_sep = false;

  std::unique_ptr<VocabTokenizer> t(new VocabTokenizer(std::move(vocab)));
  const Vocab& v = t->index_.vocab();
  // End of turn: from metadata, else the first token spelled like one.
  std::optional<TokenId> eot = v.eot;
  for (std::string_view text : kEndOfTurnTexts) {
    if (eot) break;
    if (TokenId id = t->index_.find(text); id >= 0) eot = id;
  }
  for (std::string_view text : kEndOfGenerationTexts) {
    if (TokenId id = t->index_.find(text); id >= 0) t->end_of_generation_.insert(id);
  }
  for (const std::optional<TokenId>& id : {v.eos, eot, v.eom}) {
    if (id) t->end_of_generation_.insert(*id);
  }

  t->control_.assign(n, false);
  t->piece_bytes_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<TokenId>(i);
    const TokenType type = t->index_.type(id);
    // llama.cpp marks end-of-generation tokens as control even when the file says otherwise.
    const bool control = type == TokenType::kControl || type == TokenType::kUnknown ||
                         t->end_of_generation_.contains(id);
    t->control_[i] = control;
    if (control || type == TokenType::kUserDefined) {
      t->special_tokens_.push_back(id);
    }
    if (control) continue;
    const std::string& text = v.tokens[i];
    std::string& piece = t->piece_bytes_[i];
    if (type == TokenType::kUserDefined) {
      piece = text;
    } else if (type == TokenType::kNormal) {
      if (v.kind == VocabKind::kBytePairBpe) {
        piece = byte_level_decode(text);
      } else {
        piece = text;
        replace_all(piece, "\xE2\x96\x81", " ");
      }
    } else if (type == TokenType::kByte && v.kind != VocabKind::kBytePairBpe) {
      if (auto byte = parse_byte_token(text)) piece.assign(1, static_cast<char>(*byte));
    }
  }
  std::stable_sort(t->special_tokens_.begin(), t->special_tokens_.end(),
                   [&](TokenId a, TokenId b) { return v.tokens[a].size() > v.tokens[b].size(); });
  return t;
}

const std::string& VocabTokenizer::token_text(TokenId id) const {
  static const std::string kEmpty;
  return (id >= 0 && id < index_.size()) ? index_.vocab().tokens[id] : kEmpty;
}

std::optional<TokenId> VocabTokenizer::find_token(std::string_view text) const {
  const TokenId id = index_.find(text);
  return id >= 0 ? std::optional<TokenId>(id) : std::nullopt;
}

bool VocabTokenizer::is_control(TokenId id) const {
  return id >= 0 && id < index_.size() && control_[id];
}

bool VocabTokenizer::is_end_of_generation(TokenId id) const {
  return end_of_generation_.contains(id);
}

std::string VocabTokenizer::token_bytes(TokenId id, bool render_special) const {
  if (id < 0 || id >= index_.size()) return {};
  if (control_[id]) return render_special ? index_.vocab().tokens[id] : std::string();
  return piece_bytes_[id];
}

std::string VocabTokenizer::decode(std::span<const TokenId> ids, bool render_special) const {
  std::string text;
  // As llama_detokenize(remove_special=false): a space prefix is undone on the first token only.
  bool strip_leading_space = index_.vocab().add_space_prefix;
  for (TokenId id : ids) {
    std::string piece = token_bytes(id, render_special);
    if (strip_leading_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    strip_leading_space = false;
    text += piece;
  }
  return index_.vocab().clean_spaces ? clean_up_spaces(text) : text;
}

void VocabTokenizer::encode_fragment(std::string_view text, bool after_special,
                                     std::vector<TokenId>& out) const {
  const Vocab& v = index_.vocab();
  switch (v.kind) {
    case VocabKind::kSentencePiece: {
      std::string escaped;
      escaped.reserve(text.size() + 3);
      if (v.add_space_prefix && after_special) escaped = " ";
      escaped.append(text);
      replace_all(escaped, " ", "\xE2\x96\x81");
      encode_sentencepiece(index_, escaped, out);
      break;
    }
    case VocabKind::kBytePairBpe:
      encode_byte_level_bpe(index_, text, out);
      break;
    case VocabKind::kWordPiece:
      encode_wordpiece(index_, text, out);
      break;
  }
}

Result<std::vector<TokenId>> VocabTokenizer::encode(std::string_view text, bool add_special,
                                                    bool parse_special) const {
  const Vocab& v = index_.vocab();
  // Split the text around special tokens, longest first; control tokens only when asked to,
  // user-defined tokens always (as Hugging Face and llama.cpp do).
  // Empty text has no fragment at all, so SentencePiece adds no space prefix to it.
  std::vector<Fragment> fragments;
  if (!text.empty()) fragments.push_back({-1, 0, text.size()});
  for (TokenId special : special_tokens_) {
    if (!parse_special && control_[special]) continue;
    const std::string& needle = v.tokens[special];
    if (needle.empty()) continue;
    std::vector<Fragment> next;
    next.reserve(fragments.size());
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t start = f.begin;
      while (start < f.end) {
        const size_t hit = text.substr(0, f.end).find(needle, start);
        if (hit == std::string_view::npos) break;
        if (hit > start) next.push_back({-1, start, hit});
        next.push_back({special, hit, hit + needle.size()});
        start = hit + needle.size();
      }
      if (start < f.end) next.push_back({-1, start, f.end});
    }
    fragments = std::move(next);
  }

  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && v.add_bos) out.push_back(*v.bos);
  bool after_special = true;  // SentencePiece: the text start counts as following a special token
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    encode_fragment(text.substr(f.begin, f.end - f.begin), after_special, out);
    after_special = false;
  }
  if (add_special && v.add_eos) out.push_back(*v.eos);
  if (add_special && v.add_sep) out.push_back(*v.sep);
  return out;
}

}  // namespace plinth::engine
