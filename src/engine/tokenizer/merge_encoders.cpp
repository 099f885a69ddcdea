// The two merge-based encoders: SentencePiece (merge the best-scoring adjacent pair first, then
// byte fallback) and byte-level BPE (merge the lowest-ranked pair first within each word).
// Both keep symbols in a linked list and candidate pairs in a priority queue: O(n log n).
#include <queue>
#include <string>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_index.h"

namespace plinth::engine {
namespace {

struct Symbol {
  int32_t prev;
  int32_t next;
  size_t begin;  // byte offset into the text being merged
  size_t size;   // 0 once merged into its left neighbour
  TokenId id;    // token of text[begin, begin+size), -1 if none
};

// Splits text into one symbol per UTF-8 character.
std::vector<Symbol> split_characters(std::string_view text, const VocabIndex& index) {
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  size_t offset = 0;
  while (offset < text.size()) {
    const size_t len =
        std::min(utf8_sequence_length(static_cast<uint8_t>(text[offset])), text.size() - offset);
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back({n - 1, offset + len == text.size() ? -1 : n + 1, offset, len,
                       index.find(text.substr(offset, len))});
    offset += len;
  }
  return symbols;
}

void unlink_right(std::vector<Symbol>& symbols, int32_t left) {
  Symbol& l = symbols[left];
  Symbol& r = symbols[l.next];
  l.size += r.size;
  r.size = 0;
  l.next = r.next;
  if (r.next >= 0) symbols[r.next].prev = left;
}

struct ScoredPair {
  float score;
  int32_t left;
  int32_t right;
  size_t size;  // bytes of the merged text; stale when the symbols no longer add up to it
  bool operator<(const ScoredPair& o) const {
    return score < o.score || (score == o.score && left > o.left);
  }
};

struct RankedPair {
  int32_t rank;
  int32_t left;
  int32_t right;
  TokenId left_id;
  TokenId right_id;
  bool operator<(const RankedPair& o) const {
    return rank > o.rank || (rank == o.rank && left > o.left);
  }
};

}  // namespace

void encode_sentencepiece(const VocabIndex& index, std::string_view text,
                          std::vector<TokenId>& out) {
  std::vector<Symbol> symbols = split_characters(text, index);
  std::priority_queue<ScoredPair> queue;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const size_t size = symbols[left].size + symbols[right].size;
    const TokenId id = index.find(text.substr(symbols[left].begin, size));
    if (id < 0) return;
    queue.push({index.score(id), left, right, size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_pair(i - 1, i);

  while (!queue.empty()) {
    const ScoredPair pair = queue.top();
    queue.pop();
    Symbol& left = symbols[pair.left];
    Symbol& right = symbols[pair.right];
    if (left.size == 0 || right.size == 0 || left.size + right.size != pair.size) continue;
    unlink_right(symbols, pair.left);
    try_pair(left.prev, pair.left);
    try_pair(pair.left, left.next);
  }

  for (int32_t i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const TokenId id = index.find(text.substr(s.begin, s.size));
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Byte fallback: each byte as its <0xNN> token (unknown when the vocabulary lacks it).
    for (size_t k = 0; k < s.size; ++k) {
      const TokenId byte_id = index.byte_token(static_cast<uint8_t>(text[s.begin + k]));
      if (byte_id >= 0) {
        out.push_back(byte_id);
      } else if (index.vocab().unk) {
        out.push_back(*index.vocab().unk);
      }
    }
  }
}

namespace {

// Merges one byte-level-encoded word.
void encode_bpe_word(const VocabIndex& index, std::string_view word, std::vector<TokenId>& out) {
  if (index.vocab().ignore_merges) {
    const TokenId whole = index.find(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  std::vector<Symbol> symbols = split_characters(word, index);
  std::priority_queue<RankedPair> queue;
  auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const VocabIndex::Merge* merge = index.find_merge(symbols[left].id, symbols[right].id);
    if (merge == nullptr) return;
    queue.push({merge->rank, left, right, symbols[left].id, symbols[right].id});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_pair(i - 1, i);

  while (!queue.empty()) {
    const RankedPair pair = queue.top();
    queue.pop();
    Symbol& left = symbols[pair.left];
    Symbol& right = symbols[pair.right];
    if (left.size == 0 || right.size == 0 || left.id != pair.left_id || right.id != pair.right_id ||
        left.next != pair.right) {
      continue;  // outdated: one side has merged since
    }
    left.id = index.find_merge(pair.left_id, pair.right_id)->result;
    unlink_right(symbols, pair.left);
    try_pair(left.prev, pair.left);
    try_pair(pair.left, left.next);
  }

  for (int32_t i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    // As llama.cpp: fall back to single-byte tokens of the encoded text, dropping the rest.
    for (size_t k = 0; k < s.size; ++k) {
      const TokenId id = index.find(word.substr(s.begin + k, 1));
      if (id >= 0) out.push_back(id);
    }
  }
}

}  // namespace

void encode_byte_level_bpe(const VocabIndex& index, std::string_view text,
                           std::vector<TokenId>& out) {
  const std::vector<uint32_t> codepoints = utf8_to_codepoints(text);
  std::string utf8;
  std::string word;
  for (const CodepointSpan& span : pre_tokenize(codepoints, index.vocab().pre_tokenizer)) {
    utf8.clear();
    word.clear();
    for (size_t i = span.begin; i < span.end; ++i) append_utf8(codepoints[i], utf8);
    byte_level_encode(utf8, word);
    encode_bpe_word(index, word, out);
  }
}

}  // namespace plinth::engine
