// Hand-written equivalents of the BPE pre-tokenizer regexes (no std::regex: it is slow and has no
// \p{L}); the branch order mirrors the regex alternation, including its backtracking results.
#include "tokenizer/pre_tokenizer.h"

#include "tokenizer/unicode.h"

namespace plinth::engine {
namespace {

constexpr uint32_t kOutOfRange = 0xFFFFFFFF;

// Scans one span of code points; positions outside it read as "no character" (flags 0).
class SpanScanner {
 public:
  SpanScanner(std::span<const uint32_t> cpts, size_t begin, size_t end,
              std::vector<CodepointSpan>& out)
      : cpts_(cpts), begin_(begin), end_(end), prev_end_(begin), out_(out) {}

  uint32_t cpt(size_t pos) const {
    return (pos >= begin_ && pos < end_) ? cpts_[pos] : kOutOfRange;
  }
  CodepointFlags flags(size_t pos) const {
    return (pos >= begin_ && pos < end_) ? codepoint_flags(cpts_[pos]) : CodepointFlags{};
  }
  // Emits [prev_end, end) as a word; returns its length.
  size_t emit(size_t end) {
    const size_t len = end - prev_end_;
    if (len > 0) out_.push_back({prev_end_, end});
    prev_end_ = end;
    return len;
  }
  size_t begin() const { return begin_; }
  size_t end() const { return end_; }

 private:
  std::span<const uint32_t> cpts_;
  size_t begin_, end_, prev_end_;
  std::vector<CodepointSpan>& out_;
};

bool is_space_letter_or_number(CodepointFlags f) {
  return f.is_whitespace() || f.is_letter() || f.is_number();
}

// Matches 's 't 're 've 'm 'll 'd at pos; returns the match length or 0.
size_t contraction_length(const SpanScanner& s, size_t pos, bool case_insensitive) {
  if (s.cpt(pos) != '\'' || pos + 1 >= s.end()) return 0;
  auto fold = [&](uint32_t c) { return case_insensitive ? codepoint_to_lower(c) : c; };
  const uint32_t c1 = fold(s.cpt(pos + 1));
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (pos + 2 >= s.end()) return 0;
  const uint32_t c2 = fold(s.cpt(pos + 2));
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  return 0;
}

// \s+(?!\S) then \s+ : a whitespace run keeps its last space for the next word when a
// non-space follows. Returns false when pos is not whitespace.
bool split_whitespace_run(SpanScanner& s, size_t& pos) {
  size_t n = 0;
  while (s.flags(pos + n).is_whitespace()) ++n;
  if (n > 1 && s.cpt(pos + n) != kOutOfRange) {
    pos += n - 1;
    s.emit(pos);
    return true;
  }
  if (n > 0) {
    pos += n;
    s.emit(pos);
    return true;
  }
  return false;
}

void split_gpt2(SpanScanner& s) {
  for (size_t pos = s.begin(); pos < s.end();) {
    const uint32_t c = s.cpt(pos);
    if (size_t n = contraction_length(s, pos, false)) {
      pos += s.emit(pos + n);
      continue;
    }
    CodepointFlags f2 = (c == ' ') ? s.flags(pos + 1) : s.flags(pos);
    if (f2.is_letter() || f2.is_number()) {  // ' ?\p{L}+' or ' ?\p{N}+'
      const bool letters = f2.is_letter();
      pos += (c == ' ');
      while (letters ? s.flags(pos).is_letter() : s.flags(pos).is_number()) ++pos;
      s.emit(pos);
      continue;
    }
    if (!is_space_letter_or_number(f2) && f2.bits) {  // ' ?[^\s\p{L}\p{N}]+'
      pos += (c == ' ');
      while (true) {
        const CodepointFlags f = s.flags(pos);
        if (is_space_letter_or_number(f) || !f.bits) break;
        ++pos;
      }
      s.emit(pos);
      continue;
    }
    if (split_whitespace_run(s, pos)) continue;
    s.emit(++pos);
  }
}

void split_llama3(SpanScanner& s, size_t max_digits) {
  for (size_t pos = s.begin(); pos < s.end();) {
    const uint32_t c = s.cpt(pos);
    const CodepointFlags f = s.flags(pos);
    if (size_t n = contraction_length(s, pos, true)) {
      pos += s.emit(pos + n);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!(c == '\r' || c == '\n' || f.is_number())) {
      if (f.is_letter() || s.flags(pos + 1).is_letter()) {
        ++pos;
        while (s.flags(pos).is_letter()) ++pos;
        s.emit(pos);
        continue;
      }
    }
    // \p{N}{1,max_digits}
    if (f.is_number()) {
      size_t start = pos;
      while (s.flags(pos).is_number()) {
        if (++pos - start >= max_digits) {
          s.emit(pos);
          start = pos;
        }
      }
      s.emit(pos);
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    const CodepointFlags f2 = (c == ' ') ? s.flags(pos + 1) : f;
    if (!is_space_letter_or_number(f2) && f2.bits) {
      pos += (c == ' ');
      while (true) {
        const CodepointFlags g = s.flags(pos);
        if (is_space_letter_or_number(g) || !g.bits) break;
        ++pos;
      }
      while (s.cpt(pos) == '\r' || s.cpt(pos) == '\n') ++pos;
      s.emit(pos);
      continue;
    }
    // \s*[\r\n]+ : the whitespace run up to its last line break.
    size_t n = 0;
    size_t last_line_break_end = 0;
    while (s.flags(pos + n).is_whitespace()) {
      const uint32_t w = s.cpt(pos + n);
      if (w == '\r' || w == '\n') last_line_break_end = pos + n + 1;
      ++n;
    }
    if (last_line_break_end > 0) {
      pos = last_line_break_end;
      s.emit(pos);
      continue;
    }
    if (split_whitespace_run(s, pos)) continue;
    s.emit(++pos);
  }
}

// Splits each span into runs where `in_run` holds and the gaps between them.
template <typename Predicate>
std::vector<CodepointSpan> split_runs(std::span<const uint32_t> cpts,
                                      const std::vector<CodepointSpan>& spans, Predicate in_run) {
  std::vector<CodepointSpan> out;
  for (const CodepointSpan& span : spans) {
    size_t start = span.begin;
    for (size_t pos = span.begin; pos < span.end;) {
      if (!in_run(cpts[pos])) {
        ++pos;
        continue;
      }
      size_t run_end = pos;
      while (run_end < span.end && in_run(cpts[run_end])) ++run_end;
      if (pos > start) out.push_back({start, pos});
      out.push_back({pos, run_end});
      start = pos = run_end;
    }
    if (start < span.end) out.push_back({start, span.end});
  }
  return out;
}

// [0-9][0-9][0-9]: leftmost non-overlapping ASCII digit triples become words.
std::vector<CodepointSpan> split_digit_triples(std::span<const uint32_t> cpts,
                                               const std::vector<CodepointSpan>& spans) {
  auto digit = [&](size_t i) { return cpts[i] >= '0' && cpts[i] <= '9'; };
  std::vector<CodepointSpan> out;
  for (const CodepointSpan& span : spans) {
    size_t start = span.begin;
    for (size_t pos = span.begin; pos + 3 <= span.end;) {
      if (digit(pos) && digit(pos + 1) && digit(pos + 2)) {
        if (pos > start) out.push_back({start, pos});
        out.push_back({pos, pos + 3});
        start = pos = pos + 3;
      } else {
        ++pos;
      }
    }
    if (start < span.end) out.push_back({start, span.end});
  }
  return out;
}

}  // namespace

std::vector<CodepointSpan> pre_tokenize(std::span<const uint32_t> codepoints,
                                        PreTokenizerKind kind) {
  std::vector<CodepointSpan> out;
  if (codepoints.empty()) return out;
  if (kind == PreTokenizerKind::kLlama3 || kind == PreTokenizerKind::kQwen2) {
    SpanScanner scanner(codepoints, 0, codepoints.size(), out);
    split_llama3(scanner, kind == PreTokenizerKind::kLlama3 ? 3 : 1);
    return out;
  }
  if (kind == PreTokenizerKind::kGpt2) {
    SpanScanner scanner(codepoints, 0, codepoints.size(), out);
    split_gpt2(scanner);
    return out;
  }
  // kDefault: four regexes applied one after another, each refining the previous words.
  std::vector<CodepointSpan> spans = {{0, codepoints.size()}};
  spans = split_runs(codepoints, spans, [](uint32_t c) {
    return codepoint_flags(c).is_punctuation() || c == '$' || c == '+' || c == '<' || c == '=' ||
           c == '>' || c == '^' || c == '~' || c == '|';
  });
  for (const CodepointSpan& span : spans) {
    SpanScanner scanner(codepoints, span.begin, span.end, out);
    split_gpt2(scanner);
  }
  spans = split_runs(codepoints, out, [](uint32_t c) { return codepoint_flags(c).is_number(); });
  return split_digit_triples(codepoints, spans);
}

}  // namespace plinth::engine
